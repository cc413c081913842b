"""Lab: the picture of the note: each row a prompt played without (left) and with (right) the
world's memory and strip painter: right held (frames 0, 8, 16, 32), then from the prompt 200
random keys (frames 50, 100, 200).
usage: python lab/world_memory/pictures.py WEIGHTS OUT.png PROMPT.png...
"""
import sys

import numpy as np
import torch
from PIL import Image

from compare import without_memory
from genie_play.eval.motion import hold
from genie_play.eval.survival import right_code
from genie_play.images import fit_frame, load_image
from genie_play.world.world_model import WorldModel


def row(world, prompt, seed=0):
    code = right_code(world, prompt)
    held = hold(world, prompt, code, 32)
    keys = torch.randint(world.num_actions, (200,), generator=torch.Generator().manual_seed(seed)).tolist()
    world.reset(prompt)
    rolled = [world.step(k) for k in keys]
    return [held[i] for i in (0, 8, 16, 32)] + [rolled[i - 1] for i in (50, 100, 200)]


def main():
    weights, out, prompts = sys.argv[1], sys.argv[2], sys.argv[3:]
    before, after = WorldModel.load(weights, "cpu"), WorldModel.load(weights, "cpu")
    without_memory(before)
    gap = np.full((64, 4, 3), 255, np.uint8)
    rows = []
    for path in prompts:
        prompt = fit_frame(load_image(path), 64)
        rows.append(np.concatenate(row(before, prompt) + [gap, gap] + row(after, prompt), axis=1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    picture = np.concatenate(rows[:-1])
    Image.fromarray(picture).resize((picture.shape[1] * 2, picture.shape[0] * 2), Image.NEAREST).save(out)


if __name__ == "__main__":
    main()
