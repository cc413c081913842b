"""A per-pixel detector of what moves on its own, trained label-free on apart.py's targets.

    python lab/sprite/detector.py TRAIN_DATA OUT_DIR [steps] [apart|followed]

Writes OUT_DIR/detector.safetensors and OUT_DIR/detector.png (bundled prompts and held-out frames,
the detector's probability in red)."""
from __future__ import annotations

import glob
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, "lab/sprite")
from apart import apart, camera_moves, followed  # noqa: E402

from genie_play.data.shards import open_folder  # noqa: E402
from genie_play.images import prompt_frame  # noqa: E402
from genie_play.world import tokenizer as tk  # noqa: E402


AUGMENT = os.environ.get("AUGMENT", "0") == "1"  # train on recoloured frames: styles it never saw


def recolour(frames: torch.Tensor) -> torch.Tensor:
    """(B, ..., 3) uint8 frames, each with its channels shuffled and, half of them, inverted: the
    held-out styles are palettes (dark neon, pale crayon) the training families do not have."""
    out = torch.empty_like(frames)
    for b in range(len(frames)):
        x = frames[b][..., torch.randperm(3)]
        out[b] = 255 - x if torch.rand(()) < 0.5 else x
    return out


class Detector(nn.Module):
    """RGB frame (B, H, W, 3) uint8 -> logit (B, H, W) that the pixel moves apart from the camera."""

    def __init__(self, width: int = 16):
        super().__init__()
        layers, c = [], 3
        for d in (1, 2, 4, 8, 2, 1):
            layers += [nn.Conv2d(c, width, 3, padding=d, dilation=d), nn.GELU()]
            c = width
        self.net = nn.Sequential(*layers, nn.Conv2d(width, 1, 1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(tk._unit(frames) - 0.5)[:, 0]


def examples(folder, vocab, target: str):
    """Frames and their targets: "apart" (all that moves on its own) or "followed" (the piece the
    camera follows, on frames where the view scrolls)."""
    from mover import pieces
    X, Y = [], []
    for shard in open_folder(folder):
        for c in range(len(shard.clips)):
            f = torch.from_numpy(np.array(shard.frames[c]))
            if target == "apart":
                X.append(f[1:-1])
                Y.append(apart(f, camera_moves(f, vocab)))
            else:
                y, used = followed(f, camera_moves(f, vocab), pieces)
                X.append(f[1:-1][used])
                Y.append(y[used])
    return torch.cat(X), torch.cat(Y)


def load_detector(path) -> Detector:
    d = Detector()
    d.load_state_dict(load_file(str(path)))
    return d.eval()


if __name__ == "__main__":
    torch.manual_seed(0)
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
    target = sys.argv[4] if len(sys.argv) > 4 else "apart"
    cache = out / f"{target}.safetensors"
    vocab = tk.Vocabulary(4, 8, 16, 4, 8, 1)
    t0 = time.time()
    if cache.exists():
        X, Y = (load_file(str(cache))[k] for k in ("frames", "targets"))
    else:
        X, Y = examples(sys.argv[1], vocab, target)
        save_file({"frames": X, "targets": Y}, str(cache.with_suffix(".tmp")))
        cache.with_suffix(".tmp").replace(cache)
    print(f"{len(X)} frames, {Y.float().mean():.3f} of pixels apart ({time.time() - t0:.0f} s)", flush=True)
    split = int(0.9 * len(X))
    det = Detector()
    opt = torch.optim.AdamW(det.parameters(), 2e-3)
    pos = (1 - Y.float().mean()) / Y.float().mean()
    t0 = time.time()
    for it in range(steps):
        i = torch.randint(split, (16,))
        x = X[i]
        if torch.rand(()) < 0.5:
            x, y = x.flip(2), Y[i].flip(2)
        else:
            y = Y[i]
        if AUGMENT:
            x = recolour(x)
        loss = F.binary_cross_entropy_with_logits(det(x), y.float(), pos_weight=pos.sqrt())
        opt.zero_grad(), loss.backward(), opt.step()
        if it % 250 == 0:
            print(f"step {it} loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    det.eval()
    with torch.no_grad():
        p = torch.cat([det(X[j:j + 64]).sigmoid() for j in range(split, len(X), 64)])
        y = Y[split:]
        hit = p > 0.5
        print(f"held-out frames: precision {(hit & y).sum() / hit.sum():.2f}, recall {(hit & y).sum() / y.sum():.2f}")
    save_file(det.state_dict(), str(out / "detector.safetensors"))
    with torch.no_grad():
        pics = [prompt_frame(p, 64) for p in sorted(glob.glob("assets/prompts/*.png"))]
        pics += list(X[split::max(1, (len(X) - split) // 11)][:11].numpy())
        f = torch.from_numpy(np.stack(pics))
        p = det(f).sigmoid().numpy()
    tiles = []
    for img, q in zip(pics, p):
        ov = img.astype(float)
        ov = (ov * (1 - q[..., None]) + np.array([255, 0, 0]) * q[..., None]).astype(np.uint8)
        tiles.append(np.concatenate([img, ov], 1))
    rows = [np.concatenate(tiles[r * 4:(r + 1) * 4], 1) for r in range(len(tiles) // 4)]
    from PIL import Image
    Image.fromarray(np.concatenate(rows, 0)).resize((8 * 96, len(rows) * 96), Image.NEAREST).save(out / "detector.png")
