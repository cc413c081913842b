"""Lab: a world trained from footage, played from held-out first frames, as in docs/lab/own-footage.md:
rows 1-3 a first frame, then the key labelled right held 6 steps, then left held 6; row 4 200
random keys from the first (frames 0, 25, 50, 100, 150, 175, 190, 200); row 5 the same draws among
the arrow keys' codes and idle only. Also saves the first frame as a prompt PNG for headless play.
usage: python lab/world_memory/footage_pictures.py WORLD HELDOUT_SHARDS OUT.png PROMPT.png
"""
import sys

import numpy as np
import torch
from PIL import Image

from genie_play.eval.evaluate import held_out_clips
from genie_play.eval.motion import hold
from genie_play.eval.survival import right_code, world_keymap
from genie_play.world.world_model import WorldModel

world = WorldModel.load(sys.argv[1], "cpu")
frames = held_out_clips(sys.argv[2], world.config, 8, 0)[0].numpy()
keymap = world_keymap(world)
right, left = right_code(world, frames[0, 0]), keymap.resolve("left")
gap = np.full((64, 6, 3), 255, np.uint8)
rows = []
for clip in (0, 3, 6):
    first = frames[clip, 0]
    rows.append(np.concatenate([first, gap] + hold(world, first, right, 6)[1:] + [gap] + hold(world, first, left, 6)[1:], 1))
keys = torch.randint(world.num_actions, (200,), generator=torch.Generator().manual_seed(0)).tolist()
arrows = sorted({keymap.code_for_key(k) for k in ("right", "left", "up", "down")} - {None}
                | {b.code for b in keymap.bindings if b.label == "idle"})
for sequence in (keys, [arrows[k % len(arrows)] for k in keys]):
    world.reset(frames[0, 0])
    played = [frames[0, 0]] + [world.step(k) for k in sequence]
    last = np.concatenate([played[i] for i in (0, 25, 50, 100, 150, 175, 190, 200)], 1)
    rows.append(np.pad(last, ((0, 0), (0, rows[0].shape[1] - last.shape[1]), (0, 0))))
sheet = np.concatenate([np.pad(r, ((2, 2), (0, 0), (0, 0)), constant_values=255) for r in rows])
Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST).save(sys.argv[3])
Image.fromarray(frames[0, 0]).save(sys.argv[4])
