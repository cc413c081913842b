"""Lab: the sampler's carry_bias against a footage world's long-play damage. For each bias: the
eval's 200-random-key measures (sharpness, found sharpness, found share, frozen share; 3 rollouts
from held-out first frames) and kept_8 with the view's move while the scroll key is held.
usage: python lab/lam_footage/carry_sweep.py WORLD BIAS...
"""
import sys
from pathlib import Path

import numpy as np
import torch

from genie_play.eval import metrics as M
from genie_play.eval.evaluate import BANK_FRAMES, long_rollout_means, held_out_clips, stability
from genie_play.eval.survival import scroll_key, survival
from genie_play.world.world_model import WorldModel

folder = Path(sys.argv[1])
for bias in map(float, sys.argv[2:]):
    world = WorldModel.load(folder, "cpu", carry_bias=bias)
    frames = held_out_clips(folder / "data" / "heldout", world.config, 16, 0)[0]
    bank = frames[:, ::5].flatten(0, 1)[:BANK_FRAMES].numpy()
    rng = torch.Generator().manual_seed(0)
    keys = [torch.randint(world.num_actions, (200,), generator=rng).tolist() for _ in range(3)]
    real = M.sharpness(frames.flatten(0, 1)).mean()
    runs = [stability(world, frames[i, 0], k, real, bank) for i, k in enumerate(keys)]
    long = long_rollout_means("rollout", runs)
    key, code = scroll_key(world, frames[0, 0].numpy())
    held = [survival(world, frames[i, 0].numpy(), code, steps=(8,), key=key) for i in range(0, 16, 2)]
    print(f"carry_bias {bias:4.1f}: sharpness {long['rollout_sharpness_ratio']:.2f}, found sharpness "
          f"{long['rollout_found_sharpness_ratio']:.2f}, found share {long['rollout_found_share']:.2f}, frozen "
          f"{long['rollout_frozen_fraction']:.2f}; kept_8 {np.mean([h['kept_8'] for h in held]):.2f} at "
          f"{np.mean([h['px_per_step'] for h in held]):.1f} px a step ({key})", flush=True)
