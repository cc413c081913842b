"""The world's memory: every pixel it has shown, at its place in the world.

The camera's moves add up to a position in the world; a frame at camera position (y, x) shows the
world's pixels (y..y+H, x..x+W). When the view moves back over a place the world has shown, the
strip that scrolls in is that place as it was last seen, not something sampled anew: go right,
come back, and the player's picture is there. Only places never shown are left to the sampler.
It also remembers when each place last changed while shown (a sprite is there, or just passed),
so the strip painter does not clone a character into the strips it paints.
Stored as 64 x 64 tiles, so memory grows with where the camera went, not with how long it played.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TILE = 64  # px per side of a memory tile


@dataclass(frozen=True)
class Region:
    """What a rectangle of the world held before a write: for undo."""

    y: int
    x: int
    pixels: np.ndarray  # (h, w, 3) uint8
    known: np.ndarray  # (h, w) bool: shown before
    changed_at: np.ndarray  # (h, w) int: the write that last changed the place, -1 if none
    writes: int  # writes before this one


class Memory:
    """Pixels by world position (y, x), in tiles; unknown where nothing was ever shown."""

    def __init__(self):
        self._tiles: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # pixels, known, changed_at
        self.writes = 0

    def _spans(self, y: int, x: int, h: int, w: int):
        """(tile key, slice in the tile, slice in the rectangle) for each tile the rectangle touches."""
        for ty in range(y // TILE, (y + h - 1) // TILE + 1):
            y0, y1 = max(y, ty * TILE), min(y + h, (ty + 1) * TILE)
            for tx in range(x // TILE, (x + w - 1) // TILE + 1):
                x0, x1 = max(x, tx * TILE), min(x + w, (tx + 1) * TILE)
                yield ((ty, tx), (slice(y0 - ty * TILE, y1 - ty * TILE), slice(x0 - tx * TILE, x1 - tx * TILE)),
                       (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)))

    def read(self, y: int, x: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """The world's pixels (h, w, 3) in the rectangle at (y, x) and where they are known (h, w)."""
        pixels, known, _ = self._get(y, x, h, w)
        return pixels, known

    def read_recent(self, y: int, x: int, h: int, w: int, writes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As `read`, plus where known places changed in the last `writes` writes (h, w) bool."""
        pixels, known, changed_at = self._get(y, x, h, w)
        return pixels, known, known & (changed_at >= max(self.writes - writes, 0))  # -1: never changed

    def write(self, y: int, x: int, pixels: np.ndarray) -> Region:
        """Remember `pixels` (h, w, 3) at (y, x); returns what was there, for `restore`."""
        before = Region(y, x, *self._get(y, x, *pixels.shape[:2]), self.writes)
        changed = before.known & (before.pixels != pixels).any(axis=-1)
        self._put(y, x, pixels, np.ones(pixels.shape[:2], bool), np.where(changed, self.writes, before.changed_at))
        self.writes += 1
        return before

    def restore(self, region: Region) -> None:
        """Undo a write: the rectangle as it was."""
        self._put(region.y, region.x, region.pixels, region.known, region.changed_at)
        self.writes = region.writes

    def _get(self, y: int, x: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pixels, known, changed_at = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), bool), np.full((h, w), -1)
        for key, inside, out in self._spans(y, x, h, w):
            if key in self._tiles:
                tile, seen, when = self._tiles[key]
                pixels[out], known[out], changed_at[out] = tile[inside], seen[inside], when[inside]
        return pixels, known, changed_at

    def _put(self, y: int, x: int, pixels: np.ndarray, known: np.ndarray, changed_at: np.ndarray) -> None:
        for key, inside, out in self._spans(y, x, *pixels.shape[:2]):
            if key not in self._tiles:
                self._tiles[key] = (np.zeros((TILE, TILE, 3), np.uint8), np.zeros((TILE, TILE), bool),
                                    np.full((TILE, TILE), -1))
            tile, seen, when = self._tiles[key]
            tile[inside], seen[inside], when[inside] = pixels[out], known[out], changed_at[out]
