"""The mover trained on the piece the detector finds, tracked through each clip: its history is the
moves it made (as in play, where the layer knows every move it applied), not a match back.

Each training clip: the detector runs on every frame; the track starts on the largest piece of the
first frame that has one and follows it to the piece of the next frame it lands on (its move by
piece_move, the piece of t+1 overlapping it most); the track ends where it is lost. Examples are
the track's frames: crop, LAM code, the track's last HISTORY moves (UNKNOWN before it began), and
the next move as the target. No true position or action is read.

    SEED=0 EVENT_WEIGHT=10 python lab/sprite/tracked.py TRAIN_DATA RUN_DIR [steps]
        (RUN_DIR holds detector.safetensors; writes tracked_examples.safetensors, mover-SEED.safetensors)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, "lab/sprite")
from apart import REACH, piece_move  # noqa: E402
from detector import load_detector  # noqa: E402
from found_layer import fill_shift  # noqa: E402
from mover import HISTORY, UNKNOWN, cached_examples, centre, crop, pieces, train_mover  # noqa: E402

from genie_play.data.shards import open_folder  # noqa: E402
from genie_play.presets import PRESETS  # noqa: E402
from genie_play.train import character_training  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

TARGET_ERROR = 0.15  # a target move must fit at least this well
JITTER = int(os.environ.get("JITTER", 0))  # each step that ends on the ground (no vertical move after a fall or a
# stand) also gives an example with the sprite pasted up to this many px above or into the ground: its target is
# the move back onto the ground, so the mover learns to undo its own errors (a landing 2 px into the ground must come
# back up, not fall on). Only there is the error visible in the crop: in mid-air, or sideways, it is not.
AUGMENT = os.environ.get("AUGMENT", "0") == "1"  # recoloured crops, as detector.py's recolour


def recolour_crops(x: torch.Tensor) -> torch.Tensor:
    """(B, 4, h, w) crops (RGB in 0..1 and the mask), each with its colours shuffled, half inverted."""
    x = x.clone()
    for b in range(len(x)):
        rgb = x[b, torch.randperm(3)]
        x[b, :3] = 1 - rgb if torch.rand(()) < 0.5 else rgb
    return x


def track(frames: np.ndarray, prob: np.ndarray) -> list[tuple[int, np.ndarray, tuple[int, int, float]]]:
    """frames (T, H, W, 3), detector probabilities (T, H, W) -> [(t, mask_t, move t -> t+1)] along one
    track: the product's (train/character_training.py), with this file's constants."""
    return character_training.track(frames, prob, PRESETS["default"])


def jittered(frame: np.ndarray, mask: np.ndarray, move: tuple[int, int], rng: np.random.Generator):
    """The frame with the masked sprite cut out (shift fill) and pasted oy px lower (up to JITTER
    either way), its mask there, and the move from there onto the real next place; None where it
    leaves the frame or reach."""
    oy = int(rng.integers(-JITTER, JITTER + 1))
    ty = move[0] - oy
    if oy == 0 or abs(ty) > REACH:
        return None
    ys, xs = np.nonzero(mask)
    ny = ys + oy
    if ny.min() < 0 or ny.max() >= mask.shape[0]:
        return None
    out = fill_shift(frame, mask)
    out[ny, xs] = frame[ys, xs]
    moved = np.zeros_like(mask)
    moved[ny, xs] = True
    return out, moved, (ty, move[1])


def examples(folder, lam, detector):
    X, C, L, Y = [], [], [], []
    rng = np.random.default_rng(0)
    for shard in open_folder(folder):
        frames_all = torch.from_numpy(np.array(shard.frames))
        codes = lam.infer_actions(frames_all)
        for c in range(len(shard.clips)):
            f = frames_all[c]
            prob = detector(f).sigmoid().numpy()
            steps = track(f.numpy(), prob)
            past: list[int] = []  # dy, dx classes of the track's moves, newest first
            for t, mask, (dy, dx, err) in steps:
                hist = (past + [UNKNOWN] * (2 * HISTORY))[:2 * HISTORY]
                if err <= TARGET_ERROR:
                    X.append(crop(f[t].numpy(), mask, *centre(mask)))
                    C.append(int(codes[c, t]))
                    L.append(hist)
                    Y.append((dy + REACH, dx + REACH))
                    grounded = dy == 0 and len(past) >= 2 and past[0] >= REACH  # lands or stands at t + 1
                    j = jittered(f[t].numpy(), mask, (dy, dx), rng) if JITTER and grounded else None
                    if j is not None:
                        X.append(crop(j[0], j[1], *centre(j[1])))
                        C.append(int(codes[c, t]))
                        L.append(hist)
                        Y.append((j[2][0] + REACH, j[2][1] + REACH))
                past = [dy + REACH, dx + REACH] + past
    return torch.stack(X), torch.tensor(C), torch.tensor(L), torch.tensor(Y)


if __name__ == "__main__":
    seed = int(os.environ.get("SEED", 0))
    event_weight = float(os.environ.get("EVENT_WEIGHT", 10))
    torch.manual_seed(seed)
    run = Path(sys.argv[2])
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    w = WorldModel.load("models", "cpu")
    t0 = time.time()
    X, C, L, Y = cached_examples(run / f"tracked_examples{'-ground%d' % JITTER if JITTER else ''}.safetensors",
                                 lambda: examples(sys.argv[1], w.lam, load_detector(run / "detector.safetensors")))
    known = (L[:, 0] != UNKNOWN).float().mean()
    common = torch.bincount(Y[:, 0]).max().item() / len(Y)
    print(f"{len(Y)} tracked steps ({time.time() - t0:.0f} s), {known:.2f} with a known last move; "
          f"commonest dy's share {common:.2f}", flush=True)
    g = torch.Generator().manual_seed(0)  # the same held-out split for every seed
    order = torch.randperm(len(Y), generator=g)
    split = int(0.9 * len(Y))
    tr, te = order[:split], order[split:]
    mover = train_mover(w.num_actions, X, C, L, Y, tr, steps, event_weight, recolour_crops if AUGMENT else None)
    with torch.no_grad():
        pred = mover(X[te], C[te], L[te]).argmax(-1)
    right = (pred == Y[te]).float().mean(0)
    ev = (Y[te, 0] != L[te, 0]) & (L[te, 0] != UNKNOWN)
    print(f"held-out steps: dy right {right[0]:.2f}, dx right {right[1]:.2f}; "
          f"dy right where it changes {(pred[ev, 0] == Y[te][ev, 0]).float().mean():.2f} ({int(ev.sum())})")
    out = run / f"mover{'-ground%d' % JITTER if JITTER else ''}-{seed}.safetensors"
    save_file(mover.state_dict(), str(out.with_suffix(".tmp")))
    out.with_suffix(".tmp").replace(out)
