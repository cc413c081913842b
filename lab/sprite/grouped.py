"""Carry against "any change": the carry bias weighed against the total probability of change, then
the best source (held-out first frames holding jump, four rules).   python lab/sprite/grouped.py DATA OUT.png"""
import numpy as np, torch, sys
from PIL import Image
from genie_play.world.world_model import WorldModel
from genie_play.world import sampler as S
from genie_play.world.maskgit import maskgit_sample
from genie_play.data.shards import open_folder

def grouped_block_ids(self, token_logits, new, valid, carry, mask_id, generators):
    B, G = new.shape[:2]
    scale = torch.where(new, 1.0, S.GREEDY)[..., None]
    def next_logits(ids):
        logits = token_logits(ids.view(B, G, G)).masked_fill(~valid, -1e9)
        nc = logits.clone(); nc[..., carry] = -1e9
        # carry against "any change": carry wins iff p_carry e^bias > 1 - p_carry
        adj = nc.amax(-1) - nc.logsumexp(-1)
        lc = logits[..., carry] + self.carry_bias + torch.where(new, 0.0, adj)
        logits = torch.cat([logits[..., :carry], lc[..., None], logits[..., carry + 1:]], -1)
        if self.min_p > 0:
            unlikely = logits - logits.amax(dim=-1, keepdim=True) < torch.log(torch.tensor(self.min_p))
            logits = logits.masked_fill(unlikely, -1e9)
        return (logits * scale).flatten(1, 2)
    ids = torch.full((B, G * G), mask_id, device=new.device)
    return maskgit_sample(next_logits, ids, mask_id, self.maskgit_steps, self.temperature, generators).view(B, G, G)

ORIG = S.Sampler.block_ids
if __name__ == "__main__":
    sh = open_folder(sys.argv[1])[0]
    rows = []
    for name, bias in [("cur", 3.0), ("grp", 1.0), ("grp", 0.0), ("grp", -1.0)]:
        S.Sampler.block_ids = grouped_block_ids if name == "grp" else ORIG
        w = WorldModel.load("models", "cpu", carry_bias=bias)
        ch = []
        for c in range(6):
            w.reset(np.array(sh.frames[c, 0])); row = [w.frame]
            for i in range(8):
                row.append(w.step(7))
            rows.append(np.concatenate(row, 1))
            ch.append(np.mean([np.abs(row[i+1].astype(int)-row[i]).sum(-1).astype(bool).mean() for i in range(8)]))
        print(name, bias, np.round(ch, 3))
    Image.fromarray(np.concatenate(rows, 0)).resize((9*128, len(rows)*128), Image.NEAREST).save(sys.argv[2])
