"""Per transition and block: the set of non-carry sources giving pixels within TOL of the best (packed bits)."""
import sys, time, torch, numpy as np
sys.path.insert(0, "/work/runs/lab"); sys.path.insert(0, "/work/main")
from safetensors.torch import load_file
from genie_play.presets import PRESETS
from genie_play.world import tokenizer as tk
from costs_lib import pixel_costs
torch.set_num_threads(2)
TOL = 1e-3
cfg = PRESETS["default"]; vocab = tk.vocabulary(cfg)
coded = load_file(sys.argv[1])
C, T1 = coded["codes"].shape
out = np.zeros((C, T1, 16, 16, (vocab.size + 7) // 8), np.uint8)
t0 = time.time()
for c in range(0, C, 2):
    prev, nxt = coded["frames"][c:c+2, :-1].flatten(0, 1), coded["frames"][c:c+2, 1:].flatten(0, 1)
    moves = vocab.move_table()[coded["moves"][c:c+2].flatten(0, 1).long()]
    costs = pixel_costs(prev, nxt, moves, vocab)
    noncarry = torch.arange(vocab.size) != vocab.carry
    best = costs.masked_fill(~noncarry, float("inf")).amin(-1)
    S = (costs <= best[..., None] + TOL) & noncarry
    out[c:c+2] = np.packbits(S.numpy(), axis=-1).reshape(-1, T1, 16, 16, out.shape[-1])
    if c % 100 == 0: print(c, time.time() - t0, flush=True)
np.save(sys.argv[2], out)
print("done", time.time() - t0)
