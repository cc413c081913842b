"""Lab: jump held 4 steps from bundled prompts, as shipped (left) and with the check (right; IDLE=5
KEEP=last as in the note). usage: pictures.py WORLD OUT.png PROMPT..."""
import importlib
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from genie_play.eval.motion import hold
from genie_play.images import fit_frame, load_image
from genie_play.keymap import load_keymap
from genie_play.paths import prompts_dir
from genie_play.world.world_model import WorldModel

folder, out, names = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
jump = load_keymap(folder / "keymap.toml").resolve("jump")
pics = [fit_frame(load_image(prompts_dir() / f"{n}.png"), 64) for n in names]
world = WorldModel.load(folder, device="cpu")
shipped = [hold(world, p, jump, steps=4) for p in pics]
os.environ.update(IDLE="5", KEEP="last")
importlib.import_module("checked")  # patches sampling from here on
checked = [hold(world, p, jump, steps=4) for p in pics]
gap = np.full((64, 6, 3), 255, np.uint8)
im = np.concatenate([np.concatenate(a + [gap] + b[1:], 1) for a, b in zip(shipped, checked)], 0)
Image.fromarray(im).resize((im.shape[1] * 3, im.shape[0] * 3), Image.NEAREST).save(out)
