"""The note's pictures for §5: the label-free targets and the detector on training frames, and the
found layer against the shipped world on the eval's clips (LAM codes, frames 0-8).

    python lab/sprite/found_pictures.py RUN_DIR TRAIN_DATA LEVELS STYLES
"""
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, "lab/sprite")
from apart import apart, camera_moves  # noqa: E402
from clips import clips_of  # noqa: E402
from detector import load_detector  # noqa: E402
from found_layer import FoundLayer  # noqa: E402
from mover import load_mover  # noqa: E402

from genie_play.data.shards import open_folder  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

torch.set_grad_enabled(False)
run, train, levels, styles = sys.argv[1:5]
w = WorldModel.load("models", "cpu")
det = load_detector(f"{run}/detector.safetensors")
lw = FoundLayer(w, det, load_mover(f"{run}/mover.safetensors", w.num_actions))

# 1. targets and detector: a training frame, the pixels that moved apart (red), the detector (red)
shard = open_folder(train)[0]
tiles = []
for c in range(8):
    f = torch.from_numpy(np.array(shard.frames[c]))
    target = apart(f, camera_moves(f, w.vocab))[4].numpy()
    frame = f[5].numpy()
    p = det(f[5:6]).sigmoid()[0].numpy()[..., None]
    marked = frame.copy()
    marked[target] = [255, 0, 0]
    tiles.append(np.concatenate([frame, marked, (frame * (1 - p) + np.array([255, 0, 0]) * p).astype(np.uint8)], 1))
rows = [np.concatenate(tiles[i:i + 2], 1) for i in range(0, 8, 2)]
Image.fromarray(np.concatenate(rows, 0)).resize((6 * 128, 4 * 128), Image.NEAREST).save("docs/lab/character-targets.png")

# 2. real clip / shipped world / found layer, three clips of each held-out set
rows = []
for data in (levels, styles):
    frames, views, codes = clips_of(data, w)
    for c in (0, 3, 6):
        shipped = [w.reset(frames[c, 0].numpy())] + [w.step(a) for a in codes[c, :8].tolist()]
        layered = [lw.reset(frames[c, 0].numpy())] + [lw.step(a) for a in codes[c, :8].tolist()]
        for seq in (list(frames[c, :9].numpy()), shipped, layered):
            rows.append(np.concatenate(seq, 1))
        rows.append(np.full((3, rows[-1].shape[1], 3), 255, np.uint8))
out = np.concatenate(rows[:-1], 0)
Image.fromarray(out).resize((out.shape[1] * 2, out.shape[0] * 2), Image.NEAREST).save("docs/lab/character-found.png")
