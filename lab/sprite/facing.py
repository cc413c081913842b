"""Does the character's facing matter? The player box PSNR (eval's, steps 1-8) of the world's
LAM-driven rollouts on held-out levels, with the sprite shown as the world moves it, and mirrored
where the true player faces the other way than at frame 0 (an oracle of a sprite that turns).

    python lab/sprite/facing.py HELDOUT_LEVELS [clips]
"""
import sys
from dataclasses import replace

import numpy as np
import torch

from genie_play.data.shards import open_folder
from genie_play.eval.survival import player_box_psnr
from genie_play.world.character import compose
from genie_play.world.world_model import WorldModel

torch.set_grad_enabled(False)
shard = open_folder(sys.argv[1])[0]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 16
frames = np.array(shard.frames[:n])
views = [c["view"] for c in shard.clips[:n]]
world = WorldModel.load("models", "cpu")
codes = world.lam.infer_actions(torch.from_numpy(frames))
mirror = lambda s: replace(s, pixels=s.pixels[:, ::-1], mask=s.mask[:, ::-1])
out = {k: np.zeros((n, 9, 64, 64, 3), np.uint8) for k in ("world", "oracle")}
for c in range(n):
    world.reset(frames[c, 0])
    for k in out:
        out[k][c, 0] = world.frame
    for t in range(1, 9):
        world.step(int(codes[c, t - 1]))
        s, bg = world.sprite, world._history[-1].background
        out["world"][c, t] = world.frame
        true_turned = views[c][t][4] != views[c][0][4]
        out["oracle"][c, t] = compose(bg, mirror(s)) if true_turned and s is not None else world.frame
for k, v in out.items():
    print(k, round(float(np.nanmean(player_box_psnr(frames[:, :9], v, views))), 2))
print("clips whose player turns within 8 steps:", sum(any(v[t][4] != v[0][4] for t in range(9)) for v in views),
      "facing at frame 0:", [v[0][4] for v in views])
