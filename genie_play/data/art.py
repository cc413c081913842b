"""Backdrops and terrain textures for a style, drawn once per episode at the frame's resolution.

A backdrop is two periodic panoramas scrolled at different speeds (parallax): an opaque far
layer and a near layer with alpha. Terrain textures form an atlas indexed by tile kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genie_play.data import draw as D
from genie_play.data.styles import Style

SS = 2  # supersampling for backdrops
TEX_SS = 4  # supersampling for tile textures (they are only a few pixels across)
# Atlas slots: what a tile looks like. The renderer maps tile ids (and "surface" tiles) to slots.
AIR, FILL, SURFACE, CRATE, SLAB = range(5)


@dataclass
class Backdrop:
    far: np.ndarray  # (H, P, 3) float32, opaque, periodic in x
    near: np.ndarray  # (H, P, 3) float32
    near_alpha: np.ndarray  # (H, P) float32
    far_speed: float  # parallax: pixels the layer scrolls per pixel of camera motion
    near_speed: float


def _wdx(x, cx, period):
    """Horizontal offset from cx on a panorama that wraps every `period` pixels."""
    return (x - cx + period / 2) % period - period / 2


def _gradient(y, h, top, bottom, width):
    t = np.clip(y / h, 0, 1)[..., None]
    return np.broadcast_to(D.rgb(top) * (1 - t) + D.rgb(bottom) * t, (y.shape[0], width, 3)).copy()


def backdrop(style: Style, size: int, rng: np.random.Generator) -> Backdrop:
    """Both parallax layers of the style's background kind at `size` pixels high."""
    h, period = size, 2 * size
    y, x = D.grid(h, period, SS)
    u = size / 64  # stroke widths and details scale with the frame
    near = np.zeros((h * SS, period * SS, 3), np.float32)
    alpha = np.zeros((h * SS, period * SS), np.float32)
    kind = style.background
    far = _gradient(y, h, style.sky, style.sky2, period * SS)
    if kind == "sky":
        if rng.random() < 0.5:
            sun = D.sd_circle(y, _wdx(x, rng.uniform(0, period), period), rng.uniform(0.1, 0.3) * h, 0, 0.07 * h)
            D.over(far, D.mix(style.sky2, (255, 245, 200), 0.8), D.inside(sun))
        _clouds(far, y, x, rng, h, period, D.mix(style.sky2, (255, 255, 255), 0.85))
        D.over(far, style.far, (y > h * (0.55 + 0.12 * D.hills(rng, period)(x))).astype(np.float32))
        ridge_f = D.hills(rng, period)
        alpha[:] = y > h * (0.72 + 0.1 * ridge_f(x))
        near[:] = _gradient(y, h, D.shade(style.near, 1.1), D.shade(style.near, 0.7), period * SS)
        for _ in range(int(rng.integers(3, 8))):  # bushes along the ridge
            cx = rng.uniform(0, period)
            cy = h * (0.72 + 0.1 * ridge_f(np.float32(cx)))
            bush = D.inside(D.sd_circle(y, _wdx(x, cx, period), cy, 0, rng.uniform(2, 5) * u))
            D.over(near, D.shade(style.near, 0.75), bush)
            alpha = np.maximum(alpha, bush)
    elif kind == "night":
        stars = (rng.random(far.shape[:2]) < 0.004 / SS) * rng.uniform(0.5, 1, far.shape[:2])
        D.over(far, (255, 255, 235), stars.astype(np.float32))
        mx, my, r = rng.uniform(0, period), rng.uniform(0.12, 0.3) * h, rng.uniform(0.05, 0.08) * h
        moon = D.sd_circle(y, _wdx(x, mx, period), my, 0, r)
        bite = D.sd_circle(y, _wdx(x, mx + r * rng.uniform(0.3, 0.8), period), my - r * 0.3, 0, r)
        D.over(far, (245, 240, 210), D.inside(np.maximum(moon, -bite if rng.random() < 0.5 else moon)))
        D.over(far, style.far, (y > h * (0.5 + 0.12 * D.hills(rng, period)(x))).astype(np.float32))
        near[:] = D.rgb(style.near)
        if rng.random() < 0.5:
            _skyline(near, alpha, y, x, rng, h, period, u, style.near)
        else:  # pine forest
            for _ in range(int(rng.integers(8, 16))):
                cx, top, w = rng.uniform(0, period), rng.uniform(0.5, 0.75) * h, rng.uniform(0.05, 0.1) * h
                pine = D.sd_polygon(y, _wdx(x, cx, period), [(top, 0), (h, w), (h, -w)])
                alpha = np.maximum(alpha, D.inside(pine))
    elif kind == "cave":
        rock = D.fractal_noise(rng, h * SS, period * SS, h * SS / 3)
        far = D.ramp(rock, [D.shade(style.sky, 0.7), style.sky, style.sky2])
        near[:] = D.ramp(D.fractal_noise(rng, h * SS, period * SS, h * SS / 6), [D.shade(style.near, 0.7), style.near])
        for _ in range(int(rng.integers(6, 12))):
            cx, w, length = rng.uniform(0, period), rng.uniform(0.03, 0.08) * h, rng.uniform(0.15, 0.45) * h
            up = rng.random() < 0.5  # a stalactite from the ceiling or a stalagmite from the floor
            y0, tip = (0.0, length) if up else (float(h), h - length)
            spike = D.sd_polygon(y, _wdx(x, cx, period), [(y0, -w), (y0, w), (tip, 0)])
            alpha = np.maximum(alpha, D.inside(spike))
    elif kind == "pattern":
        far = _wallpaper(y, x, rng, h, period, style.sky, style.sky2)
    elif kind == "photo":
        clouds = D.fractal_noise(rng, h * SS, period * SS, h * SS / 2, octaves=5)
        D.over(far, D.mix(style.sky2, (255, 255, 255), 0.7), np.clip((clouds - 0.45) * 2.5, 0, 1) * (1 - y / h))
        horizon = h * (0.5 + 0.08 * D.hills(rng, period, n=5)(x))
        field = D.fractal_noise(rng, h * SS, period * SS, h * SS / 4, octaves=5)
        land = D.ramp(np.clip(field * 0.6 + (y / h) * 0.5, 0, 1), [style.far, style.near, D.shade(style.near, 0.6)])
        D.over(far, land, (y > horizon).astype(np.float32))
        brush = D.fractal_noise(rng, h * SS, period * SS, h * SS / 5, octaves=5)
        near[:] = D.ramp(brush, [D.shade(style.near, 0.4), D.shade(style.near, 0.9)])
        alpha[:] = np.clip((brush + (y / h - 0.8) * 2.5 - 0.5) * 6, 0, 1)
        far += rng.normal(0, 4, far.shape[:2])[..., None].astype(np.float32)  # film grain
    elif kind == "paper":
        far[:] = D.rgb(style.paper)
        _paper_lines(far, y, x, rng, h, period, style, u)
        _sketch_scenery(near, alpha, y, x, rng, h, period, style, u)
    elif kind == "neon":
        _neon(far, near, alpha, y, x, rng, h, period, style, u)
    far = D.downsample(far, SS)
    return Backdrop(far, D.downsample(near, SS), D.downsample(alpha, SS),
                    far_speed=float(rng.uniform(0.2, 0.35)), near_speed=float(rng.uniform(0.5, 0.7)))


def _clouds(canvas, y, x, rng, h, period, color):
    for _ in range(int(rng.integers(2, 6))):
        cx, cy, r = rng.uniform(0, period), rng.uniform(0.08, 0.4) * h, rng.uniform(0.04, 0.08) * h
        d = np.full(canvas.shape[:2], np.inf, np.float32)
        for k in range(int(rng.integers(3, 5))):
            d = np.minimum(d, D.sd_circle(y, _wdx(x, cx + (k - 1.5) * r * 1.1, period), cy + rng.uniform(-0.3, 0.3) * r, 0, r * rng.uniform(0.7, 1.2)))
        D.over(canvas, color, D.inside(d) * 0.9)


def _skyline(near, alpha, y, x, rng, h, period, u, color):
    lights = D.mix(color, (255, 220, 120), 0.8)
    cx = 0.0
    while cx < period:
        w, top = rng.uniform(0.08, 0.2) * h, rng.uniform(0.35, 0.7) * h
        dx = _wdx(x, cx + w / 2, period)
        body = (np.abs(dx) < w / 2) & (y > top)
        alpha[:] = np.maximum(alpha, body)
        step = 4 * u
        window = body & ((dx + w / 2) % step < step / 2) & ((y - top) % step < step / 2) & (y > top + step / 2)
        lit = rng.random() < 0.7
        D.over(near, lights, (window & lit & ((np.floor((dx + w) / step) * 7 + np.floor(y / step) * 3) % 5 < 2)).astype(np.float32))
        cx += w + rng.uniform(0, 0.05) * h


def _wallpaper(y, x, rng, h, period, a, b):
    cell = h / int(rng.integers(4, 9))
    kind = rng.choice(["stripes", "checker", "dots", "chevron", "waves", "plaid"])
    if kind == "stripes":
        m = ((x + y) / cell) % 1 < 0.5
    elif kind == "checker":
        m = ((np.floor(x / cell) + np.floor(y / cell)) % 2) == 0
    elif kind == "dots":
        m = D.sd_circle((y % cell), (x % cell), cell / 2, cell / 2, cell * 0.28) < 0
    elif kind == "chevron":
        m = ((y + np.abs((x % cell) - cell / 2)) / cell) % 1 < 0.5
    elif kind == "waves":
        m = ((y + cell * 0.3 * np.sin(2 * np.pi * x / cell)) / cell) % 1 < 0.5
    else:
        m = (((x / cell) % 1 < 0.25) | ((y / cell) % 1 < 0.25))
    out = D.fill(y.shape[0], x.shape[1], a)
    return D.over(out, b, np.broadcast_to(m, out.shape[:2]).astype(np.float32))


def _paper_lines(far, y, x, rng, h, period, style, u):
    """Ruled or squared paper, or plain paper with grain: the page the sketch is drawn on."""
    kind = rng.choice(["plain", "ruled", "grid", "dots"])
    line = D.mix(style.paper, (90, 140, 210), 0.35)
    gap = h / int(rng.integers(6, 11))
    if kind == "ruled":
        D.over(far, line, (np.abs((y % gap) - gap / 2) < 0.5).astype(np.float32) * np.ones_like(x))
        D.over(far, (220, 90, 90), (np.abs(_wdx(x, rng.uniform(0, period), period)) < 0.5).astype(np.float32) * np.ones_like(y) * 0.6)
    elif kind == "grid":
        g = (np.abs((y % gap) - gap / 2) < 0.4) | (np.abs((x % gap) - gap / 2) < 0.4)
        D.over(far, line, g.astype(np.float32) * 0.7)
    elif kind == "dots":
        D.over(far, line, (D.sd_circle(y % gap, x % gap, gap / 2, gap / 2, 0.7 * u) < 0).astype(np.float32))
    far += rng.normal(0, 3.0, far.shape[:2])[..., None].astype(np.float32)  # paper grain


def _sketch_scenery(near, alpha, y, x, rng, h, period, style, u):
    """Pencil-drawn hills, sun and clouds: strokes only, wobbly and uneven in pressure."""
    ink = D.mix(style.ink, style.paper, 0.45)  # fainter than the level's lines, which must stand out
    near[:] = D.rgb(ink)
    width = max(style.outline * 0.7, 1.0) * u
    wob = D.waves(rng, 3)
    pressure = 0.65 + 0.35 * D.eval_waves(D.waves(rng, 2), y / (3 * u), x / (3 * u))
    f = D.hills(rng, period)
    strokes = D.band(y - h * (0.7 + 0.1 * f(x)) + 1.2 * u * D.eval_waves(wob, 0, x / (5 * u)), width)
    if rng.random() < 0.6:
        cx, cy, r = rng.uniform(0, period), rng.uniform(0.12, 0.25) * h, rng.uniform(0.05, 0.08) * h
        dx = _wdx(x, cx, period)
        sun = D.sd_circle(y, dx, cy, 0, r) + u * 0.6 * D.eval_waves(wob, y / (4 * u), dx / (4 * u))
        strokes = np.maximum(strokes, D.band(sun, width))
        for k in range(8):  # rays
            a = k * np.pi / 4 + rng.uniform(-0.2, 0.2)
            ray = D.sd_segment(y, dx, cy + np.sin(a) * r * 1.4, np.cos(a) * r * 1.4, cy + np.sin(a) * r * 2, np.cos(a) * r * 2, width / 2)
            strokes = np.maximum(strokes, D.inside(ray))
    for _ in range(int(rng.integers(1, 4))):
        cx, cy, r = rng.uniform(0, period), rng.uniform(0.1, 0.35) * h, rng.uniform(0.035, 0.06) * h
        d = np.full(alpha.shape, np.inf, np.float32)
        for k in range(3):
            d = np.minimum(d, D.sd_circle(y, _wdx(x, cx + (k - 1) * r * 1.2, period), cy - (k == 1) * r * 0.5, 0, r))
        strokes = np.maximum(strokes, D.band(d + u * 0.5 * D.eval_waves(wob, y / (3 * u), x / (3 * u)), width))
    alpha[:] = strokes * np.clip(pressure, 0, 1)


def _neon(far, near, alpha, y, x, rng, h, period, style, u):
    """Synthwave: a striped sun on the horizon, a perspective grid floor, outlined mountains."""
    horizon = h * rng.uniform(0.55, 0.65)
    cx = rng.uniform(0, period)
    dx = _wdx(x, cx, period)
    sun = D.sd_circle(y, dx, horizon - 0.02 * h, 0, 0.2 * h)
    stripes = (y > horizon - 0.12 * h) & (((y - horizon) / (0.025 * h)) % 1 < 0.35)
    sun_col = D.ramp(np.clip((y - (horizon - 0.22 * h)) / (0.22 * h), 0, 1), [(255, 230, 90), (255, 60, 150)])
    D.over(far, np.broadcast_to(sun_col, far.shape).copy(), D.inside(sun) * (~stripes) * (y < horizon))
    floor = y >= horizon
    D.over(far, D.shade(style.sky, 0.8), floor.astype(np.float32))
    depth = (y - horizon) / (h - horizon)
    lines = np.zeros(far.shape[:2], bool)
    for k in range(1, 7):
        lines |= np.abs(y - (horizon + (h - horizon) * (k / 6) ** 1.8)) < 0.5 * u
    spacing = 0.35 * h  # vertical grid lines: evenly spaced on the floor, converging to the sun
    lines |= np.abs((dx / np.maximum(depth, 1e-3) + spacing / 2) % spacing - spacing / 2) * depth < 0.6 * u
    D.over(far, style.far, (lines & floor).astype(np.float32) * 0.4)
    near[:] = D.rgb(D.mix(style.ink, style.sky, 0.5))
    ridge = horizon - h * (0.12 + 0.08 * D.hills(rng, period)(x))
    alpha[:] = D.band(y - ridge, max(style.outline, 1.0) * u) * (y < horizon)


# --- terrain textures -------------------------------------------------------------------------


def tile_atlas(style: Style, tp: int, rng: np.random.Generator) -> np.ndarray:
    """Textures for the atlas slots at tp×tp pixels: (5, tp, tp, 4) float32 RGBA."""
    n = tp * TEX_SS
    v, uu = D.grid(n, n, 1, unit=n)  # coordinates in [0, 1) across the tile
    v, uu = np.broadcast_to(v, (n, n)), np.broadcast_to(uu, (n, n))
    atlas = np.zeros((5, n, n, 4), np.float32)
    atlas[:, ..., 3] = 1.0
    atlas[AIR, ..., 3] = 0.0
    if style.line_art:
        for slot in (FILL, SURFACE, CRATE):
            atlas[slot, ..., :3] = D.rgb(style.paper)
        if style.ground_top != style.ground:  # grass tufts along the surface, drawn in colour
            tufts = (v < 0.25 + 0.12 * np.sin(uu * 6 * np.pi)) & ((uu * 5) % 1 < 0.4)
            D.over(atlas[SURFACE, ..., :3], style.ground_top, tufts.astype(np.float32))
        cross = np.minimum(np.abs(v - uu), np.abs(v + uu - 1)) < 0.06  # a crate drawn as a box with an X
        D.over(atlas[CRATE, ..., :3], style.block, cross.astype(np.float32))
        atlas[SLAB, ..., :3] = D.rgb(style.paper)
    else:
        base = _filled(style.tiles, v, uu, rng, style.ground)
        atlas[FILL, ..., :3] = base
        atlas[SURFACE, ..., :3] = base
        edge = 0.3 + 0.07 * np.sin(uu * 2 * np.pi * rng.integers(1, 4) + rng.uniform(0, 6))
        D.over(atlas[SURFACE, ..., :3], _filled("plain", v, uu, rng, style.ground_top) if style.tiles != "grass"
               else D.fill(n, n, style.ground_top), (v < edge).astype(np.float32))
        atlas[CRATE, ..., :3] = _filled(str(rng.choice(["crate", "plain", "bricks"])), v, uu, rng, style.block)
        atlas[SLAB, ..., :3] = _filled("plain", v, uu, rng, style.block)
    atlas[SLAB, ..., 3] = (v < 0.4).astype(np.float32)  # one-way platforms are thin slabs
    return D.downsample(atlas.transpose(1, 2, 0, 3), TEX_SS).transpose(2, 0, 1, 3)


def _filled(kind: str, v, u, rng, color) -> np.ndarray:
    """One filled texture of `color`; v, u are in-tile coordinates in [0, 1)."""
    n = v.shape[0]
    img = D.fill(n, n, color)
    dark, light = D.shade(color, 0.7), D.shade(color, 1.25)
    if kind in ("plain", "crate"):
        D.over(img, light, ((v < 0.12) | (u < 0.12)).astype(np.float32))
        D.over(img, dark, ((v > 0.88) | (u > 0.88)).astype(np.float32))
        if kind == "crate":
            D.over(img, dark, ((np.minimum(np.abs(v - u), np.abs(v + u - 1)) < 0.07) & (np.maximum(np.abs(v - 0.5), np.abs(u - 0.5)) < 0.38)).astype(np.float32))
    elif kind == "bricks":
        row = np.floor(v * 2)
        mortar = ((v * 2) % 1 < 0.12) | (((u + row * 0.5) * 2) % 1 < 0.08)
        D.over(img, D.shade(color, 0.55), mortar.astype(np.float32))
    elif kind in ("rock", "noise", "grass"):
        cell = {"rock": n / 2.5, "noise": n / 6, "grass": n / 4}[kind]
        noise = D.fractal_noise(rng, n, n, cell, octaves=3, wrap_x=False)
        img[:] = D.ramp(noise, [dark, color, light] if kind != "grass" else [D.shade(color, 0.85), color])
        if kind == "rock":
            D.over(img, D.shade(color, 0.5), (np.abs(noise - 0.5) < 0.03).astype(np.float32))
    elif kind == "checker":
        D.over(img, dark, ((np.floor(v * 2) + np.floor(u * 2)) % 2 == 0).astype(np.float32))
    elif kind == "stripes":
        D.over(img, dark, (((u + v) * 2) % 1 < 0.5).astype(np.float32))
    elif kind == "dots":
        D.over(img, light, D.inside(D.sd_circle(v % 0.5, u % 0.5, 0.25, 0.25, 0.12)))
    return img
