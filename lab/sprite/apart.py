"""Label-free targets for the character, read from the video alone: which pixels of a frame move
apart from the camera (the sprite), and how that piece moves to the next frame.

`apart(x_{t-1}, x_t, x_{t+1})`: a pixel of x_t belongs to something that moves on its own when it
differs from the camera-moved frame on both sides (t-1 -> t and t -> t+1). A pixel the sprite
only passes over differs on one side; the sprite itself on both.
`piece_move(x_t, x_{t+1}, mask)`: the whole-pixel screen move under which the masked pixels match
best in the next frame."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from genie_play.world import tokenizer as tk

CHANGE = 24 / 255  # a pixel differs from its camera-moved self by more than this
REACH = 8  # a piece moves at most this many px a step on screen


def _changed(prev: torch.Tensor, nxt: torch.Tensor, moves: torch.Tensor) -> torch.Tensor:
    """prev, nxt (B, H, W, 3) uint8, content moves (B, 2) -> (B, H, W) bool in nxt's pixels: not
    what the camera's move of prev shows (False in the strip that scrolled in)."""
    a, b = tk._unit(prev), tk._unit(nxt)
    out = torch.zeros(b.shape[0], *b.shape[2:], dtype=torch.bool)
    for i, (dy, dx) in enumerate(moves.tolist()):
        moved = tk._shift(a[i:i + 1], dy, dx)[0]
        out[i] = (moved - b[i]).abs().amax(0) > CHANGE  # NaN compares False
    return out


def camera_moves(frames: torch.Tensor, vocab) -> torch.Tensor:
    """frames (T, H, W, 3) -> content moves (T-1, 2) the tokenizer's search reads."""
    return vocab.move_table()[tk.estimate_move(frames[:-1], frames[1:], vocab)[:, 0]]


def apart(frames: torch.Tensor, moves: torch.Tensor) -> torch.Tensor:
    """frames (T, H, W, 3), moves (T-1, 2) -> (T-2, H, W) bool: frames 1..T-2's pixels that move apart."""
    before = _changed(frames[:-2], frames[1:-1], moves[:-1])  # in frame t's pixels
    after = _changed(frames[2:], frames[1:-1], -moves[1:])  # t+1 moved back onto t
    return before & after


def piece_move(prev: np.ndarray, nxt: np.ndarray, mask: np.ndarray) -> tuple[int, int, float]:
    """The screen move (dy, dx) in [-REACH, REACH]^2 of prev's masked pixels into nxt, and its mean
    absolute error (0..1)."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return 0, 0, 1.0
    a = prev[ys, xs].astype(np.float32) / 255
    H, W = nxt.shape[:2]
    best = (0, 0, 9.0)
    for dy in range(-REACH, REACH + 1):
        ty = ys + dy
        for dx in range(-REACH, REACH + 1):
            tx = xs + dx
            ok = (ty >= 0) & (ty < H) & (tx >= 0) & (tx < W)
            if ok.mean() < 0.5:
                continue
            err = np.abs(nxt[ty[ok], tx[ok]].astype(np.float32) / 255 - a[ok]).max(-1).mean()
            err += 1e-3 * (abs(dy) + abs(dx))  # ties go to the smallest move
            if err < best[2]:
                best = (dy, dx, float(err))
    return best


def dilate(mask: torch.Tensor, r: int) -> torch.Tensor:
    return F.max_pool2d(mask[:, None].float(), 2 * r + 1, 1, r)[:, 0] > 0
