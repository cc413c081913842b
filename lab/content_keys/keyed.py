"""Lab: the token head scores a source by its content, not only by its id.

Importing this module patches genie_play.world.dynamics.Dynamics in place (train and eval scripts
import it before building or loading a world). Each id's logit gains q_b . k(source) / sqrt(KEY_DIM):
q_b from the transformer's output at block b ("what this block will show"), k from a small CNN
over the frame before at full resolution, read at the top-left pixel of the source block the id
points at ("what that source shows"). A 561-way linear head must learn where in the frame the
content it wants sits; a match finds it wherever it is.
"""
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.world import dynamics as dyn
from genie_play.world import tokenizer as tk

KEY_DIM = int(os.environ.get("KEY_DIM", "16"))
KEY_WIDTH = int(os.environ.get("KEY_WIDTH", "32"))

_init = dyn.Dynamics.__init__


def __init__(self, config):
    _init(self, config)
    d = config.dynamics.d_model
    # key at pixel (y, x) describes the block whose top-left corner is (y, x): a 4x4 kernel over a
    # frame padded at the right and bottom, then a 3x3 look at its surroundings
    self.key_cnn = nn.Sequential(nn.Conv2d(3, KEY_WIDTH, self.vocab.block), nn.GELU(),
                                 nn.Conv2d(KEY_WIDTH, KEY_WIDTH, 3, padding=1), nn.GELU(),
                                 nn.Conv2d(KEY_WIDTH, KEY_DIM, 1))
    self.query = nn.Linear(d, KEY_DIM)


def source_pixels(vocab, moves_px, size):
    """(B, G*G, V) long: the flat pixel index of each id's source block corner, clamped inside the frame."""
    k, G = vocab.block, size // vocab.block
    offsets = vocab.offsets(moves_px.device)  # (V, 2)
    corner = torch.arange(G, device=moves_px.device) * k
    rows = tk.row_moves(moves_px, size)[:, ::k]  # (B, G, 2)
    y = corner[None, :, None, None] - rows[:, :, None, None, 0] + offsets[None, None, None, :, 0]  # (B, G, 1, V)
    x = corner[None, None, :, None] - rows[:, :, None, None, 1] + offsets[None, None, None, :, 1]  # (B, G, G, V)
    y = y.clamp(0, size - k).expand_as(x)
    x = x.clamp(0, size - k)
    return (y * size + x).flatten(1, 2)


def token_context(self, frame, moved, hole, action, moves):
    context = _token_context(self, frame, moved, hole, action, moves)
    x = F.pad(dyn._frame_input(frame), (0, self.vocab.block - 1, 0, self.vocab.block - 1), mode="replicate")
    keys = self.key_cnn(x).flatten(2)  # (B, KEY_DIM, H*W)
    index = source_pixels(self.vocab, self.vocab.move_table(frame.device)[moves], frame.shape[1])
    return context, keys, index


def token_logits(self, context, ids):
    context, keys, index = context
    h = context + self.token_embed(ids.flatten(1))
    for block in self.blocks:
        h = block(h)
    h = self.norm(h)
    match = torch.bmm(self.query(h), keys) / math.sqrt(KEY_DIM)  # (B, G*G, H*W)
    match = torch.gather(match, 2, index)  # (B, G*G, V)
    return (self.head(h) + match).view(*ids.shape, -1)


_token_context = dyn.Dynamics.token_context
dyn.Dynamics.__init__ = __init__
dyn.Dynamics.token_context = token_context
dyn.Dynamics.token_logits = token_logits
