"""PSNR_8 and player box PSNR_8 of the sprite-layer prototype against the shipped world, on the
16 held-out clips and LAM codes `genie-play eval` uses; and how often a sprite is found.

    python lab/sprite/measure_layer.py DATA
"""
import sys

import numpy as np
import torch

sys.path.insert(0, "lab/sprite")
from layer import LayerWorld  # noqa: E402

from clips import clips_of, said  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

torch.set_grad_enabled(False)
w = WorldModel.load("models", "cpu")
frames, views, codes = clips_of(sys.argv[1], w)
for name, world in (("shipped", w), ("sprite layer", LayerWorld(w))):
    rolled, found, hit = [], 0, 0
    for c in range(len(frames)):
        first = world.reset(frames[c, 0].numpy())
        if isinstance(world, LayerWorld) and world.sprite is not None:
            s, (px, py) = world.sprite, views[c][0][1:3]  # the player's feet on screen
            hit += s.x <= px < s.x + s.mask.shape[1] and s.y <= py - 3 < s.y + s.mask.shape[0]
        out = [first] + [world.step(a) for a in codes[c].tolist()]
        rolled.append(torch.from_numpy(np.stack(out)))
        if isinstance(world, LayerWorld) and world.sprite is not None:
            found += 1
    rolled = torch.stack(rolled)
    print(f"{name}: {said(frames, rolled, views)}, sprite found on {found}/{len(frames)}, on the player {hit}")
