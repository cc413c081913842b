"""Style families: how an episode of the built-in world looks (never how it plays).

Every episode draws a new `Style` from one family: a palette, a backdrop, a terrain texture,
sprite shapes, colours and sizes, a zoom, and for line-art families paper, ink and jittered
strokes. Two families are held out of training so evaluation can measure how well the model
plays looks it has never seen (`data generate --split heldout`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from genie_play.data.draw import Color, hsv, mix, shade
from genie_play.errors import GenieError

BACKGROUNDS = ("sky", "night", "cave", "pattern", "photo", "paper", "neon")
FILLED_TILES = ("grass", "bricks", "rock", "plain", "checker", "stripes", "dots", "noise")
LINE_TILES = ("hatch", "crosshatch", "stipple", "scribble", "blank")
PLAYERS = ("blob", "box", "person", "critter")
ENEMIES = ("slime", "spiky", "beetle")
COINS = ("coin", "gem", "star")


@dataclass(frozen=True)
class Style:
    """The look of one episode. Physics never reads it, so every style plays the same game."""

    family: str
    seed: int  # drives every random detail of backdrops, textures and strokes
    view_tiles: float  # tiles across the frame: the zoom, and so the size of everything
    line_art: bool  # strokes over a plain paper (or board) fill instead of filled, textured art
    background: str  # one of BACKGROUNDS
    tiles: str  # terrain texture, one of FILLED_TILES or LINE_TILES
    player: str  # one of PLAYERS
    enemy: str  # one of ENEMIES
    coin: str  # one of COINS
    sprite_scale: float  # drawn sprite size relative to the fixed hitbox
    outline: float  # stroke width in pixels at 64 px frames; 0 = no outlines
    jitter: float  # wobble of terrain edges in tiles (hand-drawn lines when > 0)
    sky: Color  # backdrop colours, top and bottom (line art: the paper uses `paper`)
    sky2: Color
    far: Color  # far parallax layer (mountains, clouds, skyline...)
    near: Color  # near parallax layer (hills, stalactites...)
    ground: Color
    ground_top: Color  # surface band of the terrain (grass, snow, moss)
    block: Color  # floating blocks and one-way platforms
    ink: Color  # strokes: outlines, hatching, line-art terrain
    paper: Color  # line-art fill
    player_color: Color
    player_detail: Color
    enemy_color: Color
    coin_color: Color

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _common(rng: np.random.Generator, family: str) -> dict:
    """Choices every family shares: zoom, sprite shapes and sizes, a saturated player and enemy."""
    hue = rng.random()
    return dict(
        family=family,
        seed=int(rng.integers(2**31)),
        view_tiles=6.4,  # 10 px per tile at 64 px: whole-pixel speeds, the same in every look (game.Physics)
        player=_pick(rng, PLAYERS),
        enemy=_pick(rng, ENEMIES),
        coin=_pick(rng, COINS),
        sprite_scale=round(float(rng.uniform(0.95, 1.15)), 2),  # the player >= 7x8 px at 64 px
        jitter=0.0,
        player_color=hsv(hue, rng.uniform(0.6, 0.9), rng.uniform(0.75, 1.0)),
        player_detail=hsv(hue + 0.5, rng.uniform(0.3, 0.8), rng.uniform(0.2, 0.5)),
        enemy_color=hsv(hue + rng.uniform(0.3, 0.7), rng.uniform(0.6, 0.9), rng.uniform(0.55, 0.9)),
        coin_color=hsv(rng.uniform(0.1, 0.16), rng.uniform(0.7, 0.9), 1.0),
        line_art=False,
        paper=(255, 255, 255),
    )


# --- filled families --------------------------------------------------------------------------


def _day(rng) -> Style:
    c = _common(rng, "day")
    h = rng.uniform(0.52, 0.62)
    sky = hsv(h, rng.uniform(0.4, 0.75), rng.uniform(0.85, 1.0))
    top = _pick(rng, [hsv(rng.uniform(0.2, 0.38), rng.uniform(0.55, 0.8), rng.uniform(0.6, 0.85))] * 3
                + [(236, 240, 245), hsv(rng.uniform(0.1, 0.14), 0.45, 0.95)])  # grass, or snow / sand
    ground = hsv(rng.uniform(0.03, 0.12), rng.uniform(0.4, 0.7), rng.uniform(0.35, 0.6))
    return Style(**c, background="sky", tiles=_pick(rng, ["grass", "grass", "bricks", "rock", "plain"]),
                 sky=sky, sky2=mix(sky, (255, 250, 235), rng.uniform(0.4, 0.8)),
                 far=hsv(h + rng.uniform(-0.05, 0.05), rng.uniform(0.15, 0.35), rng.uniform(0.7, 0.85)),
                 near=hsv(rng.uniform(0.22, 0.42), rng.uniform(0.35, 0.7), rng.uniform(0.45, 0.7)),
                 ground=ground, ground_top=top, block=hsv(rng.uniform(0.05, 0.12), rng.uniform(0.5, 0.7), rng.uniform(0.6, 0.85)),
                 ink=shade(ground, 0.3), **_outline(rng, 0.4))


def _night(rng) -> Style:
    c = _common(rng, "night")
    h = rng.uniform(0.58, 0.78)
    sky = hsv(h, rng.uniform(0.5, 0.8), rng.uniform(0.08, 0.2))
    ground = hsv(rng.uniform(0.55, 0.75), rng.uniform(0.1, 0.3), rng.uniform(0.3, 0.5))
    return Style(**c, background="night", tiles=_pick(rng, ["bricks", "rock", "plain", "stripes"]),
                 sky=sky, sky2=hsv(h + rng.uniform(-0.1, 0.05), rng.uniform(0.4, 0.7), rng.uniform(0.25, 0.4)),
                 far=hsv(h, rng.uniform(0.3, 0.5), rng.uniform(0.18, 0.3)), near=hsv(h, 0.4, rng.uniform(0.08, 0.15)),
                 ground=ground, ground_top=shade(ground, 1.25), block=hsv(rng.uniform(0.05, 0.15), 0.5, rng.uniform(0.4, 0.6)),
                 ink=(10, 10, 20), **_outline(rng, 0.3))


def _cave(rng) -> Style:
    c = _common(rng, "cave")
    h = _pick(rng, [rng.uniform(0.02, 0.1), rng.uniform(0.7, 0.85), rng.uniform(0.45, 0.55)])
    rock = hsv(h, rng.uniform(0.2, 0.45), rng.uniform(0.3, 0.5))
    c["jitter"] = round(float(rng.uniform(0.02, 0.06)), 3)
    return Style(**c, background="cave", tiles=_pick(rng, ["rock", "rock", "noise", "bricks"]),
                 sky=hsv(h, rng.uniform(0.3, 0.5), rng.uniform(0.15, 0.25)), sky2=hsv(h, 0.4, rng.uniform(0.3, 0.42)),
                 far=shade(rock, 0.55), near=shade(rock, 0.7), ground=rock,
                 ground_top=_pick(rng, [hsv(rng.uniform(0.25, 0.4), 0.6, 0.6), hsv(rng.uniform(0.45, 0.9), 0.5, 0.9), shade(rock, 1.2)]),
                 block=hsv(h + 0.05, 0.3, 0.55), ink=(15, 10, 10), **_outline(rng, 0.3))


def _pattern(rng) -> Style:
    c = _common(rng, "pattern")
    a, b = hsv(rng.random(), rng.uniform(0.2, 0.5), rng.uniform(0.85, 1.0)), hsv(rng.random(), rng.uniform(0.2, 0.5), rng.uniform(0.7, 0.95))
    ground = hsv(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(0.45, 0.8))
    return Style(**c, background="pattern", tiles=_pick(rng, ["checker", "stripes", "dots", "plain", "bricks"]),
                 sky=a, sky2=b, far=mix(a, b, 0.5), near=shade(b, 0.8), ground=ground,
                 ground_top=hsv(rng.random(), 0.6, 0.9), block=hsv(rng.random(), 0.6, 0.8), ink=(20, 20, 25),
                 **_outline(rng, 0.7))


def _photo(rng) -> Style:
    c = _common(rng, "photo")
    sky = hsv(rng.uniform(0.5, 0.65), rng.uniform(0.1, 0.5), rng.uniform(0.6, 0.95))
    land = hsv(rng.uniform(0.1, 0.35), rng.uniform(0.3, 0.6), rng.uniform(0.3, 0.6))
    ground = hsv(rng.uniform(0.03, 0.15), rng.uniform(0.2, 0.5), rng.uniform(0.3, 0.55))
    return Style(**c, background="photo", tiles=_pick(rng, ["noise", "noise", "rock", "grass"]),
                 sky=sky, sky2=shade(sky, 1.3), far=mix(sky, land, 0.5), near=land, ground=ground,
                 ground_top=hsv(rng.uniform(0.18, 0.35), rng.uniform(0.3, 0.6), rng.uniform(0.4, 0.7)),
                 block=hsv(rng.uniform(0.05, 0.1), 0.4, 0.5), ink=(20, 15, 10), **_outline(rng, 0.0))


def _outline(rng, p: float) -> dict:
    return {"outline": 1.0 if rng.random() < p else 0.0}


# --- line-art families ------------------------------------------------------------------------


def _line(rng, family: str, paper: Color, ink: Color, tiles, width: tuple[float, float], jitter: tuple[float, float],
          background: str = "paper", colors: dict | None = None) -> Style:
    """A line-art style: strokes of `ink` (or per-element colours) on a plain `paper` fill."""
    c = _common(rng, family)
    c.update(line_art=True, paper=paper, outline=round(float(rng.uniform(*width)), 2),
             jitter=round(float(rng.uniform(*jitter)), 3))
    for key in ("player_color", "enemy_color", "coin_color"):
        c[key] = ink
    c["player_detail"] = ink
    c.update(colors or {})
    return Style(**c, background=background, tiles=_pick(rng, tiles), sky=paper, sky2=paper, far=ink, near=ink,
                 ground=ink, ground_top=ink, block=ink, ink=ink)


def _pencil(rng) -> Style:
    paper = hsv(rng.uniform(0.08, 0.15), rng.uniform(0.02, 0.12), rng.uniform(0.9, 0.99))
    g = int(rng.integers(25, 75))
    ink = (g, g, g + int(rng.integers(0, 20)))
    colors = {}
    if rng.random() < 0.3:  # a red or blue pencil for the hero, as people often draw
        colors = {"player_color": _pick(rng, [(200, 40, 40), (40, 70, 190)])}
    return _line(rng, "pencil", paper, ink, ["hatch", "crosshatch", "hatch", "blank", "stipple"], (1.0, 1.5), (0.08, 0.16),
                 colors=colors)


def _ink(rng) -> Style:
    paper = hsv(rng.uniform(0.1, 0.6), rng.uniform(0.0, 0.05), rng.uniform(0.95, 1.0))
    ink = _pick(rng, [(10, 10, 10), (25, 25, 30), (20, 30, 90)])  # marker, fineliner, ballpoint
    return _line(rng, "ink", paper, ink, ["scribble", "hatch", "blank", "stipple"], (1.4, 2.2), (0.05, 0.12))


def _crayon(rng) -> Style:
    paper = hsv(rng.uniform(0.08, 0.15), rng.uniform(0.03, 0.1), rng.uniform(0.92, 1.0))
    ground = _pick(rng, [(120, 80, 40), (40, 140, 60), (90, 60, 140)])
    colors = {"player_color": _pick(rng, [(220, 40, 40), (40, 90, 220), (240, 120, 20)]),
              "enemy_color": _pick(rng, [(140, 40, 160), (30, 30, 30), (200, 30, 120)]),
              "coin_color": (235, 170, 0), "player_detail": (30, 30, 30)}
    s = _line(rng, "crayon", paper, ground, ["scribble", "hatch"], (1.8, 2.6), (0.12, 0.2), colors=colors)
    return dataclasses.replace(s, ground_top=_pick(rng, [(40, 150, 50), ground]), block=(200, 100, 30))


def _neon(rng) -> Style:
    board = hsv(rng.uniform(0.6, 0.85), rng.uniform(0.5, 0.8), rng.uniform(0.05, 0.12))
    ink = hsv(_pick(rng, [0.5, 0.83, 0.9, 0.33]), 0.8, 1.0)
    colors = {"player_color": hsv(rng.uniform(0.1, 0.2), 0.8, 1.0), "enemy_color": hsv(0.95, 0.8, 1.0),
              "coin_color": (255, 230, 80), "player_detail": (255, 255, 255)}
    s = _line(rng, "neon", board, ink, ["blank", "hatch"], (1.2, 1.8), (0.0, 0.02), background="neon", colors=colors)
    return dataclasses.replace(s, sky=board, sky2=hsv(rng.uniform(0.85, 0.95), 0.7, 0.3), far=hsv(0.9, 0.8, 0.9))


# --- families and the held-out split ----------------------------------------------------------

FAMILIES: dict[str, Callable[[np.random.Generator], Style]] = {
    "day": _day, "night": _night, "cave": _cave, "pattern": _pattern, "photo": _photo,
    "pencil": _pencil, "ink": _ink, "crayon": _crayon, "neon": _neon,
}
# Held out: one paper line-art look and one dark line-art look, never seen in training.
HELDOUT_FAMILIES = ("crayon", "neon")
TRAIN_FAMILIES = tuple(f for f in FAMILIES if f not in HELDOUT_FAMILIES)
SPLITS = {"train": TRAIN_FAMILIES, "heldout": HELDOUT_FAMILIES}


def make_style(family: str, rng: np.random.Generator | int) -> Style:
    """A random style of one family; `rng` may be a seed."""
    if family not in FAMILIES:
        raise GenieError(f"unknown style family '{family}' (choose from: {', '.join(FAMILIES)})")
    return FAMILIES[family](np.random.default_rng(rng))


def sample_style(rng: np.random.Generator, split: str = "train") -> Style:
    """A random style from a random family of the split ("train" or "heldout")."""
    if split not in SPLITS:
        raise GenieError(f"unknown split '{split}' (choose from: {', '.join(SPLITS)})")
    families = SPLITS[split]
    return FAMILIES[families[int(rng.integers(len(families)))]](rng)
