"""Where the ground network lands a sprite, against where it really stands: on held-out clips,
every tracked frame where the piece stands (character_training.standing) is cut out, the piece
dropped from 8 px above its place, and `land` stops it; prints the distribution of the landed row
minus the real one (0: exact; < 0: it floats; 8 ... no ground found, it fell through).

    python lab/sprite/landing_offset.py HELDOUT_DATA CHARACTER_FILE
"""
import collections
import sys
from dataclasses import replace

import numpy as np
import torch

from genie_play.data.shards import first_clips
from genie_play.io import load_state, read_weights
from genie_play.train import character_training as ct
from genie_play.world.character import CharacterNetworks, Sprite, cut_out, grow, land

torch.set_grad_enabled(False)
data, path = sys.argv[1:3]
w = read_weights(path, "character")
import os
import dataclasses
nets, c = load_state(CharacterNetworks(w.config), w).eval(), w.config.character
c = dataclasses.replace(c, floor=float(os.environ.get("FLOOR", c.floor)), support=float(os.environ.get("SUPPORT", c.support)))
count = collections.Counter()
for clip in torch.from_numpy(first_clips(data, 200, 64)):
    frames = clip.numpy()
    steps = ct.track(frames, nets.detector(clip).sigmoid().numpy(), w.config)
    stand = ct.standing([m[0] for _, _, m in steps])
    for (t, mask, move), stands in zip(steps, stand):
        if not stands or move[2] > ct.TARGET_ERROR:
            continue
        mask = grow(frames[t], mask, c.grow, c.unlike)
        ys, xs = np.nonzero(mask)
        y0, x0 = ys.min(), xs.min()
        s = Sprite(frames[t][y0:ys.max() + 1, x0:xs.max() + 1], mask[y0:ys.max() + 1, x0:xs.max() + 1], int(y0), int(x0), nets.rest)
        back = cut_out(frames[t], s)
        floor = (nets.ground(torch.from_numpy(back)[None]).sigmoid() > c.floor)[0].numpy()
        landed = land(replace(s, y=s.y + 8), s.y - 8, floor, c.support)
        count[landed.y - s.y] += 1
total = sum(count.values())
print(total, "stands;", {k: round(v / total, 3) for k, v in sorted(count.items())})
