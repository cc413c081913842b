"""Lab: rows of play from held-out first frames of imported footage, one row per game:
the frame, then each listed code held 4 steps. usage: pictures.py WORLD SHARDS OUT.png CODE..."""
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from code_pans import clips_by_game  # noqa: E402
from genie_play.eval.motion import hold  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

world, shards, out, codes = WorldModel.load(Path(sys.argv[1]), device="cpu"), sys.argv[2], sys.argv[3], [int(c) for c in sys.argv[4:]]
rows, seen = [], set()
for game, frames in clips_by_game(shards):
    if game in seen:
        continue
    seen.add(game)
    row = [frames[0]]
    for code in codes:
        row += [np.full((64, 3, 3), 255, np.uint8)] + hold(world, frames[0], code, steps=4)[1:]
    rows.append(np.concatenate(row, 1))
im = np.concatenate(rows, 0)
Image.fromarray(im).resize((im.shape[1] * 2, im.shape[0] * 2), Image.NEAREST).save(out)
