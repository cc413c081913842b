"""Lab: where 200 random keys damage a footage world. Per code, the share of blocks a real held-out
transition changes (the tokenizer's coding of it) beside the share the world changes when that
code is pressed in long rollouts, the presses that leave the frame as it was, and the found share
(8x8 patches also seen in real frames) of every 25th frame.
usage: python lab/lam_footage/long_keys.py WORLD HELDOUT_SHARDS [ROLLOUTS]
"""
import sys

import numpy as np
import torch

from genie_play.eval.evaluate import BANK_FRAMES, held_out_clips
from genie_play.eval.lam_metrics import infer_codes
from genie_play.eval.survival import found
from genie_play.world.world_model import WorldModel


def changed_share(world, a: np.ndarray, b: np.ndarray) -> float:
    """Share of the blocks the tokenizer codes as not carried from a to b."""
    ids = world.tokenizer.encode(torch.from_numpy(a)[None], torch.from_numpy(b)[None])[1]
    return float((ids != world.vocab.carry).float().mean())


world = WorldModel.load(sys.argv[1], "cpu")
rollouts = int(sys.argv[3]) if len(sys.argv) > 3 else 3
frames = held_out_clips(sys.argv[2], world.config, 64, 0)[0]
with torch.inference_mode():
    codes = infer_codes(world.lam, frames, "cpu").numpy()
    real = {c: [] for c in range(world.num_actions)}
    for clip in range(len(frames)):
        for t in range(frames.shape[1] - 1):
            real[int(codes[clip, t])].append(changed_share(world, frames[clip, t].numpy(), frames[clip, t + 1].numpy()))
    bank = frames[:, ::5].flatten(0, 1)[:BANK_FRAMES].numpy()
    rng = torch.Generator().manual_seed(0)
    played = {c: [] for c in range(world.num_actions)}
    frozen = {c: [] for c in range(world.num_actions)}
    shares = []
    lost = {c: [] for c in range(world.num_actions)}  # found share after a press minus before it
    for r in range(rollouts):
        keys = torch.randint(world.num_actions, (200,), generator=rng).tolist()
        prompt = frames[r, 0].numpy()
        world.reset(prompt)
        seen = [prompt]
        pool = np.concatenate([bank, prompt[None]])
        share = 1.0
        for k in keys:
            before = world.frame
            after = world.step(k)
            played[k].append(changed_share(world, before, after))
            frozen[k].append(np.array_equal(before, after))
            seen.append(after)
            now = float(found(after[None], pool).mean())
            lost[k].append(share - now)
            share = now
        shares.append([float(found(s[None], pool).mean()) for s in seen[::25]])
print("code  real transitions  real changed  world presses  world changed  world frozen  found share lost a press")
for c in range(world.num_actions):
    print(f"{c:4d}  {len(real[c]):16d}  {np.mean(real[c]) if real[c] else float('nan'):12.3f}"
          f"  {len(played[c]):13d}  {np.mean(played[c]):13.3f}  {np.mean(frozen[c]):12.2f}  {np.mean(lost[c]):+.4f}")
print("found share every 25 steps (mean of rollouts):", np.round(np.mean(shares, 0), 2).tolist())
