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
    absolute error (0..1). Pixels that leave the frame are not counted (at least half must stay)."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return 0, 0, 1.0
    a = prev[ys, xs].astype(np.float32) / 255  # (n, 3)
    H, W = nxt.shape[:2]
    pad = np.pad(nxt.astype(np.float32) / 255, ((REACH, REACH), (REACH, REACH), (0, 0)), constant_values=np.nan)
    d = np.arange(-REACH, REACH + 1)
    dy, dx = np.repeat(d, len(d)), np.tile(d, len(d))  # (K,)
    b = pad[ys[None] + dy[:, None] + REACH, xs[None] + dx[:, None] + REACH]  # (K, n, 3)
    err = np.abs(b - a[None]).max(-1)  # (K, n), NaN outside
    inside = ~np.isnan(err)
    cost = np.where(inside, err, 0).sum(1) / np.maximum(inside.sum(1), 1) + 1e-3 * (np.abs(dy) + np.abs(dx))
    cost[inside.mean(1) < 0.5] = np.inf
    k = int(cost.argmin())
    return int(dy[k]), int(dx[k]), float(cost[k])


def followed(frames: torch.Tensor, moves: torch.Tensor, pieces_of) -> tuple[torch.Tensor, torch.Tensor]:
    """The piece the camera follows: frames 1..T-2's pixels of apart pieces that hold their screen
    column (|dx| <= 1) while the view scrolls by >= 2 px, and which frames say so (the view moved)."""
    masks = apart(frames, moves).numpy()
    out = np.zeros_like(masks)
    used = np.zeros(len(masks), bool)
    fn = frames.numpy()
    for t in range(1, len(frames) - 1):
        if abs(int(moves[t, 1])) < 2:
            continue
        used[t - 1] = True
        for m in pieces_of(masks[t - 1]):
            dy, dx, err = piece_move(fn[t], fn[t + 1], m)
            if abs(dx) <= 1 and err < 0.08:
                out[t - 1] |= m
    return torch.from_numpy(out), torch.from_numpy(used)
