import torch
from genie_play.world import sampler as smp
from genie_play.world.maskgit import maskgit_sample
def pooled_block_ids(self, token_logits, new, valid, carry, mask_id, generators):
    B, G = new.shape[:2]
    scale = torch.where(new, 1.0, smp.GREEDY)[..., None]
    strip = new.flatten(1)[..., None]  # (B, N, 1)
    def next_logits(ids):
        raw = token_logits(ids.view(B, G, G)).masked_fill(~valid, -1e9).flatten(1, 2)  # (B, N, V)
        # outside the strip: carry (+ bias) against the pooled change mass, given to the best other source
        logp = raw.log_softmax(-1)
        p_carry = logp[..., carry]
        change = torch.log1p(-p_carry.exp().clamp(max=1 - 1e-6))
        others = raw.clone(); others[..., carry] = -1e9
        best = others.argmax(-1, keepdim=True)
        pooled = torch.full_like(raw, -1e9)
        pooled.scatter_(-1, best, change[..., None])
        pooled[..., carry] = p_carry + self.carry_bias
        strip_logits = raw
        if self.min_p > 0:
            unlikely = raw - raw.amax(dim=-1, keepdim=True) < torch.log(torch.tensor(self.min_p))
            strip_logits = raw.masked_fill(unlikely, -1e9)
        logits = torch.where(strip, strip_logits, pooled)
        return logits * scale.flatten(1, 2)
    ids = torch.full((B, G * G), mask_id, device=new.device)
    return maskgit_sample(next_logits, ids, mask_id, self.maskgit_steps, self.temperature, generators).view(B, G, G)

