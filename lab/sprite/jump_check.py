"""On the bundled prompts: is a character found, does the key labelled jump lift it (and bring it
back down), does it stay on its feet while right is held? Writes a picture of every prompt.

    python lab/sprite/jump_check.py RUN_DIR OUT.png
"""
import glob
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, "lab/sprite")
from found_layer import load_layer  # noqa: E402

from genie_play.world.world_model import WorldModel  # noqa: E402

JUMP, RIGHT, LEFT, IDLE = int(os.environ.get("JUMP", 7)), 4, 3, 5  # models/keymap.toml

torch.set_grad_enabled(False)
run = sys.argv[1]
w = WorldModel.load("models", "cpu")
lw = load_layer(run, w)
rows, lifted, landed, found = [], 0, 0, 0
prompts = sorted(glob.glob("assets/prompts/*.png"))
for path in prompts:
    name = path.split("/")[-1][:-4]
    frames = [lw.reset(path)]
    if lw.sprite is None:
        print(f"{name:16s} no character found")
        rows.append(np.concatenate(frames * 13, 1))
        continue
    found += 1
    y0 = lw.sprite.y
    ys = []
    for a in [JUMP] * 3 + [IDLE] * 5 + [RIGHT] * 4:
        frames.append(lw.step(a))
        ys.append(lw.sprite.y - y0)
    up = min(ys[:8]) <= -3
    down = up and ys[7] >= min(ys[:8]) + 3
    lifted += up
    landed += down
    print(f"{name:16s} found {int(lw.sprite.mask.sum()):3d} px at ({y0},{lw.sprite.x}); jump x3 then idle x5: dy {ys[:8]}, right x4: dy {ys[8:]}")
    rows.append(np.concatenate(frames, 1))
print(f"found on {found}/{len(prompts)}, jump lifts on {lifted}, comes back down on {landed}")
Image.fromarray(np.concatenate(rows, 0)).resize((13 * 96, len(rows) * 96), Image.NEAREST).save(sys.argv[2])
