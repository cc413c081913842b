"""The dynamics model: the frame on screen and a latent action -> the next frame's camera move
and block tokens (genie_play.world.tokenizer).

Two heads, run in order, as play runs them:
    move_logits(frame, action, last_move)   the camera's move in each band of rows; the move of
                                            the step before is the past it reads (a parallax
                                            backdrop's speed is not in one frame)
    token_logits(context, ids)              the block ids of the moved frame, MaskGIT-style: ids
                                            holds the ones already chosen and `mask_id` elsewhere;
                                            the context (token_context: the frame, the moved frame,
                                            the action) is computed once per frame, not per round
Play chooses only among the moves the footage showed for an action (allowed_moves, from the
training labels' counts): a rare slip of the camera search, learned as a move, never plays.
The rows of a screen overlay (a score bar the camera never moves; tokenizer.overlay_rows, measured
on the training clips) stay where they are on screen.
Both read pixels, not tokens: the frame on screen is the state, so a player's picture is read
as it is. A small CNN brings the pixels to the block grid, a transformer over the grid's
blocks decides which ones change and where each copies from.
"""

from __future__ import annotations

import torch
from torch import nn

from genie_play.config import GenieConfig
from genie_play.world.tokenizer import vocabulary

MOVE_SHARE = 0.05  # share of an action's training transitions a camera move needs to be played for it
CODE_SHARE = 0.01  # share of all training transitions an action needs for its moves to be known: an
# action the LAM hardly used (Defender: 9 of 3,780) has a move head that never learned, so it stands still


def _frame_input(frame: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [-1, 1]."""
    return frame.permute(0, 3, 1, 2).float() / 127.5 - 1


class Block(nn.Module):
    """Pre-norm transformer block over the grid's blocks."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class Dynamics(nn.Module):
    """(frame, latent action, the last move) -> band moves; (frame, moved frame, action, ids) -> block ids."""

    OPTIONAL = ("move_counts", "overlay")  # files from before lack them: every move allowed, no overlay

    def __init__(self, config: GenieConfig):
        super().__init__()
        self.config = config
        c = config.dynamics
        vocab, w, d = vocabulary(config), c.channels, c.d_model
        self.grid, self.bands = config.image_size // vocab.block, vocab.bands
        self.vocab = vocab
        self.mask_id = vocab.size
        # The move head: a look at the frame, pooled per band of rows.
        self.move_cnn = nn.Sequential(nn.Conv2d(3, w, 4, 2, 1), nn.GELU(), nn.Conv2d(w, w, 4, 2, 1), nn.GELU())
        self.move_action = nn.Embedding(config.num_actions, d)
        self.move_last = nn.Embedding(vocab.moves + 1, d)  # + "no move known" (the prompt)
        self.move_mlp = nn.Sequential(nn.Linear(w * (config.image_size // 4 // vocab.bands) + 2 * d, d), nn.GELU(),
                                      nn.Linear(d, vocab.moves))
        # The token head: moved frame, frame, the hole the move leaves -> the block grid.
        self.cnn = nn.Sequential(nn.Conv2d(7, w, 4, 2, 1), nn.GELU(), nn.Conv2d(w, 2 * w, 3, 1, 1), nn.GELU(),
                                 nn.Conv2d(2 * w, 2 * w, 4, 2, 1), nn.GELU(), nn.Conv2d(2 * w, d, 3, 1, 1))
        self.token_embed = nn.Embedding(vocab.size + 1, d)
        self.action_embed = nn.Embedding(config.num_actions, d)
        self.band_embed = nn.Embedding(vocab.moves, d)
        self.position = nn.Parameter(torch.zeros(1, self.grid ** 2, d))
        self.blocks = nn.ModuleList([Block(d, c.num_heads) for _ in range(c.num_layers)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab.size)
        # How often each (action, move) pair is in the training labels, set by training: all zero, every move plays.
        self.register_buffer("move_counts", torch.zeros(config.num_actions, vocab.moves, dtype=torch.long))
        # The screen overlay's rows at the top and at the bottom, set by training: zero, the whole frame is the world.
        self.register_buffer("overlay", torch.zeros(2, dtype=torch.long))

    @property
    def overlay_rows(self) -> tuple[int, int]:
        """(top, bottom): rows of the screen that are not the world (tokenizer.overlay_rows)."""
        return int(self.overlay[0]), int(self.overlay[1])

    @property
    def no_move(self) -> int:
        """The `last_move` class of a frame with no move before it (the prompt)."""
        return self.vocab.moves

    def allowed_moves(self, action: torch.Tensor) -> torch.Tensor:
        """action (B,) -> (B, moves) bool: the camera moves play may choose for each action."""
        counts = self.move_counts.float()
        per_action = counts.sum(dim=1, keepdim=True)  # (A, 1)
        if per_action.sum() == 0:
            return torch.ones(len(action), self.vocab.moves, dtype=torch.bool, device=action.device)
        known = per_action >= CODE_SHARE * per_action.sum()
        allowed = (counts >= MOVE_SHARE * per_action) & (counts > 0) & known
        allowed[:, self.vocab.still] = True  # standing still is always possible
        return allowed[action]

    def move_logits(self, frame: torch.Tensor, action: torch.Tensor, last_move: torch.Tensor) -> torch.Tensor:
        """frame uint8 (B, H, W, 3), action (B,), last_move (B, bands) -> logits (B, bands, moves)."""
        h = self.move_cnn(_frame_input(frame))  # (B, w, H/4, W/4)
        B, w, R, Wq = h.shape
        rows = h.view(B, w, self.bands, R // self.bands, Wq).mean(dim=4).permute(0, 2, 1, 3).flatten(2)  # (B, bands, w*rows)
        a = self.move_action(action)[:, None].expand(-1, self.bands, -1)
        return self.move_mlp(torch.cat([rows, a, self.move_last(last_move)], dim=-1))

    def token_context(self, frame: torch.Tensor, moved: torch.Tensor, hole: torch.Tensor, action: torch.Tensor,
                      moves: torch.Tensor) -> torch.Tensor:
        """What every MaskGIT round reads but the ids: frame, moved uint8 (B, H, W, 3); hole (B, H, W)
        bool; action (B,); moves (B, bands) classes -> (B, G*G, d)."""
        x = torch.cat([_frame_input(moved), _frame_input(frame), hole[:, None].float()], dim=1)
        h = self.cnn(x).flatten(2).transpose(1, 2)  # (B, G*G, d)
        band = self.band_embed(moves).repeat_interleave(self.grid // self.bands, dim=1)  # (B, G, d): per block row
        return h + self.action_embed(action)[:, None] + band.repeat_interleave(self.grid, dim=1) + self.position

    def token_logits(self, context: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """context (B, G*G, d) from token_context; ids (B, G, G) with mask_id where unknown -> logits (B, G, G, V)."""
        h = context + self.token_embed(ids.flatten(1))
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h)).view(*ids.shape, -1)
