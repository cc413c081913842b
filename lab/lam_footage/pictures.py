"""Lab: rows of play from held-out first frames of imported footage, one row per game:
the frame, then each listed code held 4 steps. usage: pictures.py WORLD SHARDS OUT.png CODE..."""
import glob
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from genie_play.eval.motion import hold
from genie_play.world.world_model import WorldModel

world, shards, out, codes = WorldModel.load(Path(sys.argv[1]), device="cpu"), sys.argv[2], sys.argv[3], [int(c) for c in sys.argv[4:]]
rows, seen = [], set()
for js in sorted(glob.glob(shards + "/shard-*.json")):
    meta, frames = json.load(open(js)), np.load(js[:-5] + ".npy", mmap_mode="r")
    for c, clip in enumerate(meta["clips"]):
        game = clip["source"].split("/")[-1].split("_16")[0].split("_32")[0]
        if game in seen:
            continue
        seen.add(game)
        first = np.array(frames[c][0])
        row = [first]
        for code in codes:
            row += [np.full((64, 3, 3), 255, np.uint8)] + hold(world, first, code, steps=4)[1:]
        rows.append(np.concatenate(row, 1))
im = np.concatenate(rows, 0)
Image.fromarray(im).resize((im.shape[1] * 2, im.shape[0] * 2), Image.NEAREST).save(out)
