"""Prototype: a sprite layer over the carried background (one world, lab only).

At reset the token head's own change votes (the largest compact group of blocks it expects to
change under some code) name the sprite; its pixels (those unlike the colours around it) are lifted
into a layer and the background behind them filled from the same row. Each step the background
goes through the shipped world (camera move, strip, block tokens; the memory sees no sprite), and
the sprite moves by the token head's vote over its blocks on the composite frame."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from genie_play.world import tokenizer as tk
from genie_play.world.character import components
from genie_play.world.world_model import WorldModel

PEAK = 0.2  # the codes must disagree this much (total variation) somewhere for a sprite
GROW = 0.7  # blocks whose disagreement is this share of the peak's join it
REACH = 2  # blocks from the peak the sprite may reach
MARGIN = 1  # blocks of background kept around them: the colours the sprite is told apart from
UNLIKE = 40  # a pixel is the sprite's when every colour around the box differs by more (0..255)
MOVE_VOTE = 0.4  # mean change probability over the sprite's blocks for it to leave the ground's move


@dataclass
class Sprite:
    pixels: np.ndarray  # (h, w, 3)
    mask: np.ndarray  # (h, w) bool
    y: int
    x: int


def _components(on: np.ndarray) -> list[list[tuple[int, int]]]:
    """The 4-connected pieces of `on`, each as a list of (y, x): the product's search."""
    return [[(int(y), int(x)) for y, x in piece] for piece in components(on)]


class LayerWorld:
    def __init__(self, world: WorldModel):
        self.w = world
        self.config, self.num_actions = world.config, world.num_actions
        self.sprite: Sprite | None = None
        self.bg = None

    def _votes(self, frame: np.ndarray, actions: list[int]):
        """Move classes (B, 1) and token probabilities (B, G, G, V) on `frame` for each action."""
        w, B = self.w, len(actions)
        frames = torch.from_numpy(frame)[None].expand(B, -1, -1, -1)
        action = torch.tensor(actions)
        last = w._history[-1].moves[None].expand(B, -1) if w._history else torch.full((B, 1), w.dynamics.no_move)
        moves = w.dynamics.move_logits(frames, action, last).argmax(-1)
        px = w.tokenizer.moves[moves]
        G = w.config.image_size // w.vocab.block
        moved = tk.decode(frames, px, torch.full((B, G, G), w.vocab.carry), w.vocab)
        hole, valid = tk.hole(px, w.config.image_size), tk.valid_ids(px, w.vocab, w.config.image_size)
        ctx = w.dynamics.token_context(frames, moved, hole, action, moves)
        logits = w.dynamics.token_logits(ctx, torch.full((B, G, G), w.dynamics.mask_id)).masked_fill(~valid, -1e9)
        new = F.max_pool2d(hole[:, None].float(), w.vocab.block)[:, 0].bool()
        return moves, logits.softmax(-1), new

    @torch.inference_mode()
    def reset(self, image):
        frame = self.w.reset(image)
        self.sprite = self._detect(frame)
        self.bg = frame.copy()
        if self.sprite is not None:
            self.bg = self._background(frame, self.sprite)
            self.w.reset(self.bg)  # the world carries the background; its memory holds no sprite
        self.frame = self._composite()
        return self.frame

    def _background(self, frame: np.ndarray, s: Sprite) -> np.ndarray:
        """The frame with the sprite's pixels filled from the nearest pixel of their row in its box."""
        bg = frame.copy()
        h, wd = s.mask.shape
        bg[s.y:s.y + h, s.x:s.x + wd] = _fill_rows(frame[s.y:s.y + h, s.x:s.x + wd], s.mask)
        return bg

    def _detect(self, frame):
        w, k = self.w, self.w.vocab.block
        _, p, new = self._votes(frame, list(range(self.num_actions)))
        # The sprite is where the codes disagree: the background is carried under every code, a
        # monster walks the same way whatever the player presses, the player's sprite does not.
        split = 0.5 * (p - p.mean(0, keepdim=True)).abs().sum(-1).mean(0)  # (G, G)
        change = split.masked_fill(new.any(0), 0).numpy()
        if change.max() < PEAK:
            return None
        peak = tuple(int(v) for v in np.unravel_index(change.argmax(), change.shape))
        comp = [c for c in _components(change > GROW * change.max()) if peak in c][0]
        comp = [(y, x) for y, x in comp if abs(y - peak[0]) <= REACH and abs(x - peak[1]) <= REACH]
        ys, xs = zip(*comp)
        G = change.shape[0]
        y0, y1 = max(0, min(ys) - MARGIN) * k, min(G, max(ys) + 1 + MARGIN) * k
        x0, x1 = max(0, min(xs) - MARGIN) * k, min(G, max(xs) + 1 + MARGIN) * k
        box = frame[y0:y1, x0:x1].astype(int)
        ring = np.concatenate([box[0], box[-1], box[:, 0], box[:, -1]])  # (n, 3)
        dist = np.abs(box[:, :, None, :] - ring[None, None]).max(-1).min(-1)  # (h, w)
        mask = dist > UNLIKE
        if mask.sum() < 4:
            return None
        # one object: the connected piece nearest the peak (a coin beside the player stays put)
        cy, cx = peak[0] * k + k // 2 - y0, peak[1] * k + k // 2 - x0
        pieces = _components(mask)
        piece = min(pieces, key=lambda pc: min(abs(y - cy) + abs(x - cx) for y, x in pc))
        mask = np.zeros_like(mask)
        mask[tuple(np.array(piece).T)] = True
        if mask.sum() < 4:
            return None
        return Sprite(frame[y0:y1, x0:x1].copy(), mask, y0, x0)

    def _composite(self):
        out = self.bg.copy()
        s = self.sprite
        if s is None:
            return out
        H = out.shape[0]
        h, wd = s.mask.shape
        ys, xs = np.nonzero(s.mask)
        ty, tx = ys + s.y, xs + s.x
        ok = (ty >= 0) & (ty < H) & (tx >= 0) & (tx < H)
        out[ty[ok], tx[ok]] = s.pixels[ys[ok], xs[ok]]
        return out

    @torch.inference_mode()
    def step(self, action: int):
        w, k = self.w, self.w.vocab.block
        moves, p, _ = self._votes(self.frame, [action])
        # the background: the shipped world, made to take the move read on the composite
        orig = w.dynamics.move_logits
        forced = torch.full((1, 1, w.vocab.moves), -1e9)
        forced[0, 0, moves[0, 0]] = 0
        w.dynamics.move_logits = lambda *a, **kw: forced
        try:
            self.bg = w.step(action)
        finally:
            w.dynamics.move_logits = orig
        if self.sprite is not None:
            s = self.sprite
            my, mx = w.tokenizer.moves[moves[0, 0]].tolist()  # the content's move
            G = p.shape[1]
            ys, xs = np.nonzero(s.mask)
            by = np.clip((ys + s.y + my) // k, 0, G - 1)
            bx = np.clip((xs + s.x + mx) // k, 0, G - 1)
            blocks = np.unique(by * G + bx)
            q = p[0].reshape(G * G, -1)[torch.from_numpy(blocks)]  # (n, V)
            carry = w.vocab.carry
            if (1 - q[:, carry]).mean() > MOVE_VOTE:
                v = q.sum(0)
                v[carry] = 0
                oy, ox = w.vocab.offsets()[int(v.argmax())].tolist()
            else:
                oy, ox = 0, 0
            H = self.config.image_size
            h, wd = s.mask.shape
            s.y = int(np.clip(s.y + my - oy, -h // 2, H - h // 2))
            s.x = int(np.clip(s.x + mx - ox, -wd // 2, H - wd // 2))
        self.frame = self._composite()
        return self.frame


def _fill_rows(box: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """box (h, w, 3) with the masked pixels taken from the nearest unmasked pixel in their row."""
    out = box.copy()
    for r in range(box.shape[0]):
        free = np.flatnonzero(~mask[r])
        if not len(free):
            free = np.flatnonzero(~mask.any(1))
            if not len(free):
                continue
            out[r] = box[free[np.abs(free - r).argmin()]]
            continue
        for c in np.flatnonzero(mask[r]):
            out[r, c] = box[r, free[np.abs(free - c).argmin()]]
    return out
