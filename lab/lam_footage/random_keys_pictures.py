"""Lab: one row per world (or per carry bias): a held-out first frame, then every 50th frame of 200
random keys (seed 0: every row presses the same keys).
usage: python lab/lam_footage/random_keys_pictures.py OUT.png WORLD[@CARRY_BIAS]:HELDOUT_SHARDS ...
"""
import sys

import numpy as np
import torch
from PIL import Image

from genie_play.eval.evaluate import held_out_clips
from genie_play.world.world_model import WorldModel

rows = []
for spec in sys.argv[2:]:
    weights, data = spec.split(":")
    weights, _, bias = weights.partition("@")
    world = WorldModel.load(weights, "cpu", carry_bias=float(bias) if bias else None)
    frames = held_out_clips(data, world.config, 16, 0)[0]
    rng = torch.Generator().manual_seed(0)
    world.reset(frames[0, 0].numpy())
    row = [world.frame]
    for i, key in enumerate(torch.randint(world.num_actions, (200,), generator=rng).tolist()):
        world.step(key)
        if (i + 1) % 50 == 0:
            row.append(world.frame)
    rows.append(np.concatenate([np.pad(f, ((2, 2), (2, 2), (0, 0)), constant_values=255) for f in row], 1))
picture = np.concatenate(rows, 0)
Image.fromarray(picture).resize((picture.shape[1] * 3, picture.shape[0] * 3), Image.NEAREST).save(sys.argv[1])
