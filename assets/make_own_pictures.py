"""Plays the world on pictures it never saw (genie_play/eval/own_pictures.py) and draws
assets/model_card/own-pictures.png; prints the model card's table of what each key did.

    python assets/make_own_pictures.py [WEIGHTS_DIR]

One row per picture: the picture fitted to the model, right held (steps 2, 4, 6, 8), left held
(the same steps), then 200 random keys (frames 25, 50, 100, 200).
"""

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genie_play.eval import metrics as M
from genie_play.eval.evaluate import stability
from genie_play.eval.motion import hold, scroll
from genie_play.eval.own_pictures import PICTURES, own_picture
from genie_play.images import fit_frame
from genie_play.io import atomic_path
from genie_play.keymap import load_keymap
from genie_play.paths import models_dir
from genie_play.world.world_model import WorldModel

HERE = Path(__file__).resolve().parent
RANDOM_STEPS = 200


def main() -> None:
    weights = Path(sys.argv[1]) if len(sys.argv) > 1 else models_dir()
    world = WorldModel.load(weights, device="cpu")
    keymap = load_keymap(weights / "keymap.toml")
    jumps = {b.code for b in keymap.bindings if "jump" in b.label}
    keys = torch.randint(world.num_actions, (RANDOM_STEPS,), generator=torch.Generator().manual_seed(0)).tolist()
    rows = []
    print("| picture | right held 8 steps | left held 8 steps | jump held 3 steps, read as a jump | "
          "200 random keys: sharpness ratio (last 50 frames / the picture; counting only the picture's patches) |\n|---|---|---|---|---|")
    for name in PICTURES:
        picture = fit_frame(own_picture(name), world.config.image_size)
        right = hold(world, picture, keymap.resolve("right"))
        left = hold(world, picture, keymap.resolve("left"))
        jump = hold(world, picture, keymap.resolve("jump"), steps=3)
        reads = world.lam.infer_actions(torch.from_numpy(np.stack(jump))[None])[0].tolist()
        # eval's 200-step stability measure, against the picture's sharpness instead of real frames'
        start = torch.from_numpy(picture)
        run = stability(world, start, keys, M.sharpness(start[None]).mean(), np.empty((0, *picture.shape), np.uint8))
        print(f"| {name} | view {-scroll(right):+d} px | {-scroll(left):+d} px | "
              f"{sum(code in jumps for code in reads)} of 3 | {run.sharpness:.2f} ({run.found_sharpness:.2f} found) |")
        strip = [picture] + right[2::2] + left[2::2] + [run.frames[i].numpy() for i in (25, 50, 100, 200)]
        rows.append(np.concatenate([np.pad(f, ((1, 1), (1, 1), (0, 0)), constant_values=255) for f in strip], 1))
    sheet = np.concatenate(rows, 0)
    out = HERE / "model_card" / "own-pictures.png"
    with atomic_path(out) as tmp:
        Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST).save(tmp, format="PNG")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
