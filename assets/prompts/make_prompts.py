"""Regenerates the bundled prompts: built-in-world screenshots, held-out styles, and sketches.

    python assets/prompts/make_prompts.py

World screenshots come from genie_play.data (the procedural platformer, our own code); the
sketches are drawn here with a wobbly pen so they look hand-made. Same code, same pictures.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from genie_play.data.game import ACTIONS, Platformer
from genie_play.data.policy import ExplorerPolicy

HERE = Path(__file__).resolve().parent
SIZE = 256
# (file, style family, seed, steps played before the shot): seeds picked by eye for a clear scene
WORLD = [("default", "day", 15, 40), ("world-night", "night", 14, 40), ("world-cave", "cave", 2, 25),
         ("world-pattern", "pattern", 12, 40), ("world-pencil", "pencil", 12, 40), ("world-ink", "ink", 13, 40),
         ("heldout-crayon", "crayon", 12, 40), ("heldout-neon", "neon", 8, 30)]


def world_shot(family: str, seed: int, steps: int) -> np.ndarray:
    game = Platformer(seed=seed, style=family, size=SIZE)
    game.reset()
    policy = ExplorerPolicy(np.random.default_rng(seed))
    for _ in range(steps):
        game.advance(policy.act(game))
        if game.done:
            game.reset()
    return game.render()


def pen(draw: ImageDraw.ImageDraw, points, rng, width=4, fill=(30, 30, 40), wobble=1.6):
    """A hand-drawn line: resampled along the path with a little jitter."""
    pts = []
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(2, int(np.hypot(x1 - x0, y1 - y0) / 6))
        for t in np.linspace(0, 1, n, endpoint=False):
            pts.append((x0 + (x1 - x0) * t + rng.normal(0, wobble), y0 + (y1 - y0) * t + rng.normal(0, wobble)))
    pts.append(points[-1])
    draw.line(pts, fill=fill, width=width, joint="curve")


def circle(draw, cx, cy, r, rng, **kw):
    a = np.linspace(0, 2 * np.pi, 24)
    pen(draw, [(cx + r * np.cos(t), cy + r * np.sin(t)) for t in a], rng, **kw)


def stick_figure(draw, x, y, rng, color=(30, 30, 40)):
    circle(draw, x, y - 38, 8, rng, fill=color, width=3)
    pen(draw, [(x, y - 30), (x, y - 12)], rng, fill=color, width=3)
    pen(draw, [(x - 10, y - 24), (x, y - 20), (x + 10, y - 26)], rng, fill=color, width=3)
    pen(draw, [(x - 8, y), (x, y - 12), (x + 8, y)], rng, fill=color, width=3)


def sketch(kind: str, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (SIZE, SIZE), (250, 248, 240))
    d = ImageDraw.Draw(im)
    if kind == "hills":
        ground = [(0, 200), (60, 196), (110, 180), (150, 186), (200, 200), (256, 198)]
        pen(d, ground, rng)
        pen(d, [(150, 120), (210, 120)], rng)
        pen(d, [(150, 132), (210, 132)], rng, width=2)
        for cx in (165, 182, 199):
            circle(d, cx, 104, 5, rng, fill=(220, 160, 20), width=3)
        circle(d, 60, 50, 16, rng, fill=(240, 170, 30), width=3)
        pen(d, [(150, 50), (170, 38), (195, 44), (215, 40), (225, 54), (150, 50)], rng, width=2, fill=(90, 130, 200))
        stick_figure(d, 70, 194, rng)
    elif kind == "castle":
        pen(d, [(0, 210), (256, 210)], rng)
        for x0, y0 in ((40, 150), (120, 110), (190, 160)):
            pen(d, [(x0, y0), (x0 + 50, y0), (x0 + 50, y0 + 14), (x0, y0 + 14), (x0, y0)], rng, width=3)
        pen(d, [(210, 160), (210, 95)], rng, width=3)
        pen(d, [(210, 95), (238, 104), (210, 113)], rng, width=3, fill=(210, 50, 50))
        circle(d, 150, 196, 12, rng, fill=(120, 60, 160), width=3)
        pen(d, [(144, 192), (146, 192)], rng, width=3)
        pen(d, [(154, 192), (156, 192)], rng, width=3)
        stick_figure(d, 30, 208, rng)
    else:  # cave
        top = [(0, 40), (40, 58), (70, 44), (110, 70), (150, 50), (200, 66), (256, 44)]
        pen(d, top, rng)
        for x in (55, 130, 190):
            pen(d, [(x - 8, 56), (x, 86), (x + 8, 58)], rng, width=3)
        floor = [(0, 205), (80, 205), (90, 230), (130, 230), (140, 205), (256, 205)]
        pen(d, floor, rng)
        circle(d, 200, 180, 6, rng, fill=(220, 160, 20), width=3)
        stick_figure(d, 40, 203, rng)
    return im


def main():
    from genie_play.io import atomic_path

    for name, family, seed, steps in WORLD:
        with atomic_path(HERE / f"{name}.png") as tmp:
            Image.fromarray(world_shot(family, seed, steps)).save(tmp, format="PNG", optimize=True)
    for i, kind in enumerate(("hills", "castle", "cave")):
        with atomic_path(HERE / f"sketch-{kind}.png") as tmp:
            sketch(kind, i).save(tmp, format="PNG", optimize=True)
    print(f"wrote {len(WORLD) + 3} prompts to {HERE}")


if __name__ == "__main__":
    main()
