"""Lab: the picture of a footage world, as its notes show it. Rows 1-3: three held-out first frames,
then right held 6 and left held 6 (the keys its keymap.toml proposes; a world with neither shows
the first two arrows it binds, River Raid's up); row 4: 200 random keys from
the first, frames 0, 25, 50, 100, 150, 175, 190, 200; row 5: the same, keys drawn among the arrows
and the idle code only. usage: python lab/lam_footage/world_rows.py WORLD OUT.png
"""
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genie_play.eval.evaluate import _rollout, held_out_clips
from genie_play.keymap import load_keymap
from genie_play.world.world_model import WorldModel

world_dir, out = Path(sys.argv[1]), sys.argv[2]
world = WorldModel.load(world_dir, device="cpu")
keymap = load_keymap(world_dir / "keymap.toml", world.num_actions)
frames = held_out_clips(world_dir / "data" / "heldout", world.config, 3, 0)[0]  # (3, T, H, W, 3)
shown_keys = ([k for k in ("right", "left", "up", "down") if keymap.code_for_key(k) is not None] or ["right"])[:2]
right, left = keymap.code_for_key(shown_keys[0]), keymap.code_for_key(shown_keys[-1]) if len(shown_keys) > 1 else None
size = frames.shape[2]
gap = np.full((size, 3, 3), 255, np.uint8)
rows = []
for clip in frames:
    row = [clip[0].numpy()]
    for code in (right, left):
        if code is not None:
            row += [gap, *_rollout(world, clip[0], [code] * 6)[1:].numpy()]
    rows.append(row)
shown = [0, 25, 50, 100, 150, 175, 190, 200]
g = torch.Generator().manual_seed(0)
keys = torch.randint(world.num_actions, (200,), generator=g).tolist()
arrows = [keymap.code_for_key(k) for k in ("right", "left", "up", "down")]
idle = [b.code for b in keymap.bindings if b.label == "idle"]
allowed = [c for c in arrows + idle if c is not None]
played = [c for c in torch.randint(len(allowed), (200,), generator=g).tolist()]
for sequence in (keys, [allowed[i] for i in played]):
    long = _rollout(world, frames[0, 0], sequence).numpy()
    rows.append([long[i] for i in shown])
width = max(sum(f.shape[1] for f in row) for row in rows)
canvas = np.full((size * len(rows), width, 3), 255, np.uint8)
for r, row in enumerate(rows):
    strip = np.concatenate(row, 1)
    canvas[r * size:(r + 1) * size, :strip.shape[1]] = strip
Image.fromarray(canvas).resize((width * 2, canvas.shape[0] * 2), Image.NEAREST).save(out)
print(f"{' and '.join(shown_keys)} = codes {right}, {left}; arrows and idle: {allowed}; wrote {out}")
