"""Drawing primitives for the procedural world: signed distances, noise, colour, compositing.

Art is drawn from signed distance functions (negative inside) on a supersampled grid and then
box-filtered down, so shapes are anti-aliased at any frame size and outlines are bands of |sdf|.
Images are float32 RGB in [0, 255] until the renderer converts a finished frame to uint8.
"""

from __future__ import annotations

import colorsys
from typing import Callable

import numpy as np

Color = tuple[int, int, int]


# --- colour -----------------------------------------------------------------------------------


def hsv(h: float, s: float, v: float) -> Color:
    """An RGB colour from hue (wraps), saturation and value in [0, 1]."""
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def mix(a: Color, b: Color, t: float) -> Color:
    return tuple(round(x * (1 - t) + y * t) for x, y in zip(a, b))


def shade(c: Color, k: float) -> Color:
    """Darker (k < 1) or lighter (k > 1, towards white) version of a colour."""
    if k <= 1:
        return tuple(round(x * k) for x in c)
    return mix(c, (255, 255, 255), min(k - 1, 1.0))


def luma(c: Color) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def rgb(c) -> np.ndarray:
    return np.asarray(c, dtype=np.float32)


# --- canvases ---------------------------------------------------------------------------------


def grid(h: int, w: int, ss: int = 1, unit: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x) of an h×w canvas sampled ss× per pixel, divided by `unit`."""
    ys = ((np.arange(h * ss, dtype=np.float32) + 0.5) / ss / unit)[:, None]
    xs = ((np.arange(w * ss, dtype=np.float32) + 0.5) / ss / unit)[None, :]
    return ys, xs  # broadcastable (h*ss, 1) and (1, w*ss)


def downsample(img: np.ndarray, ss: int) -> np.ndarray:
    """Box-filter a supersampled (H*ss, W*ss, ...) image down to (H, W, ...)."""
    if ss == 1:
        return img
    h, w = img.shape[0] // ss, img.shape[1] // ss
    return img.reshape(h, ss, w, ss, *img.shape[2:]).mean(axis=(1, 3))


def fill(h: int, w: int, color: Color) -> np.ndarray:
    return np.broadcast_to(rgb(color), (h, w, 3)).copy()


def over(canvas: np.ndarray, color, coverage: np.ndarray) -> np.ndarray:
    """Paint `color` (a colour or an image) onto `canvas` in place, weighted by coverage in [0, 1]."""
    a = np.asarray(coverage, dtype=np.float32)[..., None]
    canvas *= 1 - a
    canvas += a * (rgb(color) if not isinstance(color, np.ndarray) else color)
    return canvas


def inside(sdf: np.ndarray) -> np.ndarray:
    return (sdf < 0).astype(np.float32)


def band(sdf: np.ndarray, width: float) -> np.ndarray:
    """A stroke of total `width` centred on the shape's edge."""
    return (np.abs(sdf) < width / 2).astype(np.float32)


# --- signed distances (negative inside) -------------------------------------------------------


def sd_circle(y, x, cy, cx, r):
    return np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r


def sd_ellipse(y, x, cy, cx, ry, rx):
    # Not exact, but close near the edge, which is all that fills and strokes need.
    return (np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) - 1) * min(rx, ry)


def sd_box(y, x, cy, cx, hh, hw, r=0.0):
    """Rounded box centred at (cy, cx) with half sizes (hh, hw) and corner radius r."""
    qx = np.abs(x - cx) - (hw - r)
    qy = np.abs(y - cy) - (hh - r)
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0) - r


def sd_segment(y, x, ay, ax, by, bx, r):
    """Capsule: the segment a-b thickened by radius r."""
    px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
    t = np.clip((px * dx + py * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
    return np.sqrt((px - t * dx) ** 2 + (py - t * dy) ** 2) - r


def sd_polygon(y, x, points):
    """Convex polygon [(y, x), ...] in either winding order; exact inside and on the edges."""
    n = len(points)
    area = sum(points[i][1] * points[(i + 1) % n][0] - points[(i + 1) % n][1] * points[i][0] for i in range(n))
    if area < 0:  # make the winding clockwise on screen (y down), which the edge test below assumes
        points = points[::-1]
    d = None
    for i in range(n):
        (ay, ax), (by, bx) = points[i], points[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        length = max((ex * ex + ey * ey) ** 0.5, 1e-9)
        # Signed distance to the edge's line, positive on the outer side of a clockwise (y-down) polygon.
        side = ((x - ax) * ey - (y - ay) * ex) / length
        d = side if d is None else np.maximum(d, side)
    return d


def sd_star(y, x, cy, cx, r, points=5, inner=0.45):
    """A star as the union of triangles from the centre to each pair of neighbouring tips."""
    angles = -np.pi / 2 + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, r, r * inner)
    verts = [(cy + rr * np.sin(a), cx + rr * np.cos(a)) for a, rr in zip(angles, radii)]
    d = None
    for i in range(0, 2 * points, 2):
        tri = [(cy, cx), verts[i - 1], verts[i], verts[(i + 1) % (2 * points)]]
        part = np.minimum(sd_polygon(y, x, [tri[0], tri[1], tri[2]]), sd_polygon(y, x, [tri[0], tri[2], tri[3]]))
        d = part if d is None else np.minimum(d, part)
    return d


# --- noise ------------------------------------------------------------------------------------


def value_noise(rng: np.random.Generator, h: int, w: int, cell: float, wrap_x: bool = True) -> np.ndarray:
    """Smooth noise in [0, 1] with features about `cell` pixels across; periodic in x when wrap_x."""
    gh = int(np.ceil(h / cell)) + 2
    gw = max(int(round(w / cell)), 1) if wrap_x else int(np.ceil(w / cell)) + 2
    g = rng.random((gh, gw), dtype=np.float32)
    ys = np.arange(h, dtype=np.float32) / cell
    xs = np.arange(w, dtype=np.float32) * (gw / w if wrap_x else 1 / cell)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    ty, tx = ys - y0, xs - x0
    ty, tx = (ty * ty * (3 - 2 * ty))[:, None], (tx * tx * (3 - 2 * tx))[None, :]  # smoothstep
    x1 = (x0 + 1) % gw if wrap_x else x0 + 1
    a, b = g[y0][:, x0], g[y0][:, x1]
    c, d = g[y0 + 1][:, x0], g[y0 + 1][:, x1]
    return (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty


def fractal_noise(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 4, wrap_x: bool = True) -> np.ndarray:
    """Sum of value-noise octaves (each half the size and weight), normalised to [0, 1]."""
    total = np.zeros((h, w), np.float32)
    weight = 0.0
    for i in range(octaves):
        total += value_noise(rng, h, w, max(cell / 2**i, 1.0), wrap_x) * 0.5**i
        weight += 0.5**i
    total /= weight
    lo, hi = total.min(), total.max()
    return (total - lo) / max(hi - lo, 1e-6)


def ramp(t: np.ndarray, colors: list[Color]) -> np.ndarray:
    """Map values in [0, 1] through a piecewise-linear colour gradient: (...,) -> (..., 3)."""
    stops = np.linspace(0, 1, len(colors), dtype=np.float32)
    cols = np.asarray(colors, np.float32)
    return np.stack([np.interp(t, stops, cols[:, k]) for k in range(3)], axis=-1).astype(np.float32)


def waves(rng: np.random.Generator, n: int = 3) -> list[tuple[float, float, float, float]]:
    """Random plane waves (ky, kx, phase, weight) whose sum is a cheap smooth 2D noise field."""
    out = []
    for i in range(n):
        angle = rng.uniform(0, 2 * np.pi)
        k = rng.uniform(0.6, 1.6) * (1.7**i)
        out.append((k * np.sin(angle), k * np.cos(angle), rng.uniform(0, 2 * np.pi), 1 / (1 + i)))
    return out


def eval_waves(ws, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Sum of plane waves at (y, x) (any broadcastable shapes), scaled to about [-1, 1]."""
    total = 0.0
    for ky, kx, ph, w in ws:
        # sin(a + b) = sin a cos b + cos a sin b: for a column y and a row x, only outer products remain.
        a, b = ky * y + ph, kx * x
        total = total + w * (np.sin(a) * np.cos(b) + np.cos(a) * np.sin(b))
    return total / sum(w for *_, w in ws)


def hills(rng: np.random.Generator, period: int, n: int = 4) -> Callable[[np.ndarray], np.ndarray]:
    """A periodic height profile f(x) in [-1, 1] over `period` pixels (sum of integer-frequency sines)."""
    freqs = rng.choice(np.arange(1, 9), size=n, replace=False)
    phases = rng.uniform(0, 2 * np.pi, n)
    amps = 1 / freqs**0.7

    def f(x):
        s = sum(a * np.sin(2 * np.pi * k * x / period + p) for k, p, a in zip(freqs, phases, amps))
        return s / amps.sum()

    return f
