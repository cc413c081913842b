"""200 random keys (the evaluation's first sequences) from the first held-out clips' first frames:
the shipped world's row, then the found layer's; frames 0, 1, 2, 4, 8, 16, 50, 100, 150, 200.

    FILL=shift START=rest MOVERS=RUN/mover-0.safetensors python lab/sprite/long_pictures.py RUN DATA OUT.png
"""
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, "lab/sprite")
from clips import clips_of, eval_key_sequences  # noqa: E402
from found_layer import load_layer  # noqa: E402

from genie_play.world.world_model import WorldModel  # noqa: E402

SHOWN = (0, 1, 2, 4, 8, 16, 50, 100, 150, 200)

torch.set_grad_enabled(False)
run, data, out = sys.argv[1:4]
w = WorldModel.load("models", "cpu")
lw = load_layer(run, w)
frames, _, _ = clips_of(data, w)
sequences = eval_key_sequences(len(frames), w.num_actions, 3)
rows = []
for i, keys in enumerate(sequences):
    for world in (w, lw):
        seq = [world.reset(frames[i, 0].numpy())] + [world.step(a) for a in keys]
        rows.append(np.concatenate([seq[k] for k in SHOWN], 1))
    rows.append(np.full((3, rows[-1].shape[1], 3), 255, np.uint8))
pic = np.concatenate(rows[:-1], 0)
Image.fromarray(pic).resize((pic.shape[1] * 2, pic.shape[0] * 2), Image.NEAREST).save(out)
