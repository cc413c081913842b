"""Lab: 200 random keys on a world, as `genie-play eval` plays them (3 rollouts from held-out first
frames, the same keys and the same measures), under sampler settings given on the command line.
usage: python lab/lam_footage/long_rollouts.py WORLD HELDOUT_SHARDS KNOB=V,V... [CODES]
e.g. carry_bias=3,5,8; CODES (e.g. 0,1,5) draws the random keys among those codes only.
"""
import json
import sys

import numpy as np
import torch

from genie_play.eval import metrics as M
from genie_play.eval.evaluate import BANK_FRAMES, ROLLOUTS, held_out_clips, stability
from genie_play.world.world_model import WorldModel

weights, data, knob = sys.argv[1], sys.argv[2], sys.argv[3]
name, values = knob.split("=")
still = frozenset(json.load(open(f"{weights}/eval/metrics.json"))["rollout_still_codes"])  # as its eval chose them
for value in values.split(","):
    world = WorldModel.load(weights, "cpu", **{name: float(value)})
    frames = held_out_clips(data, world.config, 64, 0)[0]
    rng = torch.Generator().manual_seed(0)  # as eval: its first draws are the ΔtPSNR keys, so these differ
    sequences = [torch.randint(world.num_actions, (200,), generator=rng).tolist() for _ in range(ROLLOUTS)]
    if len(sys.argv) > 4:  # the same draws, mapped onto the chosen codes
        codes = [int(c) for c in sys.argv[4].split(",")]
        sequences = [[codes[k % len(codes)] for k in keys] for keys in sequences]
    real = M.sharpness(frames.flatten(0, 1)).mean()
    bank = frames[:, ::5].flatten(0, 1)[:BANK_FRAMES].numpy()
    runs = [stability(world, frames[i % len(frames), 0], keys, real, bank, still) for i, keys in enumerate(sequences)]
    print(f"{name}={value}: found sharpness {np.mean([r.found_sharpness for r in runs]):.3f}, found share "
          f"{np.mean([r.found_share for r in runs]):.3f}, frozen {np.mean([r.frozen for r in runs]):.3f} "
          f"(still codes {sorted(still)})", flush=True)
