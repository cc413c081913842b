"""PSNR_8 and player box PSNR_8 of the sprite-layer prototype against the shipped world, on the
16 held-out clips and LAM codes `genie-play eval` uses; and how often a sprite is found.

    python lab/sprite/measure_layer.py DATA
"""
import sys

import numpy as np
import torch

sys.path.insert(0, "lab/sprite")
from layer import LayerWorld  # noqa: E402

from genie_play.eval import metrics as M  # noqa: E402
from genie_play.eval.evaluate import held_out_clips  # noqa: E402
from genie_play.eval.survival import player_box_psnr  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

torch.set_grad_enabled(False)
w = WorldModel.load("models", "cpu")
frames, _, windows, _ = held_out_clips(sys.argv[1], w.config, 256, 0)
step = max(1, len(frames) // 16)  # the 16 clips `genie-play eval` rolls out
frames, windows = frames[:16 * step:step], windows[:16 * step:step]
views = [win["view"] for win in windows]
codes = w.lam.infer_actions(frames)
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
    print(f"{name}: PSNR_8 {M.psnr(frames[:, 1:9], rolled[:, 1:9]).mean():.2f} dB, "
          f"player box {np.nanmean(player_box_psnr(frames, rolled, views)):.1f} dB, sprite found on {found}/{len(frames)}, on the player {hit}")
