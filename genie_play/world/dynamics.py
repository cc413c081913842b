"""Dynamics model: MaskGIT over token grids, conditioned on latent actions.

Input frame t is the token embeddings of z_t and the embedding of the latent action that
produced it (a_{t-1}; frame 0 gets a learned "no action" embedding): added to every token as in
the paper (`action_input="add"`), or appended as one extra token of the frame that the others
read through spatial attention (`"token"`). The output at frame t is logits over the codebook for z_t's tokens, so predicting the next frame
means filling in a fully masked frame.

Training (the paper's masked-token objective, mask ratio ~ U(0.5, 1)) with one departure: the
paper masks the context frames too, but at play the context is always complete. Here a clean
pass over z_1..z_T fills a KV cache and a target pass predicts the masked z_2..z_T, each target
seeing the clean past and itself -- exactly the play-time computation, at twice the cost. A
random fraction (up to `context_corruption`) of clean context tokens is replaced by random ids,
the known counter to rollouts drifting into blur when the model reads its own samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.config import GenieConfig
from genie_play.world.st_transformer import KVCache, STTransformer, init_weights


@dataclass
class DynamicsOutput:
    loss: torch.Tensor  # cross entropy over masked tokens
    accuracy: torch.Tensor  # top-1 accuracy over masked tokens
    logits: torch.Tensor  # (B, T-1, N, codebook_size) for frames 2..T


class Dynamics(nn.Module):
    """Token ids of frames 1..t and latent actions -> logits for the tokens of frame t+1."""

    def __init__(self, config: GenieConfig):
        super().__init__()
        self.config = config
        c = config.dynamics
        self.mask_id = config.tokenizer.codebook_size  # one extra embedding row for [MASK]
        self.no_action = config.num_actions  # one extra row for "no action" (the first frame)
        self.token_emb = nn.Embedding(config.tokenizer.codebook_size + 1, c.d_model)
        self.action_emb = nn.Embedding(config.num_actions + 1, c.d_model)
        self.pos = nn.Parameter(torch.zeros(config.tokens_per_frame, c.d_model))
        if c.action_input == "token":
            self.action_pos = nn.Parameter(torch.zeros(c.d_model))
        self.transformer = STTransformer(c.d_model, c.num_heads, c.num_layers, config.context_frames)
        self.head = nn.Linear(c.d_model, config.tokenizer.codebook_size)
        init_weights(self)
        nn.init.normal_(self.pos, std=0.02)

    @property
    def frame_length(self) -> int:
        """Tokens per frame inside the transformer (and so rows per frame in its KV cache)."""
        return self.config.tokens_per_frame + (self.config.dynamics.action_input == "token")

    def embed(self, ids: torch.Tensor, prev_actions: torch.Tensor) -> torch.Tensor:
        """ids (B, T, N) and the action that led into each frame (B, T) -> (B, T, N, D), or (B, T, N+1, D)
        with the action token last."""
        tokens = self.token_emb(ids) + self.pos
        action = self.action_emb(prev_actions)[:, :, None, :]  # (B, T, 1, D)
        if self.config.dynamics.action_input == "token":
            return torch.cat([tokens, action + self.action_pos], dim=2)
        return tokens + action

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Transformer output (B, T, N or N+1, D) -> logits (B, T, N, K) for the frame's tokens."""
        return self.head(h[:, :, : self.config.tokens_per_frame])

    def forward(self, ids: torch.Tensor, actions: torch.Tensor) -> DynamicsOutput:
        """Masked-token loss for clips ids (B, T, N) with actions (B, T-1), actions[:, t]: frame t -> t+1."""
        B, T, N = ids.shape
        prev = torch.cat([torch.full_like(actions[:, :1], self.no_action), actions], dim=1)  # (B, T)
        clean = ids
        if self.training and self.config.dynamics.context_corruption > 0:
            rate = torch.rand(B, 1, 1, device=ids.device) * self.config.dynamics.context_corruption
            noise = torch.randint_like(ids, self.config.tokenizer.codebook_size)
            clean = torch.where(torch.rand(ids.shape, device=ids.device) < rate, noise, ids)
        cache = KVCache()
        self.transformer(self.embed(clean, prev), cache, append=True)

        ratio = 0.5 + 0.5 * torch.rand(B, T - 1, 1, device=ids.device)  # per-frame mask ratio ~ U(0.5, 1)
        masked = torch.rand(B, T - 1, N, device=ids.device) < ratio
        target = ids[:, 1:]
        inputs = torch.where(masked, torch.full_like(target, self.mask_id), target)
        positions = torch.arange(1, T, device=ids.device)
        h = self.transformer(self.embed(inputs, prev[:, 1:]), cache, targets=True, positions=positions)
        logits = self.logits(h)  # (B, T-1, N, K)
        loss = F.cross_entropy(logits[masked], target[masked])
        accuracy = (logits[masked].argmax(-1) == target[masked]).float().mean()
        return DynamicsOutput(loss, accuracy, logits)

    def prime(self, cache: KVCache, ids: torch.Tensor, prev_actions: torch.Tensor) -> None:
        """Add complete frames ids (B, T, N), led into by prev_actions (B, T), to the context cache."""
        self.transformer(self.embed(ids, prev_actions), cache, append=True)

    def next_logits(self, cache: KVCache, ids: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Logits (B, N, K) for a partially masked next frame ids (B, N) reached by `action` (B,)."""
        h = self.transformer(self.embed(ids[:, None], action[:, None]), cache, targets=True)
        return self.logits(h)[:, 0]
