"""Procedural levels: a tile grid of ground, gaps, steps, floating platforms, crates, coins and enemies.

Coordinates are in tiles: x grows to the right, y grows downwards, row 0 is the top of the level.
A column's ground fills the bottom `height` rows; height 0 is a gap (falling in ends the episode).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EMPTY, GROUND, BLOCK, PLATFORM = 0, 1, 2, 3  # PLATFORM is one-way: solid only from above


@dataclass
class Enemy:
    """A walker patrols its stretch of ground; a flyer bobs up and down over a gap."""

    x: float
    y: float  # feet (bottom) of the enemy
    vx: float
    x_min: float
    x_max: float
    flying: bool = False
    phase: float = 0.0
    y0: float = 0.0  # flyers: centre of the bobbing
    alive: bool = True


@dataclass
class Level:
    grid: np.ndarray  # (rows, cols) uint8 tile ids
    coins: np.ndarray  # (n, 2) float32 coin centres (x, y)
    enemies: list[Enemy]
    start: tuple[float, float]  # player feet (x, y)
    goal_x: float  # reaching this x completes the level
    heights: np.ndarray = field(repr=False, default=None)  # (cols,) ground height per column

    @property
    def rows(self) -> int:
        return self.grid.shape[0]

    @property
    def cols(self) -> int:
        return self.grid.shape[1]


def generate_level(rng: np.random.Generator, rows: int, cols: int | None = None) -> Level:
    """A random level `rows` tall (the frame's height in tiles); every gap and step is jumpable."""
    cols = int(cols or rng.integers(64, 129))
    max_h = max(rows - 5, 1)  # leave room above the ground for jumps and floating platforms
    heights = np.zeros(cols, np.int64)
    grid = np.zeros((rows, cols), np.uint8)
    coins: list[tuple[float, float]] = []
    enemies: list[Enemy] = []
    h = int(rng.integers(min(2, max_h), min(4, max_h) + 1))

    def top(height: int) -> int:  # y of the ground surface
        return rows - height

    def coin_arc(c0: int, n: int, height: int, lift: float) -> None:
        for i in range(n):
            bump = np.sin(np.pi * (i + 0.5) / n) * 1.2
            coins.append((c0 + i + 0.5, top(height) - lift - bump))

    heights[:10] = h  # a calm start: flat, no enemies, room to walk back
    c = 10
    while c < cols - 10:
        kind = rng.choice(["flat", "step", "gap", "platform", "crate"], p=[0.25, 0.2, 0.25, 0.15, 0.15])
        if kind == "step":
            h = int(np.clip(h + rng.choice([-2, -1, 1, 2]), 1, max_h))
            n = int(rng.integers(3, 7))
        elif kind == "gap":
            w = int(rng.integers(1, 4))
            heights[c:c + w] = 0
            if rng.random() < 0.3:
                y0 = top(h) - rng.uniform(2.0, 3.0)
                enemies.append(Enemy(c + w / 2, y0 + 0.35, 0.0, c, c + w, flying=True,
                                     phase=rng.uniform(0, 2 * np.pi), y0=y0))
            elif rng.random() < 0.5:
                coin_arc(c, w, h, 1.5)
            c += w
            h = int(np.clip(h + rng.choice([-1, 0, 0, 1]), 1, max_h))
            n = int(rng.integers(3, 6))
        else:
            n = int(rng.integers(4, 9))
        n = min(n, cols - 10 - c) if c < cols - 10 else 0
        if n <= 0:
            break
        heights[c:c + n] = h
        if kind == "platform" and n >= 5:
            p0, length = c + 1, int(rng.integers(2, min(4, n - 2) + 1))
            grid[top(h) - 3, p0:p0 + length] = PLATFORM
            coin_arc(p0, length, h + 3, 0.5)
        elif kind == "crate" and n >= 3:
            x0 = c + int(rng.integers(1, n - 1))
            stack = 1 if h + 2 > max_h or rng.random() < 0.6 else 2
            grid[top(h) - stack:top(h), x0] = BLOCK
        elif rng.random() < 0.4:
            coin_arc(c + 1, min(3, n - 1), h, 0.6)
        if kind in ("flat", "step", "crate") and n >= 4 and rng.random() < 0.45:
            speed = rng.uniform(0.03, 0.07) * rng.choice([-1, 1])
            enemies.append(Enemy(c + n / 2, float(top(h)), float(speed), c + 0.5, c + n - 0.5))
        c += n
    heights[c:] = h  # the end: flat ground up to the goal and the wall
    for col in range(cols):
        if heights[col]:
            grid[top(int(heights[col])):, col] = GROUND
    # Enemies on crates' columns would walk through them: keep walkers off any column with a crate.
    crate_cols = set(np.nonzero((grid == BLOCK).any(axis=0))[0].tolist())
    enemies = [e for e in enemies if e.flying or not any(int(e.x_min) <= k <= int(e.x_max) for k in crate_cols)]
    return Level(grid, np.asarray(coins, np.float32).reshape(-1, 2), enemies,
                 start=(5.5, float(top(int(heights[5])))), goal_x=cols - 4.5, heights=heights)
