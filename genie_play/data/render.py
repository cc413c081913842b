"""Renders the game state to a frame: parallax backdrop, textured (or hand-drawn) terrain, sprites.

Everything is vectorised NumPy over the frame's pixels. The camera moves in whole pixels of the
world, so scrolling shifts the terrain exactly and textures never shimmer. Line-art styles add
hatching and jittered ink edges in world space, so a drawing stays the same drawing as it scrolls.
"""

from __future__ import annotations

import math

import numpy as np

from genie_play.data import draw as D
from genie_play.data.art import AIR, CRATE, FILL, SLAB, SURFACE, backdrop, tile_atlas
from genie_play.data.level import BLOCK, GROUND, PLATFORM, Level
from genie_play.data.sprites import build_sprites
from genie_play.data.styles import Style

PAD = 16  # wall columns drawn beyond both ends of the level, more than the camera can show
# Label map values: what each pixel shows (tests and evaluation use them; training never does).
BACKDROP, TERRAIN, GOAL, COIN, ENEMY, PLAYER = range(6)
_SLOT_KIND = np.array([0, 1, 1, 2, 3])  # atlas slot -> terrain kind for edges: air, ground, crate, slab


class Renderer:
    """Draws frames of one style at one size; `set_level` once per level, `render` per frame."""

    def __init__(self, style: Style, size: int):
        self.style, self.size = style, size
        self.ppt = size / style.view_tiles  # pixels per tile
        rng = np.random.default_rng(style.seed)
        self.backdrop = backdrop(style, size, rng)
        self.tp = max(2, math.ceil(self.ppt))
        self.atlas = tile_atlas(style, self.tp, rng)  # (5, tp, tp, 4)
        self.sprites = build_sprites(style, self.ppt, size)
        u = size / 64
        self.stroke = max(1, round(style.outline * u)) if style.outline else 0
        self.wobble = (D.waves(rng, 3), D.waves(rng, 3))  # jitter fields for x and y
        self.pressure = D.waves(rng, 2)  # ink darkness varies along strokes, like pencil pressure
        self.hatch_period = max(3.0, rng.uniform(3.0, 5.0) * u)
        self.hatch_depth = float(rng.choice([0.6, 1.0, 1.5, 99.0]))  # tiles of hatching below the surface
        self.hatch_alpha = float(rng.uniform(0.5, 0.8))

    def set_level(self, level: Level) -> None:
        grid = level.grid
        solid = (grid == GROUND) | (grid == BLOCK)
        above = np.vstack([np.zeros((1, grid.shape[1]), bool), solid[:-1]])
        slots = np.full(grid.shape, AIR, np.int64)
        slots[grid == GROUND] = FILL
        slots[(grid == GROUND) & ~above] = SURFACE
        slots[grid == BLOCK] = CRATE
        slots[grid == PLATFORM] = SLAB
        depth = np.zeros(grid.shape, np.float32)  # solid tiles between a tile and the surface above it
        run = np.zeros(grid.shape[1], np.float32)
        for r in range(grid.shape[0]):
            run = np.where(solid[r], run + 1, 0)
            depth[r] = run - 1
        wall = np.full((grid.shape[0], PAD), FILL)
        self.slots = np.hstack([wall, slots, wall])
        self.depth = np.hstack([np.full_like(wall, 99), depth, np.full_like(wall, 99)]).astype(np.float32)
        self.level = level
        self.cam_y = round((level.rows - self.style.view_tiles) * self.ppt)  # level bottom = frame bottom

    def render(self, game) -> tuple[np.ndarray, np.ndarray]:
        """(frame (H, W, 3) uint8, labels (H, W) uint8) for the game's current state."""
        size, ppt = self.size, self.ppt
        cam_x = round(game.camera_x * ppt)
        X = cam_x + np.arange(size, dtype=np.float32)[None, :]  # world pixels of the frame's columns
        Y = self.cam_y + np.arange(size, dtype=np.float32)[:, None]
        frame = self._backdrop(cam_x)
        labels = np.zeros((size, size), np.uint8)
        self._terrain(frame, labels, X, Y)
        self._sprites(frame, labels, game, cam_x)
        return (frame + 0.5).clip(0, 255).astype(np.uint8), labels

    def _backdrop(self, cam_x: int) -> np.ndarray:
        b, cols = self.backdrop, np.arange(self.size)
        period = b.far.shape[1]
        frame = b.far[:, (math.floor(cam_x * b.far_speed) + cols) % period].copy()
        near = (math.floor(cam_x * b.near_speed) + cols) % period
        a = b.near_alpha[:, near][..., None]
        return frame * (1 - a) + b.near[:, near] * a

    def _terrain(self, frame, labels, X, Y) -> None:
        s, ppt, tp = self.style, self.ppt, self.tp
        if s.jitter:  # hand-drawn edges: displace the lookup by smooth noise fixed in world space
            amp, scale = s.jitter * ppt, ppt * 0.7
            Xl = X + amp * D.eval_waves(self.wobble[0], Y / scale, X / scale)
            Yl = Y + amp * D.eval_waves(self.wobble[1], Y / scale, X / scale)
        else:
            Xl, Yl = np.broadcast_to(X, (self.size, self.size)), np.broadcast_to(Y, (self.size, self.size))
        tx, ty = Xl / ppt, Yl / ppt
        col = np.clip(np.floor(tx).astype(np.int64) + PAD, 0, self.slots.shape[1] - 1)
        row = np.clip(np.floor(ty).astype(np.int64), 0, self.slots.shape[0] - 1)
        slot = self.slots[row, col]
        u = np.minimum(((tx - np.floor(tx)) * tp).astype(np.int64), tp - 1)
        v = np.minimum(((ty - np.floor(ty)) * tp).astype(np.int64), tp - 1)
        tex = self.atlas[slot, v, u]  # (H, W, 4)
        a = tex[..., 3:]
        frame *= 1 - a
        frame += tex[..., :3] * a
        kind = np.where(a[..., 0] > 0.5, _SLOT_KIND[slot], 0)
        labels[kind > 0] = TERRAIN
        if not (s.line_art or self.stroke):
            return
        pressure = 0.85 + 0.15 * D.eval_waves(self.pressure, Y / (2 * ppt), X / (2 * ppt))
        if s.line_art and s.tiles != "blank":
            depth = self.depth[row, col] + (ty - np.floor(ty))
            lines = _hatch(s.tiles, X, Y, self.hatch_period, max(1.0, self.stroke * 0.6))
            hatch = lines & (kind == 1) & (depth < self.hatch_depth)
            D.over(frame, s.ink, hatch * self.hatch_alpha * pressure)
        if self.stroke:
            D.over(frame, s.ink, _edges(kind, self.stroke) * pressure)

    def _sprites(self, frame, labels, game, cam_x: int) -> None:
        sp, ppt, lv, t = self.sprites, self.ppt, self.level, game.t
        goal = sp.goal
        gcol = min(int(lv.goal_x), lv.cols - 1)
        ground_y = lv.rows - max(int(lv.heights[gcol]), 1)
        _blit(frame, labels, goal, lv.goal_x * ppt - cam_x + 0.2 * goal.shape[1], ground_y * ppt - self.cam_y, GOAL)
        margin = 2 * goal.shape[1]
        if len(lv.coins):
            near = np.abs(lv.coins[:, 0] * ppt - cam_x - self.size / 2) < self.size / 2 + margin
            for i in np.nonzero(near & ~game.coins_taken)[0]:
                cx, cy = lv.coins[i]
                img = sp.coin[(t // 3 + i) % 4]
                _blit(frame, labels, img, cx * ppt - cam_x, cy * ppt - self.cam_y + img.shape[0] / 2, COIN)
        for e in lv.enemies:
            if e.alive and abs(e.x * ppt - cam_x - self.size / 2) < self.size / 2 + margin:
                img = (sp.flyer[(t // 3) % 2] if e.flying else sp.enemy[(t // 4) % 2])
                img = img[:, ::-1] if e.vx < 0 else img
                _blit(frame, labels, img, e.x * ppt - cam_x, e.y * ppt - self.cam_y, ENEMY)
        img = sp.player[game.pose]
        img = img[:, ::-1] if game.facing < 0 else img
        _blit(frame, labels, img, game.x * ppt - cam_x, game.y * ppt - self.cam_y, PLAYER)


def _hatch(kind: str, X, Y, period: float, width: float) -> np.ndarray:
    """Fill strokes in world pixels: diagonal hatching, cross-hatching, stipple, or crayon scribble."""
    if kind == "crosshatch":
        return ((X - Y) % period < width) | ((X + Y) % period < width)
    if kind == "stipple":
        h = (X.astype(np.int64) * 73856093) ^ (Y.astype(np.int64) * 19349663)
        return (h % 11) == 0
    if kind == "scribble":
        return (Y + period * 0.5 * np.sin(X * (2.4 / period))) % period < width
    return (X - Y) % period < width


def _edges(kind: np.ndarray, width: int) -> np.ndarray:
    """Pixels of a terrain kind within `width` pixels of a different kind (the inner edge), as 0/1."""
    k = np.pad(kind, width, mode="edge")
    h, w = kind.shape
    edge = np.zeros(kind.shape, bool)
    for d in range(1, width + 1):
        for dy, dx in ((d, 0), (-d, 0), (0, d), (0, -d)):
            edge |= k[width + dy:width + dy + h, width + dx:width + dx + w] != kind
    return (edge & (kind > 0)).astype(np.float32)


def _blit(frame, labels, img: np.ndarray, x: float, y: float, label: int) -> None:
    """Composite a premultiplied RGBA sprite with its bottom-centre at pixel (x, y)."""
    h, w = img.shape[:2]
    x0, y0 = int(round(x - w / 2)), int(round(y - h))
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + w, frame.shape[1]), min(y0 + h, frame.shape[0])
    if fx0 >= fx1 or fy0 >= fy1:
        return
    part = img[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    a = part[..., 3:]
    region = frame[fy0:fy1, fx0:fx1]
    region *= 1 - a
    region += part[..., :3]
    labels[fy0:fy1, fx0:fx1][a[..., 0] > 0.5] = label
