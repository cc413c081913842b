"""Prototype: the sprite move. The token head's own votes name the blocks that move together and
their move; they are moved rigidly and what they leave is filled from beside them."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from genie_play.world import tokenizer as tk
from genie_play.world.world_model import WorldModel

CORE = 0.5   # a block's top source must be this likely to seed the sprite
GROW = 0.1   # a neighbour joins when the sprite's move is this likely for it
MIN_BLOCKS = 2


def sprite_move(p: torch.Tensor, new: torch.Tensor, carry: int):
    """p (G, G, V) probabilities, new (G, G) -> (offset id, D (G, G) bool) or None."""
    ok = (1 - p[..., carry] > CORE) & ~new  # blocks the model is sure change
    if ok.sum() < MIN_BLOCKS:
        return None
    votes = p[ok].sum(0)
    votes[carry] = 0
    o = int(votes.argmax())
    top = p.argmax(-1)
    core = ok & (p[..., o] > GROW)
    if core.sum() < MIN_BLOCKS:
        return None
    grow = (p[..., o] > GROW) & ~new
    D = core.clone()
    for _ in range(2):  # grow into 8-neighbours that also vote for the move
        near = F.max_pool2d(D[None, None].float(), 3, 1, 1)[0, 0].bool()
        D = D | (near & grow)
    return o, D


def apply_sprite(moved: np.ndarray, o: tuple[int, int], D: np.ndarray, k: int) -> np.ndarray:
    """moved (H, W, 3): D's blocks take the pixels (dy, dx) away; what the sprite left, from beside it."""
    H, W = moved.shape[:2]
    dy, dx = o
    dest = D.repeat(k, 0).repeat(k, 1)  # (H, W)
    ys, xs = np.nonzero(dest)
    sy, sx = np.clip(ys + dy, 0, H - 1), np.clip(xs + dx, 0, W - 1)
    out = moved.copy()
    out[ys, xs] = moved[sy, sx]
    src = np.zeros_like(dest); src[sy, sx] = True
    vac = src & ~dest
    if vac.any():
        cols = np.nonzero((dest | src).any(0))[0]
        x0, x1 = cols.min(), cols.max() + 1
        width = x1 - x0
        vy, vx = np.nonzero(vac)
        fx = vx - width if x0 - width >= 0 else vx + width
        fx = np.clip(fx, 0, W - 1)
        out[vy, vx] = moved[vy, fx]
    return out


class SpriteWorld:
    """Wraps a WorldModel's sample_next with the sprite move (batch of one, lab only)."""

    def __init__(self, world: WorldModel):
        self.world = world
        self.orig = world.sample_next
        world.sample_next = self.sample_next
        self.last = None

    @torch.inference_mode()
    def sample_next(self, frames, last_moves, actions, generators, cancelled=None, memories=None, cameras=None):
        w = self.world
        nxt, moves = self.orig(frames, last_moves, actions, generators, cancelled, memories, cameras)
        B, G, size = len(actions), w.config.image_size // w.vocab.block, w.config.image_size
        action = torch.tensor(list(actions))
        px = w.tokenizer.moves[moves]
        moved = tk.decode(frames, px, torch.full((B, G, G), w.vocab.carry), w.vocab)
        hole, valid = tk.hole(px, size), tk.valid_ids(px, w.vocab, size)
        ctx = w.dynamics.token_context(frames, moved, hole, action, moves)
        logits = w.dynamics.token_logits(ctx, torch.full((B, G, G), w.dynamics.mask_id)).masked_fill(~valid, -1e9)
        newb = F.max_pool2d(hole[:, None].float(), w.vocab.block)[:, 0].bool()
        out = nxt.clone()
        self.last = []
        for b in range(B):
            found = sprite_move(logits[b].softmax(-1), newb[b], w.vocab.carry)
            self.last.append(found)
            if found is None:
                continue
            o, D = found
            oy, ox = w.vocab.offsets()[o].tolist()
            sprite = apply_sprite(nxt[b].numpy(), (oy, ox), D.numpy(), w.vocab.block)
            out[b] = torch.from_numpy(sprite)
        return out, moves
