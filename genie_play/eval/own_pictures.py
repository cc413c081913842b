"""Pictures the world never saw: six prompts drawn here, in looks the game's generator never makes.

The bundled prompts come from the built-in world or were drawn in its manner, so they cannot say
whether the keys still mean something on a player's own picture. These can: a bright 16-bit
screenshot, a photo-like cave, a ballpoint doodle on lined paper, a thick-marker drawing, an
8-bit forest and a sunset in silhouettes, each at a screenshot's size (the game fits it to the
model). The shipped keymap is tested on them (tests/test_shipped_model.py) and the model card
shows them played (assets/make_own_pictures.py).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def _pen(draw: ImageDraw.ImageDraw, rng: np.random.Generator, points, fill, width: int, shake: float = 2.0) -> None:
    """A hand-drawn line through `points`: each point moved a little, as a hand would."""
    draw.line([(x + rng.normal(0, shake), y + rng.normal(0, shake)) for x, y in points], fill=fill, width=width,
              joint="curve")


def plumber() -> Image.Image:
    """A bright 16-bit platformer screenshot: bricks, a pipe, floating blocks, a hero (320x240)."""
    im = Image.new("RGB", (320, 240), (92, 148, 252))
    d = ImageDraw.Draw(im)
    for x in (60, 210):  # clouds
        d.ellipse((x, 30, x + 60, 55), fill="white")
        d.ellipse((x + 20, 20, x + 50, 50), fill="white")
    for y in (208, 224):
        for x in range(0, 320, 16):
            d.rectangle((x, y, x + 15, y + 15), fill=(200, 76, 12), outline=(60, 20, 0))
    d.rectangle((230, 160, 262, 207), fill=(0, 168, 0), outline=(0, 60, 0), width=2)
    d.rectangle((224, 150, 268, 166), fill=(0, 190, 0), outline=(0, 60, 0), width=2)
    for x in (110, 126, 142):
        d.rectangle((x, 130, x + 15, 145), fill=(240, 180, 40), outline=(120, 60, 0))
    d.rectangle((60, 176, 75, 191), fill=(220, 0, 0))
    d.rectangle((60, 192, 75, 207), fill=(30, 60, 200))
    d.ellipse((62, 166, 74, 178), fill=(250, 200, 160))
    return im


def cave_photo() -> Image.Image:
    """A photo-like cave: smooth noise for rock, soft light, a small figure and a lamp (320x240)."""
    rng = np.random.default_rng(1)
    h, w = 240, 320
    grain = np.asarray(Image.fromarray((rng.random((h // 8, w // 8)) * 255).astype(np.uint8))
                       .resize((w, h), Image.BICUBIC)) / 255.0  # (h, w) in [0, 1]
    img = np.linspace(20, 70, h)[:, None, None] * np.array([0.8, 0.9, 1.2]) + 40 * grain[..., None]
    ground = 180 + (10 * np.sin(np.arange(w) / 23)).astype(int)
    for x in range(w):
        img[ground[x]:, x] = np.array([90, 70, 50]) + 50 * grain[ground[x]:, x, None]
    im = Image.fromarray(img.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))
    d = ImageDraw.Draw(im)
    d.ellipse((140, 150, 156, 166), fill=(255, 220, 120))
    d.rectangle((142, 164, 154, 182), fill=(200, 160, 90))
    d.ellipse((250, 60, 270, 80), fill=(255, 200, 80))
    return im


def notebook() -> Image.Image:
    """A ballpoint doodle on lined paper: a wavy ground, a stick figure, a tree, a sun (400x300)."""
    rng = np.random.default_rng(2)
    im = Image.new("RGB", (400, 300), (236, 234, 226))
    d = ImageDraw.Draw(im)
    for y in range(20, 300, 22):
        d.line((0, y, 400, y), fill=(170, 190, 230), width=1)
    d.line((40, 0, 40, 300), fill=(230, 140, 140), width=1)
    ink = (30, 40, 120)
    _pen(d, rng, [(x, 230 + 12 * np.sin(x / 50)) for x in range(0, 401, 20)], ink, 3)
    d.ellipse((110, 150, 130, 170), outline=ink, width=3)  # the figure: head, body, arms, legs
    for line in ([(120, 200), (120, 170)], [(105, 185), (135, 180)], [(120, 200), (110, 222)], [(120, 200), (132, 222)]):
        _pen(d, rng, line, ink, 3)
    d.ellipse((300, 30, 350, 80), outline=ink, width=3)
    _pen(d, rng, [(250, 230), (250, 150)], ink, 4)
    d.ellipse((215, 90, 285, 160), outline=ink, width=3)
    return im


def marker() -> Image.Image:
    """Thick black marker on white: a hill, a tower, a ball (300x300)."""
    rng = np.random.default_rng(3)
    im = Image.new("RGB", (300, 300), "white")
    d = ImageDraw.Draw(im)
    _pen(d, rng, [(0, 250), (80, 240), (150, 200), (220, 230), (300, 220)], "black", 9, shake=3)
    d.rectangle((200, 150, 250, 215), outline="black", width=8)
    d.polygon([(195, 150), (225, 110), (255, 150)], outline="black", width=8)
    d.ellipse((60, 190, 90, 220), outline="black", width=7)
    return im


def pixel_forest() -> Image.Image:
    """An 8-bit forest: round hills, grass tiles, triangle trees, a ledge, a yellow hero (256x224)."""
    im = Image.new("RGB", (256, 224), (150, 210, 255))
    d = ImageDraw.Draw(im)
    d.ellipse((-40, 120, 120, 260), fill=(60, 160, 60))
    d.ellipse((100, 130, 300, 280), fill=(80, 180, 70))
    for x in range(0, 256, 16):
        d.rectangle((x, 192, x + 15, 223), fill=(120, 80, 40))
        d.rectangle((x, 192, x + 15, 197), fill=(60, 200, 60))
    for x in (30, 170, 215):
        d.polygon([(x, 190), (x + 12, 150), (x + 24, 190)], fill=(20, 110, 40))
    d.rectangle((100, 170, 113, 191), fill=(250, 220, 0))
    d.rectangle((104, 174, 106, 176), fill="black")
    d.rectangle((140, 140, 187, 147), fill=(160, 100, 60))
    return im


def sunset() -> Image.Image:
    """Silhouettes against a dusk gradient: the ground, a ledge, a figure, the sun (320x240)."""
    h, w = 240, 320
    t = np.linspace(0, 1, h)[:, None, None]
    sky = (1 - t) * np.array([120, 60, 160]) + t * np.array([255, 150, 60])
    im = Image.fromarray(np.broadcast_to(sky, (h, w, 3)).astype(np.uint8))
    d = ImageDraw.Draw(im)
    shade = (20, 10, 30)
    d.ellipse((200, 120, 260, 180), fill=(255, 230, 120))
    d.rectangle((0, 200, 320, 240), fill=shade)
    d.rectangle((90, 150, 170, 160), fill=shade)
    d.rectangle((40, 176, 52, 199), fill=shade)
    d.ellipse((38, 164, 54, 180), fill=shade)
    return im


PICTURES: dict[str, Callable[[], Image.Image]] = {
    "plumber": plumber, "cave_photo": cave_photo, "notebook": notebook,
    "marker": marker, "pixel_forest": pixel_forest, "sunset": sunset,
}


def own_picture(name: str) -> np.ndarray:
    """One of PICTURES as an RGB uint8 array at its drawn size."""
    return np.asarray(PICTURES[name]())
