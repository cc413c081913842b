"""Real clip / shipped world / found layer, frames 0-8 under the LAM's codes, on clips of each
held-out set, each clip's player box PSNR (dB) printed beside it.

    START=rest MOVERS=RUN/mover-0.safetensors python lab/sprite/tracked_pictures.py RUN OUT.png DATA...
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, "lab/sprite")
from clips import clips_of  # noqa: E402
from found_layer import load_layer  # noqa: E402

from genie_play.eval.survival import player_box_psnr  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

CLIPS = [int(c) for c in os.environ.get("CLIPS", "0,3,6,9").split(",")]

torch.set_grad_enabled(False)
run, out = sys.argv[1:3]
w = WorldModel.load("models", "cpu")
lw = load_layer(run, w)
rows = []
for data in sys.argv[3:]:
    frames, views, codes = clips_of(data, w)
    for c in CLIPS:
        shipped = [w.reset(frames[c, 0].numpy())] + [w.step(a) for a in codes[c, :8].tolist()]
        layered = [lw.reset(frames[c, 0].numpy())] + [lw.step(a) for a in codes[c, :8].tolist()]
        real = frames[c:c + 1, :9]
        box = [float(np.nanmean(player_box_psnr(real, torch.from_numpy(np.stack(s))[None], views[c:c + 1])))
               for s in (shipped, layered)]
        print(f"{data} clip {c}: codes {codes[c, :8].tolist()}, box shipped {box[0]:.1f} dB, layer {box[1]:.1f} dB")
        for seq in (list(real[0].numpy()), shipped, layered):
            rows.append(np.concatenate(seq, 1))
        rows.append(np.full((3, rows[-1].shape[1], 3), 255, np.uint8))
pic = np.concatenate(rows[:-1], 0)
Image.fromarray(pic).resize((pic.shape[1] * 2, pic.shape[0] * 2), Image.NEAREST).save(out)
