"""Sprites for a style: the player's poses, enemies, coins and the goal flag, as premultiplied RGBA.

Each sprite is a list of parts (a signed distance, a colour, a role) drawn in a unit square with
y down and the feet at y = 1, facing right; the renderer mirrors them for facing left. Filled
styles paint the parts; line-art styles stroke them over paper, like a pen drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genie_play.data import draw as D
from genie_play.data.styles import Style

SS = 3  # supersampling: sprites are only a few pixels across at 64 px
POSES = ("stand", "walk1", "walk2", "jump", "fall", "crouch")
BODY, WHITE, DOT = "body", "white", "dot"  # roles: stroked in line art / skipped in line art / always solid


@dataclass
class Sprites:
    player: dict[str, np.ndarray]  # pose -> (n, n, 4) premultiplied RGBA, facing right
    enemy: list[np.ndarray]  # two walking frames
    flyer: list[np.ndarray]  # two wing-flap frames
    coin: list[np.ndarray]  # four spin frames
    goal: np.ndarray  # (2n, 2n, 4): two tiles tall


def build_sprites(style: Style, ppt: float, size: int) -> Sprites:
    """Draw every sprite of `style` for tiles of `ppt` pixels in `size`-pixel frames."""
    n = max(4, round(ppt * 1.05 * style.sprite_scale))
    stroke = max(1.0, style.outline * size / 64) if style.line_art else (size / 64 if style.outline else 0.0)

    def paint(parts_fn, px, **kw):
        y, x = D.grid(px, px, SS, unit=px)
        y, x = np.broadcast_to(y, (px * SS, px * SS)), np.broadcast_to(x, (px * SS, px * SS))
        return _paint(parts_fn(y, x, **kw), px, style, stroke / px)

    player = {pose: paint(_PLAYERS[style.player], n, s=style, pose=pose) for pose in POSES}
    enemy = [paint(_ENEMIES[style.enemy], n, s=style, frame=f) for f in (0, 1)]
    flyer = [paint(_flyer, n, s=style, frame=f) for f in (0, 1)]
    coin = [paint(_coin, max(3, round(n * 0.7)), s=style, frame=f) for f in range(4)]
    goal = paint(_goal, 2 * n, s=style)
    return Sprites(player, enemy, flyer, coin, goal)


def _paint(parts, n: int, style: Style, stroke: float) -> np.ndarray:
    """Composite parts back to front into an (n, n, 4) premultiplied RGBA sprite."""
    img = np.zeros((n * SS, n * SS, 3), np.float32)
    alpha = np.zeros((n * SS, n * SS), np.float32)
    union = None
    for sdf, color, role in parts:
        union = sdf if union is None else np.minimum(union, sdf)
        if style.line_art and role == WHITE:
            continue
        if style.line_art and role == BODY:
            cov = np.maximum(D.inside(sdf), D.band(sdf, stroke))
            D.over(img, style.paper, D.inside(sdf))
            D.over(img, color, D.band(sdf, stroke))
        else:
            cov = D.inside(sdf)
            D.over(img, color, cov)
        alpha = cov + alpha * (1 - cov)
    if not style.line_art and stroke > 0:  # a cartoon outline around the whole silhouette
        ring = ((union >= 0) & (union < stroke)).astype(np.float32)
        D.over(img, style.ink, ring)
        alpha = ring + alpha * (1 - ring)
    out = np.concatenate([img, alpha[..., None]], axis=-1)
    return D.downsample(out, SS)


def _pose(y, x, pose):
    """Squash for crouching and stretch for jumping, about the feet; returns (y, x, stride, lift)."""
    stride = {"walk1": 0.12, "walk2": -0.12}.get(pose, 0.0)
    if pose == "crouch":
        y, x = 1 - (1 - y) / 0.62, 0.5 + (x - 0.5) / 1.15
    elif pose == "jump":
        y, x = 1 - (1 - y) / 1.08, 0.5 + (x - 0.5) / 0.9
    lift = {"jump": 0.1, "fall": 0.04}.get(pose, 0.0)
    return y, x, stride, lift


def _eye(y, x, cy, cx, r, s: Style):
    return [(D.sd_circle(y, x, cy, cx, r), (250, 250, 250), WHITE),
            (D.sd_circle(y, x, cy, cx + r * 0.35, r * 0.55), D.shade(s.player_detail, 0.4), DOT)]


def _blob(y, x, s: Style, pose: str):
    y, x, stride, lift = _pose(y, x, pose)
    feet = [(D.sd_ellipse(y, x, 0.93 - lift, 0.5 + dx, 0.07, 0.13), s.player_detail, BODY) for dx in (-0.17 - stride, 0.17 + stride)]
    body = [(D.sd_ellipse(y, x, 0.56, 0.5, 0.37, 0.38), s.player_color, BODY)]
    return feet + body + _eye(y, x, 0.48, 0.6, 0.1, s) + _eye(y, x, 0.48, 0.82, 0.09, s)


def _box(y, x, s: Style, pose: str):
    y, x, stride, lift = _pose(y, x, pose)
    legs = [(D.sd_box(y, x, 0.86 - lift, 0.5 + dx, 0.12, 0.07), s.player_detail, BODY) for dx in (-0.16 - stride, 0.16 + stride)]
    antenna = [(D.sd_segment(y, x, 0.22, 0.45, 0.06, 0.35, 0.03), s.player_detail, BODY)]
    body = [(D.sd_box(y, x, 0.5, 0.5, 0.3, 0.34, 0.08), s.player_color, BODY)]
    visor = [(D.sd_box(y, x, 0.42, 0.64, 0.08, 0.2, 0.04), s.player_detail, DOT)]
    return legs + antenna + body + visor


def _person(y, x, s: Style, pose: str):
    y, x, stride, lift = _pose(y, x, pose)
    arm = 0.16 if pose == "fall" else 0.62
    parts = [(D.sd_segment(y, x, 0.7, 0.5, 0.97 - lift, 0.5 + dx, 0.065), s.player_detail, BODY) for dx in (-1.6 * stride, 1.6 * stride)]
    parts += [(D.sd_segment(y, x, 0.44, 0.5, arm, 0.72, 0.05), s.player_detail, BODY)]
    parts += [(D.sd_segment(y, x, 0.45, 0.5, 0.66, 0.5, 0.13), s.player_color, BODY),
              (D.sd_circle(y, x, 0.22, 0.54, 0.16), D.mix(s.player_color, (255, 225, 190), 0.7), BODY),
              (D.sd_circle(y, x, 0.2, 0.63, 0.035), D.shade(s.player_detail, 0.4), DOT)]
    return parts


def _critter(y, x, s: Style, pose: str):
    y, x, stride, lift = _pose(y, x, pose)
    parts = [(D.sd_segment(y, x, 0.62, 0.22, 0.3 + lift, 0.08, 0.05), s.player_color, BODY)]  # tail
    parts += [(D.sd_segment(y, x, 0.75, 0.5 + dx, 0.97 - lift, 0.5 + dx + stride, 0.06), s.player_detail, BODY) for dx in (-0.2, 0.18)]
    parts += [(D.sd_ellipse(y, x, 0.68, 0.48, 0.2, 0.34), s.player_color, BODY),
              (D.sd_polygon(y, x, [(0.22, 0.6), (0.4, 0.64), (0.36, 0.76)]), s.player_color, BODY),
              (D.sd_polygon(y, x, [(0.22, 0.9), (0.4, 0.8), (0.36, 0.92)]), s.player_color, BODY),
              (D.sd_circle(y, x, 0.46, 0.76, 0.19), s.player_color, BODY)]
    return parts + _eye(y, x, 0.44, 0.82, 0.07, s)


def _slime(y, x, s: Style, frame: int):
    squash = (1.0, 0.82)[frame]
    body = np.maximum(D.sd_ellipse(y, x, 1.0, 0.5, 0.62 * squash, 0.44 / squash ** 0.5), y - 0.98)
    return [(body, s.enemy_color, BODY)] + _angry(y, x, 1 - 0.38 * squash, s)


def _spiky(y, x, s: Style, frame: int):
    parts = []
    for k in range(8):
        a = (k + 0.5 * frame) * np.pi / 4
        tip = (0.6 + 0.42 * np.sin(a), 0.5 + 0.42 * np.cos(a))
        base = [(0.6 + 0.2 * np.sin(a + d), 0.5 + 0.2 * np.cos(a + d)) for d in (-0.5, 0.5)]
        parts.append((D.sd_polygon(y, x, [base[0], tip, base[1]]), D.shade(s.enemy_color, 0.7), BODY))
    parts.append((D.sd_circle(y, x, 0.6, 0.5, 0.27), s.enemy_color, BODY))
    return parts + _angry(y, x, 0.56, s)


def _beetle(y, x, s: Style, frame: int):
    legs = [(D.sd_segment(y, x, 0.8, 0.3 + 0.2 * k, 0.98, 0.24 + 0.2 * k + (0.08 if (k + frame) % 2 else -0.04), 0.04),
             D.shade(s.enemy_color, 0.5), BODY) for k in range(3)]
    shell = np.maximum(D.sd_ellipse(y, x, 0.82, 0.46, 0.42, 0.4), y - 0.86)
    return legs + [(D.sd_circle(y, x, 0.74, 0.82, 0.14), D.shade(s.enemy_color, 0.6), BODY),
                   (shell, s.enemy_color, BODY),
                   (D.sd_segment(y, x, 0.46, 0.46, 0.84, 0.46, 0.015), D.shade(s.enemy_color, 0.5), DOT)]


def _flyer(y, x, s: Style, frame: int):
    wing_y = (0.3, 0.62)[frame]
    wings = [(D.sd_ellipse(y, x, wing_y, cx, 0.12, 0.2), D.mix(s.enemy_color, (255, 255, 255), 0.5), BODY) for cx in (0.3, 0.7)]
    return [(D.sd_circle(y, x, 0.55, 0.5, 0.26), s.enemy_color, BODY)] + wings + _angry(y, x, 0.52, s)


def _angry(y, x, cy, s: Style):
    """Two eyes under slanted brows: enemies look hostile in every style."""
    out = []
    for cx in (0.58, 0.78):
        out.append((D.sd_circle(y, x, cy, cx, 0.08), (250, 250, 250), WHITE))
        out.append((D.sd_circle(y, x, cy + 0.02, cx + 0.02, 0.045), (20, 20, 20), DOT))
    out.append((D.sd_segment(y, x, cy - 0.14, 0.5, cy - 0.08, 0.88, 0.025), (20, 20, 20), DOT))
    return out


def _coin(y, x, s: Style, frame: int):
    turn = 0.25 + 0.75 * abs(np.cos(frame * np.pi / 4))  # spinning: the width shrinks and grows
    xs = 0.5 + (x - 0.5) / turn
    if s.coin == "gem":
        shape = D.sd_polygon(y, xs, [(0.1, 0.5), (0.45, 0.9), (0.9, 0.5), (0.45, 0.1)])
    elif s.coin == "star":
        shape = D.sd_star(y, xs, 0.53, 0.5, 0.46)
    else:
        shape = D.sd_circle(y, xs, 0.5, 0.5, 0.42)
    inner = D.sd_circle(y, xs, 0.5, 0.5, 0.2) if s.coin == "coin" else D.sd_circle(y, xs, 0.38, 0.4, 0.08)
    return [(shape * turn, s.coin_color, BODY), (inner * turn, D.shade(s.coin_color, 1.5 if s.coin != "coin" else 0.75), DOT)]


def _goal(y, x, s: Style):
    flag = D.sd_polygon(y, x, [(0.06, 0.34), (0.2, 0.78), (0.34, 0.34)])
    return [(D.sd_segment(y, x, 0.04, 0.3, 0.98, 0.3, 0.035), D.shade(s.ground, 0.5) if not s.line_art else s.ink, BODY),
            (flag, s.coin_color if not s.line_art else s.player_color, BODY),
            (D.sd_box(y, x, 0.95, 0.3, 0.05, 0.12), D.shade(s.ground, 0.6) if not s.line_art else s.ink, BODY)]


_PLAYERS = {"blob": _blob, "box": _box, "person": _person, "critter": _critter}
_ENEMIES = {"slime": _slime, "spiky": _spiky, "beetle": _beetle}
