"""The same keys from the same starts, genie_play 0.4's character (no ground) above the one with
the ground network below: jump x3, right x12, idle x4, left x8, jump x3, right x10 (40 keys;
frames 0, 2, 4, 6, 10, 16, 20, 24, 28, 32, 36, 40), from three bundled prompts and three held-out
level first frames.

    python lab/sprite/ground_pictures.py HELDOUT_LEVELS CHARACTER_FILE OUT.png
"""
import sys

import numpy as np
import torch
from PIL import Image

from genie_play.data.shards import first_clips
from genie_play.io import load_state, read_weights
from genie_play.world.character import CharacterNetworks
from genie_play.world.world_model import WorldModel

IDLE, RIGHT, LEFT, JUMP = 5, 4, 3, 6
KEYS = [JUMP] * 3 + [RIGHT] * 12 + [IDLE] * 4 + [LEFT] * 8 + [JUMP] * 3 + [RIGHT] * 10
SHOWN = (0, 2, 4, 6, 10, 16, 20, 24, 28, 32, 36, 40)

torch.set_grad_enabled(False)
heldout, path, out = sys.argv[1:4]
old = WorldModel.load("models", "cpu")
new = WorldModel.load("models", "cpu")
w = read_weights(path, "character")
new.character = load_state(CharacterNetworks(w.config), w).eval()
starts = [f"assets/prompts/{n}.png" for n in ("default", "world-cave", "sketch-hills")]
starts += list(first_clips(heldout, 3, 64)[:, 0])
rows = []
for s in starts:
    for world in (old, new):
        seq = [world.reset(s)] + [world.step(a) for a in KEYS]
        rows.append(np.concatenate([seq[k] for k in SHOWN], 1))
    rows.append(np.full((3, rows[-1].shape[1], 3), 255, np.uint8))
pic = np.concatenate(rows[:-1], 0)
Image.fromarray(pic).resize((pic.shape[1] * 2, pic.shape[0] * 2), Image.NEAREST).save(out)
