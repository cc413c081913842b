"""Lab probe: does the token head name the source of a changed block? Teacher-forced from real
held-out frames, every block masked (MaskGIT's first round), the true camera move.
usage: source_probe.py WORLD DATA [keyed]   -> AUC of p(change) and, for blocks outside the new
strip that truly change, the share whose most likely non-carry source gives the right pixels
(block MSE under the tokenizer's carry price) and the share given the coded id."""
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
if "keyed" in sys.argv[3:]:
    import keyed  # noqa: F401
from genie_play.data.shards import open_folder
from genie_play.world import tokenizer as tk
from genie_play.world.world_model import WorldModel

torch.set_num_threads(2)
world = WorldModel.load(Path(sys.argv[1]), device="cpu")
vocab, dyn = world.vocab, world.dynamics
frames = torch.from_numpy(np.concatenate([np.array(s.frames) for s in open_folder(Path(sys.argv[2]))])[:48])
p_change, changed, right, exact = [], [], [], []
with torch.no_grad():
    for clip in frames:
        prev, nxt = clip[:-1], clip[1:]
        moves = tk.estimate_move(prev, nxt, vocab)
        px = vocab.move_table()[moves]
        target = tk.encode(prev, nxt, px, vocab)  # (T, G, G)
        actions = world.lam.infer_actions(clip[None])[0]
        G = target.shape[-1]
        moved = tk.decode(prev, px, torch.full_like(target, vocab.carry), vocab)
        hole = tk.hole(px, 64)
        ctx = dyn.token_context(prev, moved, hole, actions, moves)
        logits = dyn.token_logits(ctx, torch.full_like(target, dyn.mask_id))
        logits = logits.masked_fill(~tk.valid_ids(px, vocab, 64), -1e9)
        p = logits.softmax(-1)
        others = logits.clone()
        others[..., vocab.carry] = -1e9
        best = others.argmax(-1)  # (T, G, G)
        # the block error of the best non-carry source against the real next frame
        rebuilt = tk.decode(prev, px, best, vocab)
        err = F.avg_pool2d(((rebuilt.float() - nxt.float()) / 255).pow(2).mean(-1)[:, None], 4)[:, 0]
        outside = ~(F.max_pool2d(hole[:, None].float(), 4)[:, 0].bool())
        p_change.append((1 - p[..., vocab.carry])[outside])
        changed.append((target != vocab.carry)[outside])
        right.append((err < tk.CARRY_PRICE)[outside])
        exact.append((best == target)[outside])
pc, ch, ri, ex = (torch.cat(x) for x in (p_change, changed, right, exact))
order = pc.argsort()
ranks = torch.empty_like(pc); ranks[order] = torch.arange(len(pc), dtype=pc.dtype)
n1, n0 = ch.sum().item(), (~ch).sum().item()
auc = (ranks[ch].sum().item() - n1 * (n1 - 1) / 2) / (n1 * n0)
print(json.dumps({"world": sys.argv[1], "changed_share": round(ch.float().mean().item(), 3), "auc": round(auc, 3),
                  "p_change_on_changed": round(pc[ch].mean().item(), 3), "p_change_on_carried": round(pc[~ch].mean().item(), 3),
                  "changed_right_pixels": round(ri[ch].float().mean().item(), 3), "changed_exact_id": round(ex[ch].float().mean().item(), 3)}))
