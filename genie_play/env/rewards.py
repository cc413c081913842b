"""Example rewards for the learned world. Examples, not ground truth: the world has no score.

scroll_reward: the camera of the built-in platformer follows the player, so walking right shows up
as the picture sliding left. The reward is that slide, in pixels per frame, estimated from the two
frames alone -- it works on any prompt, and on frames of the real game too.
"""

from __future__ import annotations

import numpy as np

MAX_SHIFT = 6  # pixels per frame; the real game scrolls at most ~3 px per frame at 64 px


def horizontal_scroll(prev_frame: np.ndarray, frame: np.ndarray, max_shift: int = MAX_SHIFT) -> float:
    """How far the picture moved left from prev_frame to frame (H, W, 3), in pixels, to a tenth or so.

    Tries every whole shift up to max_shift, then refines the best one with a parabola through its
    neighbours' costs. Positive: the view moved right (content slid left).
    """
    max_shift = min(max_shift, prev_frame.shape[1] // 4)
    a = prev_frame.astype(np.float32).mean(-1)  # (H, W) gray
    b = frame.astype(np.float32).mean(-1)
    W = a.shape[1]
    shifts = np.arange(-max_shift, max_shift + 1)
    costs = []
    for s in shifts:  # frame[x] ~ prev[x + s]
        if s >= 0:
            costs.append(np.abs(b[:, :W - s] - a[:, s:]).mean())
        else:
            costs.append(np.abs(b[:, -s:] - a[:, :W + s]).mean())
    costs = np.asarray(costs)
    i = int(costs.argmin())
    if 0 < i < len(costs) - 1:
        left, mid, right = costs[i - 1], costs[i], costs[i + 1]
        curve = left - 2 * mid + right
        offset = 0.5 * (left - right) / curve if curve > 1e-6 else 0.0
        return float(shifts[i] + np.clip(offset, -0.5, 0.5))
    return float(shifts[i])


def scroll_reward(prev_frame: np.ndarray, frame: np.ndarray, info: dict) -> float:
    """Progress to the right, in pixels this frame (an example reward)."""
    return horizontal_scroll(prev_frame, frame)
