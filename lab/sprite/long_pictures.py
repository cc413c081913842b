"""200 random keys (the evaluation's first sequences) from the first held-out clips' first frames:
the shipped world's row, then the found layer's; frames 0, 1, 2, 4, 8, 16, 50, 100, 150, 200.

    FILL=shift START=rest MOVERS=RUN/mover-0.safetensors python lab/sprite/long_pictures.py RUN DATA OUT.png
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, "lab/sprite")
from clips import clips_of  # noqa: E402
from detector import load_detector  # noqa: E402
from found_layer import FoundLayer  # noqa: E402
from mover import load_mover  # noqa: E402

from genie_play.world.world_model import WorldModel  # noqa: E402

SHOWN = (0, 1, 2, 4, 8, 16, 50, 100, 150, 200)

torch.set_grad_enabled(False)
run, data, out = sys.argv[1:4]
w = WorldModel.load("models", "cpu")
lw = FoundLayer(w, load_detector(f"{run}/detector.safetensors"),
                load_mover(os.environ.get("MOVERS", f"{run}/mover.safetensors"), w.num_actions))
frames, _, _ = clips_of(data, w)
rng = torch.Generator().manual_seed(0)
for _ in range(len(frames)):  # as layer_keys.py: the keys the evaluation draws first
    torch.randint(w.num_actions, (4,), generator=rng)
sequences = [torch.randint(w.num_actions, (200,), generator=rng).tolist() for _ in range(3)]
rows = []
for i, keys in enumerate(sequences):
    for world in (w, lw):
        seq = [world.reset(frames[i, 0].numpy())] + [world.step(a) for a in keys]
        rows.append(np.concatenate([seq[k] for k in SHOWN], 1))
    rows.append(np.full((3, rows[-1].shape[1], 3), 255, np.uint8))
pic = np.concatenate(rows[:-1], 0)
Image.fromarray(pic).resize((pic.shape[1] * 2, pic.shape[0] * 2), Image.NEAREST).save(out)
