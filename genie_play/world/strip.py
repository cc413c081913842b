"""The strip that scrolls in where the world has never been: a piece of the world whose edge fits.

The dynamics model's block tokens may copy from at most a few blocks away, and for the strip the
nearest source is always the likeliest: the edge column repeated every step, so after one frame's
width of scrolling a picture is horizontal streaks. Instead the strip continues the picture the
way texture synthesis does: among the places near the camera that the memory knows, take one whose
neighbouring columns match the columns beside the strip (the seam), at least MIN_GAP px from the
strip itself so a repeat has the period of a scene, not of a block, and with as few pixels that
changed in the last RECENT steps as any (a sprite is there: copying it would clone the character).
Of the places that fit about as well as the best, one is drawn at random: the ground stays at its
height and continues, a cloud or a platform cut by the edge goes on as some cloud or platform of
the same picture.
"""

from __future__ import annotations

import numpy as np
import torch

from genie_play.world.memory import Memory

SEAM = 4  # px beside the strip that a source must match
MIN_GAP = 32  # px between the strip and its source
REACH = 256  # px either side of the camera the source may come from
TOLERANCE = 1.5  # a source fits when its seam error is within this factor of the best ...
FLOOR = 2e-3  # ... or under this mean squared error (of [0, 1] channels): flat sky fits anywhere
RECENT = 8  # steps: a place that changed since is avoided as a source
STILL_SLACK = 0.02  # share of changed pixels a source may have beyond the stillest's


def fill_columns(view: np.ndarray, hole: np.ndarray, pool: np.ndarray, known: np.ndarray, at: int,
                 generator: torch.Generator, recent: np.ndarray | None = None) -> bool:
    """Paint the hole's columns at one side of `view` (H, W, 3) with columns of `pool` (H, P, 3).

    hole (H, W) bool marks the pixels to paint; `known` (H, P) where the pool holds pixels, `recent`
    (H, P) those that changed lately; `at` is the pool column the view's first column sits at.
    Changes `view` in place; False when no source fits."""
    columns = np.flatnonzero(hole.any(axis=0))
    if not len(columns):
        return True
    w, right = len(columns), columns[0] > 0  # the strip: w columns at the right (or left) edge
    seam = view[:, columns[0] - SEAM:columns[0]] if right else view[:, w:w + SEAM]  # (H, SEAM, 3)
    if seam.shape[1] < SEAM:
        return False
    # Candidate source s: pool columns s..s+w-1, its seam just left of it (or right, for a left strip).
    unit = pool.astype(np.float32) / 255
    full = known.all(axis=0)  # (P,) columns known in every row
    span = w + SEAM
    runs = np.lib.stride_tricks.sliding_window_view(full, span).all(axis=1)  # (P - span + 1,)
    windows = np.lib.stride_tricks.sliding_window_view(unit, SEAM, axis=1)  # (H, P - SEAM + 1, 3, SEAM)
    starts = np.arange(len(runs))
    seam_at = starts if right else starts + w  # the seam's first pool column for a source window at each start
    errors = ((windows[:, seam_at].transpose(1, 0, 3, 2) - seam.astype(np.float32)[None] / 255) ** 2).mean(axis=(1, 2, 3))
    source_at = starts + SEAM if right else starts  # the source's first pool column
    target = at + columns[0]  # where the strip itself sits in the pool
    ok = runs & (np.abs(source_at - target) >= MIN_GAP)
    if not ok.any():
        return False
    if recent is not None:  # the stillest sources only (a sprite's place is not copied)
        moving = np.lib.stride_tricks.sliding_window_view(recent.mean(axis=0), w).mean(axis=1)[source_at]
        ok &= moving <= moving[ok].min() + STILL_SLACK
    best = errors[ok].min()
    fits = np.flatnonzero(ok & (errors <= max(best * TOLERANCE, FLOOR)))
    pick = int(fits[torch.randint(len(fits), (1,), generator=generator, device=generator.device).item()])
    source = pool[:, source_at[pick]:source_at[pick] + w]
    strip = view[:, columns]
    view[:, columns] = np.where(hole[:, columns, None], source, strip)
    return True


def fill_new(view: np.ndarray, hole: np.ndarray, memory: Memory, camera: tuple[int, int],
             generator: torch.Generator) -> np.ndarray:
    """`view` (H, W, 3) at world position `camera` with the pixels `hole` (H, W) marks painted from
    the memory's places nearby (sideways strips first, then strips above or below); returns what
    was painted (H, W) bool. What no source fits stays as it was."""
    H, W = hole.shape
    painted = np.zeros_like(hole)
    cy, cx = camera
    sideways = hole & hole.all(axis=0, keepdims=True) if hole.any() else hole  # whole columns: a sideways scroll
    if sideways.any():
        pool, known, recent = memory.read_recent(cy, cx - REACH, H, W + 2 * REACH, RECENT)
        if fill_columns(view, sideways, pool, known, REACH, generator, recent):
            painted |= sideways
    rest = hole & ~painted
    if rest.any():  # strips above or below: the same, with rows for columns
        pool, known, recent = memory.read_recent(cy - REACH, cx, H + 2 * REACH, W, RECENT)
        flipped = np.ascontiguousarray(view.transpose(1, 0, 2))
        if fill_columns(flipped, rest.T, pool.transpose(1, 0, 2), known.T, REACH, generator, recent.T):
            view[:] = flipped.transpose(1, 0, 2)
            painted |= rest
    return painted
