"""A head that moves a piece of the picture the way things in the video move, trained label-free.

Each piece of a training frame that moves apart (apart.py: a connected group of its pixels) gives
one example: a 32 x 32 crop around it with its mask, the LAM's code of the transition, its last
HISTORY screen moves (read by matching it back into the frames before) and, as the target, its
move into the next frame (piece_move). No true position or action is read.

    EVENT_WEIGHT=10 python lab/sprite/mover.py TRAIN_DATA OUT_DIR [steps] [DETECTOR | followed]
"""
from __future__ import annotations

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
from apart import REACH, apart, camera_moves, followed, piece_move  # noqa: E402
from layer import _components  # noqa: E402

from genie_play.data.shards import open_folder  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

CROP = 32
BELOW = int(os.environ.get("BELOW", 0))  # extra rows of crop under the piece: the ground it may land on
MIN_PIXELS = 6  # smaller pieces are noise (a dot of texture, a raindrop)
MAX_ERROR = 0.08  # a piece whose best move still leaves this mean error is not one rigid thing
EVENT_WEIGHT = float(os.environ.get("EVENT_WEIGHT", 1))  # weight of the pieces whose vertical move changes
# (take-off, landing, the arc's top): 5% of pieces, and what a jump is made of
HISTORY_ERROR = 0.25  # looser for its past: a walking sprite changes pose, yet in play its history is always known
CLASSES = 2 * REACH + 1
UNKNOWN = CLASSES  # the move before the clip began
HISTORY = 4  # last moves the mover reads: a jump's arc is its velocity changing a pixel a step


def crop(frame: np.ndarray, mask: np.ndarray, cy: int, cx: int) -> torch.Tensor:
    """(H, W, 3) uint8 and (H, W) bool -> (4, CROP + BELOW, CROP) float around (cy, cx): RGB and the mask."""
    img = np.concatenate([frame.astype(np.float32) / 255, mask[..., None].astype(np.float32)], -1)
    pad = np.pad(img, ((CROP, CROP + BELOW), (CROP, CROP), (0, 0)))
    y0, x0 = cy + CROP - CROP // 2, cx + CROP - CROP // 2
    return torch.from_numpy(pad[y0:y0 + CROP + BELOW, x0:x0 + CROP]).permute(2, 0, 1).contiguous()


def centre(mask: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(mask)
    return int(round(ys.mean())), int(round(xs.mean()))


class Mover(nn.Module):
    """(crop, code, last HISTORY moves) -> logits of the piece's next dy and dx, CLASSES each."""

    def __init__(self, codes: int):
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(4, 16, 3, 2, 1), nn.GELU(), nn.Conv2d(16, 32, 3, 2, 1), nn.GELU(),
                                 nn.Conv2d(32, 32, 3, 2, 1), nn.GELU(), nn.Flatten(), nn.Linear(32 * ((CROP + BELOW) // 8) * 4, 64))
        self.code = nn.Embedding(codes, 32)
        self.last = nn.Embedding(CLASSES + 1, 8)
        self.mlp = nn.Sequential(nn.Linear(64 + 32 + 16 * HISTORY, 128), nn.GELU(), nn.Linear(128, 2 * CLASSES))

    def forward(self, crops, codes, last):  # last (B, 2 * HISTORY): dy, dx classes of the last moves, newest first
        h = torch.cat([self.cnn(crops), self.code(codes), self.last(last).flatten(1)], -1)
        return self.mlp(h).view(-1, 2, CLASSES)


def pieces(mask: np.ndarray) -> list[np.ndarray]:
    out = []
    for comp in _components(mask):
        if len(comp) >= MIN_PIXELS:
            m = np.zeros_like(mask)
            m[tuple(np.array(comp).T)] = True
            out.append(m)
    return out


def examples(folder, lam, vocab, detector=None):
    """With a detector, the pieces are what it finds in each frame (as in play), else apart.py's."""
    X, C, L, Y = [], [], [], []
    for shard in open_folder(folder):
        frames_all = torch.from_numpy(np.array(shard.frames))
        codes = lam.infer_actions(frames_all)
        for c in range(len(shard.clips)):
            f = frames_all[c]
            if detector == "followed":  # only the piece the camera follows, where the view scrolls
                masks = followed(f, camera_moves(f, vocab), pieces)[0].numpy()
            elif detector is None:
                masks = apart(f, camera_moves(f, vocab)).numpy()  # frames 1..T-2
            else:
                masks = (detector(f[1:-1]).sigmoid() > 0.5).numpy()
            fn = f.numpy()
            for t in range(1, len(f) - 1):
                for m in pieces(masks[t - 1]):
                    dy, dx, err = piece_move(fn[t], fn[t + 1], m)
                    if err > MAX_ERROR:
                        continue
                    # where the piece was 1..HISTORY frames before, matched back from frame t; the
                    # differences are its last moves, newest first
                    where, enc = [(0, 0)], []
                    for back in range(1, HISTORY + 1):
                        by, bx, berr = piece_move(fn[t], fn[t - back], m) if t - back >= 0 else (0, 0, 1.0)
                        if berr > HISTORY_ERROR or where[-1] is None:
                            where.append(None)
                            enc += [UNKNOWN, UNKNOWN]
                            continue
                        where.append((by, bx))
                        my, mx = where[-2][0] - by, where[-2][1] - bx
                        ok = abs(my) <= REACH and abs(mx) <= REACH
                        enc += [my + REACH, mx + REACH] if ok else [UNKNOWN, UNKNOWN]
                    X.append(crop(fn[t], m, *centre(m)))
                    C.append(int(codes[c, t]))
                    L.append(enc)
                    Y.append((dy + REACH, dx + REACH))
    return torch.stack(X), torch.tensor(C), torch.tensor(L), torch.tensor(Y)


def cached_examples(path: Path, make) -> tuple[torch.Tensor, ...]:
    """(crops, codes, last moves, moves) from the file at `path`, else from make() (then saved there)."""
    names = ("crops", "codes", "last", "moves")
    if path.exists():
        return tuple(load_file(str(path))[k] for k in names)
    with torch.no_grad():
        tensors = make()
    save_file(dict(zip(names, tensors)), str(path.with_suffix(".tmp")))
    path.with_suffix(".tmp").replace(path)
    return tensors


def train_mover(codes: int, X, C, L, Y, train: torch.Tensor, steps: int, event_weight: float, recolour=None) -> Mover:
    """A Mover trained `steps` steps of 256 examples drawn from `train` (indices), the examples whose
    vertical move changes (take-off, the top, landing) weighted `event_weight`; `recolour` maps crops."""
    mover = Mover(codes)
    opt = torch.optim.AdamW(mover.parameters(), 2e-3)
    for it in range(steps):
        i = train[torch.randint(len(train), (256,))]
        logits = mover(recolour(X[i]) if recolour else X[i], C[i], L[i])
        event = (Y[i, 0] != L[i, 0]) & (L[i, 0] != UNKNOWN)  # the vertical move changes
        weight = torch.where(event, event_weight, 1.0).repeat_interleave(2)
        loss = (F.cross_entropy(logits.flatten(0, 1), Y[i].flatten(), reduction="none") * weight).sum() / weight.sum()
        opt.zero_grad(), loss.backward(), opt.step()
        if it % 500 == 0:
            print(f"step {it} loss {loss.item():.3f}", flush=True)
    return mover.eval()


def load_mover(path, codes: int) -> nn.Module:
    """A mover file, or several separated by commas: their mean log-probability (an ensemble)."""
    movers = []
    for p in str(path).split(","):
        m = Mover(codes)
        m.load_state_dict(load_file(p))
        movers.append(m.eval())
    return movers[0] if len(movers) == 1 else Ensemble(movers)


class Ensemble(nn.Module):
    def __init__(self, movers):
        super().__init__()
        self.movers = nn.ModuleList(movers)

    def forward(self, *args):
        return torch.stack([m(*args).log_softmax(-1) for m in self.movers]).mean(0)


if __name__ == "__main__":
    torch.manual_seed(int(os.environ.get("SEED", 0)))
    out = Path(sys.argv[2])
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    w = WorldModel.load("models", "cpu")
    t0 = time.time()

    def make():
        from detector import load_detector
        det = sys.argv[4] if len(sys.argv) > 4 else None
        return examples(sys.argv[1], w.lam, w.vocab, load_detector(det) if det not in (None, "followed") else det)

    X, C, L, Y = cached_examples(out / "mover_examples.safetensors", make)
    common = torch.bincount(Y[:, 0]).max().item() / len(Y)
    print(f"{len(Y)} pieces ({time.time() - t0:.0f} s); commonest dy's share {common:.2f}", flush=True)
    split = int(0.9 * len(Y))
    mover = train_mover(w.num_actions, X, C, L, Y, torch.arange(split), steps, EVENT_WEIGHT)
    with torch.no_grad():
        pred = mover(X[split:], C[split:], L[split:]).argmax(-1)
    right = (pred == Y[split:]).float().mean(0)
    print(f"held-out pieces: dy right {right[0]:.2f}, dx right {right[1]:.2f}, both {(pred == Y[split:]).all(-1).float().mean():.2f}")
    save_file(mover.state_dict(), str(out / "mover.safetensors"))
