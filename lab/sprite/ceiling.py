"""Where rollout PSNR over 8 steps (and the player box PSNR) is lost: the move head's accuracy and
oracle rollouts on the same 16 held-out clips and LAM codes as `genie-play eval`.

    python lab/sprite/ceiling.py DATA    (prints a table; CPU, about a minute)
"""
import sys

import numpy as np
import torch

sys.path.insert(0, "lab/sprite")
from clips import clips_of, scores  # noqa: E402

from genie_play.world import tokenizer as tk  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

torch.set_grad_enabled(False)
w = WorldModel.load("models", "cpu")
frames, views, codes = clips_of(sys.argv[1], w)
C, T = frames.shape[:2]
prev, nxt = frames[:, :-1].flatten(0, 1), frames[:, 1:].flatten(0, 1)
true_moves = tk.estimate_move(prev, nxt, w.vocab).view(C, T - 1, 1)
last = torch.cat([torch.full((C, 1, 1), w.dynamics.no_move), true_moves[:, :-1]], 1).flatten(0, 1)
pred = w.dynamics.move_logits(prev, codes.flatten(), last).argmax(-1)
print(f"move head, teacher forced: {(pred == true_moves.flatten(0, 1)).float().mean():.3f} of moves right")


def report(name, rolled):
    psnr, box = scores(frames, rolled, views)
    print(f"| {name} | {psnr:.2f} | {box:.1f} |")


def world_rollout(c):
    return torch.from_numpy(np.stack([w.reset(frames[c, 0].numpy())] + [w.step(a) for a in codes[c].tolist()]))


def oracle(c, strip: bool, sprites: bool):
    """True camera moves; the new strip from the real frame (strip) and the tokenizer's own code of
    the real next frame from the rolled one (sprites: a perfect dynamics model)."""
    out = [frames[c, 0]]
    for t in range(T - 1):
        a, b = out[-1][None], frames[c, t + 1][None]
        moves = true_moves[c, t][None]
        px = w.tokenizer.moves[moves]
        ids = tk.encode(a, b, px, w.vocab) if sprites else torch.full((1, 16, 16), w.vocab.carry)
        f = tk.decode(a, px, ids, w.vocab)[0]
        if strip:
            hole = tk.hole(px, w.config.image_size)[0]
            f[hole] = b[0][hole]
        out.append(f)
    return torch.stack(out)


print("| rollout | PSNR_8 (dB) | player box PSNR_8 (dB) |\n|---|---|---|")
report("the shipped world (LAM codes)", torch.stack([world_rollout(c) for c in range(C)]))
report("the prompt held", frames[:, :1].expand(-1, T, -1, -1, -1))
report("true camera, carry only, strip from the edge", torch.stack([oracle(c, False, False) for c in range(C)]))
report("true camera, carry only, real strip", torch.stack([oracle(c, True, False) for c in range(C)]))
report("true camera, tokenizer's code of the real frame (perfect dynamics)", torch.stack([oracle(c, False, True) for c in range(C)]))
report("... and the real strip", torch.stack([oracle(c, True, True) for c in range(C)]))
for bias in (2.0, 1.0, 0.0):  # the sampler's carry bias (shipped: 3)
    w.sampler.carry_bias = bias
    report(f"the shipped world, carry bias {bias:g}", torch.stack([world_rollout(c) for c in range(C)]))
