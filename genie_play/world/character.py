"""The character: the piece of the picture the camera follows, lifted out of the picture at reset
and moved as one piece, so it stays whole where the block tokens would tear or clone it.

    find_sprite(...)   the detector's pieces of the prompt; the character is the one on which the
                       dynamics model's codes disagree most (the background is carried under
                       every code, a monster walks whatever the player presses, the player not)
    cut_out(...)       the background: the sprite's pixels replaced by the frame beside them
    move_sprites(...)  each sprite's next screen move, from a crop of the frame on screen around
                       it, the latent action and its last moves (the mover); a move down stops on
                       the first row of ground under its feet (the ground network), so it lands
    compose(...)       the frame on screen: the sprite pasted over the background
The background goes through the dynamics model as any picture does; its memory never holds the
sprite. The three networks learn from video without labels (train/character_training.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genie_play.config import GenieConfig


@dataclass(frozen=True)
class Sprite:
    """The character on one frame: its pixels as found at reset, its place and its last moves."""

    pixels: np.ndarray  # (h, w, 3) uint8: its box in the prompt
    mask: np.ndarray  # (h, w) bool: which of the box's pixels are the character
    y: int  # screen place of the box's top-left pixel
    x: int
    last: tuple[int, ...]  # its last `history` moves, newest first, as (dy, dx) classes (move + reach)


class Detector(nn.Module):
    """RGB frames (B, H, W, 3) uint8 -> logits (B, H, W) that a pixel is the piece the camera follows."""

    def __init__(self, width: int):
        super().__init__()
        layers, c = [], 3
        for d in (1, 2, 4, 8, 2, 1):  # dilations: a field of view as wide as a sprite and its ground
            layers += [nn.Conv2d(c, width, 3, padding=d, dilation=d), nn.GELU()]
            c = width
        self.net = nn.Sequential(*layers, nn.Conv2d(width, 1, 1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames.permute(0, 3, 1, 2).float() / 255 - 0.5)[:, 0]


class Ground(Detector):
    """Background frames (B, H, W, 3) uint8 -> logits (B, H, W) that a pixel is ground the character
    stands on, from FOOTING rows under its feet down (the detector's dilated CNN: ground is texture too)."""

    def __init__(self, width: int):
        super().__init__(width)
        nn.init.constant_(self.net[-1].bias, -4.0)  # untrained, it holds nothing: a fall goes on as the mover says


class Mover(nn.Module):
    """(crops (B, 4, crop, crop): RGB and mask, latent actions (B,), last moves (B, 2 * history))
    -> logits (B, 2, classes) of the sprite's next dy and dx."""

    def __init__(self, num_actions: int, crop: int, reach: int, history: int):
        super().__init__()
        self.classes = 2 * reach + 1
        self.cnn = nn.Sequential(nn.Conv2d(4, 16, 3, 2, 1), nn.GELU(), nn.Conv2d(16, 32, 3, 2, 1), nn.GELU(),
                                 nn.Conv2d(32, 32, 3, 2, 1), nn.GELU(), nn.Flatten(),
                                 nn.Linear(32 * ((crop + 7) // 8) ** 2, 64))
        self.action = nn.Embedding(num_actions, 32)
        self.last = nn.Embedding(self.classes + 1, 8)  # the extra class: unknown (before play began)
        self.mlp = nn.Sequential(nn.Linear(64 + 32 + 16 * history, 128), nn.GELU(), nn.Linear(128, 2 * self.classes))

    def forward(self, crops: torch.Tensor, actions: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        h = torch.cat([self.cnn(crops), self.action(actions), self.last(last).flatten(1)], -1)
        return self.mlp(h).view(-1, 2, self.classes)


class CharacterNetworks(nn.Module):
    """The networks of `character.safetensors`: the detector, the mover and the ground."""

    OPTIONAL = ("ground.",)  # genie_play 0.4's files have no ground: their falls go on as the mover says

    def __init__(self, config: GenieConfig):
        super().__init__()
        c = config.character
        self.config = c
        self.detector = Detector(c.detector_width)
        self.mover = Mover(config.num_actions, c.crop, c.reach, c.history)
        self.ground = Ground(c.detector_width)

    @property
    def rest(self) -> tuple[int, ...]:
        """The history of a sprite standing still (as it stands in a prompt)."""
        return (self.config.reach,) * (2 * self.config.history)


# --- finding and cutting ------------------------------------------------------------------------


def components(on: np.ndarray) -> list[np.ndarray]:
    """The 4-connected pieces of a (H, W) bool array, each as (n, 2) pixel coordinates."""
    seen, out = np.zeros_like(on, bool), []
    H, W = on.shape
    for y0, x0 in zip(*np.nonzero(on)):
        if seen[y0, x0]:
            continue
        stack, piece = [(y0, x0)], []
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            piece.append((y, x))
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < H and 0 <= nx < W and on[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        out.append(np.array(piece))
    return out


def pieces(on: np.ndarray, min_pixels: int) -> list[np.ndarray]:
    """The pieces of `on` (H, W) of at least `min_pixels`, each as a (H, W) bool mask."""
    out = []
    for piece in components(on):
        if len(piece) >= min_pixels:
            mask = np.zeros_like(on, bool)
            mask[piece[:, 0], piece[:, 1]] = True
            out.append(mask)
    return out


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    return F.max_pool2d(torch.from_numpy(mask)[None, None].float(), 2 * r + 1, 1, r)[0, 0].numpy() > 0


def grow(frame: np.ndarray, mask: np.ndarray, by: int, unlike: int) -> np.ndarray:
    """The piece and the pixels up to `by` px around it that differ by more than `unlike` from every
    colour of the ring just beyond, where connected to it: the detector's threshold cuts sprites short."""
    near, ring = dilate(mask, by), dilate(mask, by + 2) & ~dilate(mask, by)
    colours = frame[ring].astype(int)  # (n, 3)
    if not by or not len(colours):
        return mask
    ys, xs = np.nonzero(near & ~mask)
    far = np.abs(frame[ys, xs].astype(int)[:, None] - colours[None]).max(-1).min(-1) > unlike
    out = mask.copy()
    out[ys[far], xs[far]] = True
    keep = np.zeros_like(mask)
    for piece in components(out):
        if mask[piece[:, 0], piece[:, 1]].any():
            keep[piece[:, 0], piece[:, 1]] = True
    return keep


PICK_REACH = 4  # px from a piece a player's click may land to choose it


@torch.no_grad()
def find_sprite(nets: CharacterNetworks, frame: np.ndarray, split: np.ndarray, block: int,
                at: tuple[int, int] | None = None) -> Sprite | None:
    """The character in `frame` (H, W, 3) uint8, or None; `split` (G, G) is how much the dynamics
    model's codes disagree on each block (WorldModel.code_split). With `at` (y, x), a player's
    choice: the piece there (None where there is none)."""
    c = nets.config
    p = nets.detector(torch.from_numpy(frame)[None]).sigmoid()[0].numpy()
    found = pieces(p > c.found, c.min_pixels)
    if at is not None:
        near = [(float(np.hypot(*(np.argwhere(m) - at).T).min()), i) for i, m in enumerate(found)]
        found = [found[min(near)[1]]] if near and min(near)[0] <= PICK_REACH else []
    if not found:
        return None
    score = [split[np.nonzero(m)[0] // block, np.nonzero(m)[1] // block].max() * p[m].sum() ** 0.5 for m in found]
    mask = grow(frame, found[int(np.argmax(score))], c.grow, c.unlike)
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Sprite(frame[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1].copy(), int(y0), int(x0), nets.rest)


def screen_mask(sprite: Sprite, size: int) -> np.ndarray:
    """The sprite's pixels on a (size, size) screen."""
    out = np.zeros((size, size), bool)
    ys, xs = np.nonzero(sprite.mask)
    ty, tx = ys + sprite.y, xs + sprite.x
    inside = (ty >= 0) & (ty < size) & (tx >= 0) & (tx < size)
    out[ty[inside], tx[inside]] = True
    return out


def cut_out(frame: np.ndarray, sprite: Sprite, ring: int = 2, reach: int = 24) -> np.ndarray:
    """The background behind the sprite: its pixels (and a 1 px fringe) copied from the frame dx px
    beside them, dx the offset clear of the sprite whose copy best fits the ring around it (stripes
    and bricks continue); the nearest pixel of the row where no offset fits."""
    cut = dilate(screen_mask(sprite, len(frame)), 1)
    around = dilate(cut, ring) & ~cut
    W = frame.shape[1]
    xs = np.nonzero(cut.any(0))[0]
    if not len(xs):
        return frame
    width = xs.max() - xs.min() + 1
    f = frame.astype(np.int32)
    ys, xx = np.nonzero(cut | around)  # what the copy must cover
    ay, ax = np.nonzero(around)  # what it is judged on
    best, best_dx = np.inf, None
    for dx in (d for d in range(-reach, reach + 1) if abs(d) >= width):
        src = xx + dx
        if src.min() < 0 or src.max() >= W or cut[ys, src].any():
            continue
        err = np.abs(f[ay, ax + dx] - f[ay, ax]).mean()
        if err < best:
            best, best_dx = err, dx
    out = frame.copy()
    ys, xx = np.nonzero(cut)
    if best_dx is not None:
        out[ys, xx] = frame[ys, xx + best_dx]
        return out
    for y in np.unique(ys):  # no clear offset: each row from its nearest pixel outside the cut
        free = np.flatnonzero(~cut[y])
        if len(free):
            holes = np.flatnonzero(cut[y])
            out[y, holes] = frame[y, free[np.abs(free[None] - holes[:, None]).argmin(1)]]
    return out


def compose(background: np.ndarray, sprite: Sprite | None) -> np.ndarray:
    """The frame on screen: the sprite's pixels over the background (H, W, 3)."""
    if sprite is None:
        return background
    out = background.copy()
    ys, xs = np.nonzero(sprite.mask)
    ty, tx = ys + sprite.y, xs + sprite.x
    inside = (ty >= 0) & (ty < len(out)) & (tx >= 0) & (tx < out.shape[1])
    out[ty[inside], tx[inside]] = sprite.pixels[ys[inside], xs[inside]]
    return out


# --- moving -------------------------------------------------------------------------------------


def crop(frame: np.ndarray, mask: np.ndarray, size: int) -> torch.Tensor:
    """(H, W, 3) uint8 and (H, W) bool -> (4, size, size) float around the mask's centre: RGB in
    0..1 and the mask (zeros beyond the frame)."""
    ys, xs = np.nonzero(mask)
    cy, cx = int(round(ys.mean())), int(round(xs.mean()))
    img = np.concatenate([frame.astype(np.float32) / 255, mask[..., None].astype(np.float32)], -1)
    pad = np.pad(img, ((size, size), (size, size), (0, 0)))
    y0, x0 = cy + size - size // 2, cx + size - size // 2
    return torch.from_numpy(pad[y0:y0 + size, x0:x0 + size]).permute(2, 0, 1).contiguous()


def feet(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest row of each column a (h, w) mask covers, and those columns."""
    cols = np.nonzero(mask.any(0))[0]
    return mask.shape[0] - 1 - mask[::-1, cols].argmax(0), cols


FOOTING = 2  # rows under its feet where the ground is read: the 1-px fringe cut_out fills lies between


def land(sprite: Sprite, y0: int, floor: np.ndarray, support: float) -> Sprite:
    """`sprite`, moved down from row `y0`, stopped on the first row where at least `support` of its
    feet's columns stand on `floor` (H, W) bool (the ground under the next frame, FOOTING rows down)."""
    bottom, cols = feet(sprite.mask)
    rx = cols + sprite.x
    for y in range(y0, sprite.y):
        ry = bottom + y + FOOTING
        inside = (ry >= 0) & (ry < floor.shape[0]) & (rx >= 0) & (rx < floor.shape[1])
        if inside.any() and floor[ry[inside], rx[inside]].mean() >= support:
            return replace(sprite, y=y, last=(sprite.last[0] - (sprite.y - y),) + sprite.last[1:])
    return sprite


@torch.no_grad()
def move_sprites(nets: CharacterNetworks, frames: np.ndarray, sprites: list[Sprite | None],
                 actions: list[int], backgrounds: np.ndarray) -> list[Sprite | None]:
    """Each sprite moved one step under its latent action, read from the frame on screen (B, H, W, 3)
    and landed on the ground of the next frame's background (B, H, W, 3)."""
    c, size = nets.config, frames.shape[1]
    live = [b for b, s in enumerate(sprites) if s is not None]
    if not live:
        return list(sprites)
    crops = []
    for b in live:
        s, on_screen = sprites[b], screen_mask(sprites[b], size)
        if not on_screen.any():  # wholly off screen: read it where its box is
            on_screen = np.zeros((size, size), bool)
            on_screen[np.clip(s.y + len(s.mask) // 2, 0, size - 1), np.clip(s.x + s.mask.shape[1] // 2, 0, size - 1)] = True
        crops.append(crop(frames[b], on_screen, c.crop))
    logits = nets.mover(torch.stack(crops), torch.tensor([actions[b] for b in live]),
                        torch.tensor([sprites[b].last for b in live]))
    out = list(sprites)
    for b, (dy, dx) in zip(live, logits.argmax(-1).tolist()):
        s = sprites[b]
        h, w = s.mask.shape
        y = int(np.clip(s.y + dy - c.reach, -(h // 2), size - h // 2))  # never wholly off screen
        x = int(np.clip(s.x + dx - c.reach, -(w // 2), size - w // 2))
        out[b] = replace(s, y=y, x=x, last=(dy, dx) + s.last[:-2])
    falling = [b for b in live if out[b].y > sprites[b].y]  # only a move down can meet the ground
    if falling:
        floor = (nets.ground(torch.from_numpy(backgrounds[falling])).sigmoid() > c.floor).numpy()
        for k, b in enumerate(falling):
            out[b] = land(out[b], sprites[b].y, floor[k], c.support)
    return out
