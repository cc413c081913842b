"""The note's pictures: where the codes disagree (the sprite detector), and the sprite-layer
prototype against the shipped world on held-out frames and bundled prompts.

    python lab/sprite/pictures.py DATA_LEVELS DATA_STYLES
"""
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, "lab/sprite")
from layer import LayerWorld  # noqa: E402

from genie_play.data.shards import open_folder  # noqa: E402
from genie_play.paths import prompts_dir  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

torch.set_grad_enabled(False)
w = WorldModel.load("models", "cpu")
lw = LayerWorld(w)
levels, styles = open_folder(sys.argv[1])[0], open_folder(sys.argv[2])[0]
bundled = sorted(prompts_dir().glob("*.png"))

# 1. the detector: mean total variation between each code's and the mean block distribution
tiles = []
for im in [np.array(levels.frames[c, 0]) for c in range(3)] + [np.array(styles.frames[c, 0]) for c in range(3)] + bundled[:6]:
    f = w.reset(im)
    _, p, new = lw._votes(f, list(range(w.num_actions)))
    split = (0.5 * (p - p.mean(0, keepdim=True)).abs().sum(-1).mean(0)).masked_fill(new.any(0), 0).numpy()
    heat = (np.kron(split / max(split.max(), 1e-6), np.ones((4, 4)))[..., None] * np.array([255, 0, 0])).astype(np.uint8)
    tiles.append(np.concatenate([f, np.maximum(f // 2, heat)], 1))
rows = [np.concatenate(tiles[i:i + 4], 1) for i in range(0, 12, 4)]
Image.fromarray(np.concatenate(rows, 0)).resize((128 * 4 * 2, 64 * 3 * 2), Image.NEAREST).save("docs/lab/character-detect.png")

# 2. jump x6, right x4, jump x4, left x3 from three held-out frames and two bundled prompts
seq = [7] * 6 + [4] * 4 + [7] * 4 + [3] * 3
prompts = [np.array(styles.frames[c, 0]) for c in range(3)] + [np.array(levels.frames[1, 0])] + [bundled[5]]
rows = []
for world in (w, lw):
    for im in prompts:
        world.reset(im)
        frames = [world.frame] + [world.step(a) for a in seq]
        rows.append(np.concatenate(frames[::2], 1))
    rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
Image.fromarray(np.concatenate(rows[:-1], 0)).resize((rows[0].shape[1] * 2, sum(r.shape[0] for r in rows[:-1]) * 2), Image.NEAREST).save("docs/lab/character-layer.png")
