"""Dynamics model: MaskGIT over token grids, conditioned on latent actions.

Input frame t is the token embeddings of z_t and the embedding of the latent action that
produced it (a_{t-1}; frame 0 gets a learned "no action" embedding): added to every token as in
the paper (`action_input="add"`), or appended as one extra token of the frame that the others
read through spatial attention (`"token"`). With `previous_frame`, each token also sees the token
ids of the frame before it around its own place (a 3x5 window: a scroll of up to two tokens
sideways, a jump of one up or down), so "this tile came from its neighbour" is one lookup: a
model that saw the past only at its own place learned to copy, never to scroll. The output at
frame t is logits over the codebook for z_t's tokens, so predicting the next frame means filling
in a fully masked frame. At play, `nearby` moves a share of each token's probability onto the
ids its window holds (renormalized over them): the network spreads its doubt over a thousand
ids, so a sampled frame loses rare tiles (a sun, a pencil line) a token at a time, while the tile
it doubts about is usually one of the 15 around it.

With `group` g > 1 one transformer position holds a g x g block of the token grid: the block's
token embeddings side by side are its input, and the head predicts all g*g of its tokens. A 32x32
grid of small tokens (a sharper tokenizer) then costs the transformer what a 16x16 grid does; the
tokens stay separate for masking, sampling and the loss, so MaskGIT can still fix one token of a
block given its neighbours. The previous-frame window is then 3x5 blocks.

With `pointer`, each token may also point at a place of its window instead of naming an id (a
copy mechanism, as pointer-generator networks copy words): the head scores the K ids and the
window's 15*g*g places in one softmax, and each place's probability goes to the id it held. Most
of a platformer's next frame is its last one shifted by a token or two; a pointer makes that a
choice among 15 places the model learns in a few hundred steps, where naming the shifted tile's
id among a thousand took a GPU's worth of clips.

Training is the paper's masked-token objective (mask ratio ~ U(0.5, 1)) with two departures.
A share of target frames is fully masked (`full_mask_rate`), as the first round of play sees
them. And the paper masks the context frames too, but at play the context is always complete:
here a clean pass over z_1..z_T fills a KV cache and a target pass predicts the masked z_2..z_T,
each target seeing the clean past and itself -- exactly the play-time computation, at twice the
cost. A random fraction (up to `context_corruption`) of clean context tokens is replaced by
random ids, the known counter to rollouts drifting into blur when the model reads its own samples.
With `loss_share` < 1 only a random share of each frame's positions make the loss: the output layer
(g*g*K scores a position) then costs less than the transformer, which still reads every token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.config import GenieConfig
from genie_play.world.st_transformer import KVCache, STTransformer, init_weights

WINDOW_ROWS, WINDOW_COLS = range(-1, 2), range(-2, 3)  # the previous frame's tokens each token sees
WINDOW_DIM = 32


ACCURACY_SAMPLE = 4096  # with a pointer, training accuracy is measured on this many masked tokens


@dataclass
class DynamicsOutput:
    loss: torch.Tensor  # cross entropy over masked tokens
    accuracy: torch.Tensor  # top-1 accuracy over masked tokens
    scores: torch.Tensor | None  # (B, T-1, N, K) the head's logits over the ids, frames 2..T (None
    # when training scores only a share of the positions, `loss_share`)
    points: torch.Tensor | None = None  # with `pointer`: (B, T-1, N, W) scores of each token's window places
    window: torch.Tensor | None = None  # ... and the ids those places hold

    @property
    def logits(self) -> torch.Tensor:
        """(B, T-1, N, K) logits for frames 2..T (log-probabilities with a pointer; built only when asked for)."""
        return self.scores if self.points is None else pointer_mix(self.scores, self.points, self.window)


class Dynamics(nn.Module):
    """Token ids of frames 1..t and latent actions -> logits for the tokens of frame t+1."""

    def __init__(self, config: GenieConfig):
        super().__init__()
        self.config = config
        c = config.dynamics
        self.mask_id = config.tokenizer.codebook_size  # one extra embedding row for [MASK]
        self.no_action = config.num_actions  # one extra row for "no action" (the first frame)
        self.group = g = c.group
        self.side = config.tokens_per_side // g  # transformer positions per side of the frame
        self.positions = self.side**2
        # A block's g*g token embeddings side by side make one d_model-wide input.
        self.token_emb = nn.Embedding(config.tokenizer.codebook_size + 1, c.d_model // (g * g))
        self.action_emb = nn.Embedding(config.num_actions + 1, c.d_model)
        self.pos = nn.Parameter(torch.zeros(self.positions, c.d_model))
        if c.action_input == "token":
            self.action_pos = nn.Parameter(torch.zeros(c.d_model))
        if c.previous_frame:  # its own small embedding: 15 neighbours x 32 channels stay cheap
            self.previous_emb = nn.Embedding(config.tokenizer.codebook_size + 1, WINDOW_DIM // g)
            self.previous = nn.Linear(len(WINDOW_ROWS) * len(WINDOW_COLS) * WINDOW_DIM * g, c.d_model)
        self.transformer = STTransformer(c.d_model, c.num_heads, c.num_layers, config.context_frames)
        self.head = nn.Linear(c.d_model, g * g * config.tokenizer.codebook_size)
        if c.pointer:  # a score for every place of the token's window, each token of the block its own
            self.pointer = nn.Linear(c.d_model, g * g * len(WINDOW_ROWS) * len(WINDOW_COLS) * g * g)
        init_weights(self)
        nn.init.normal_(self.pos, std=0.02)
        if c.previous_frame:  # starts as no change: a model trained without it continues where it was
            nn.init.zeros_(self.previous.weight)
            nn.init.zeros_(self.previous.bias)

    @property
    def frame_length(self) -> int:
        """Places per frame inside the transformer, P plus the action token (so rows per frame in its KV cache)."""
        return self.positions + (self.config.dynamics.action_input == "token")

    def embed(self, ids: torch.Tensor, prev_actions: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
        """ids (B, T, N), the action that led into each frame (B, T) and the ids of the frame before
        each (B, T, N) -> (B, T, P, D), or (B, T, P+1, D) with the action token last (P = N at group 1)."""
        tokens = self._group(self.token_emb(ids)).flatten(3) + self.pos  # (B, T, P, D), P positions
        if self.config.dynamics.previous_frame:
            tokens = tokens + self.previous(self._window(before))
        action = self.action_emb(prev_actions)[:, :, None, :]  # (B, T, 1, D)
        if self.config.dynamics.action_input == "token":
            return torch.cat([tokens, action + self.action_pos], dim=2)
        return tokens + action

    def _group(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, N, ...) in raster order -> (B, T, P, g*g, ...): the tokens of each transformer position."""
        g, s, (B, T), rest = self.group, self.side, x.shape[:2], x.shape[3:]
        x = x.reshape(B, T, s, g, s, g, *rest).transpose(3, 4)  # (B, T, s, s, g, g, ...)
        return x.reshape(B, T, s * s, g * g, *rest)

    def _ungroup(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of _group: (B, T, P, g*g, ...) -> (B, T, N, ...)."""
        g, s, (B, T), rest = self.group, self.side, x.shape[:2], x.shape[4:]
        x = x.reshape(B, T, s, s, g, g, *rest).transpose(3, 4)  # (B, T, s, g, s, g, ...)
        return x.reshape(B, T, (s * g) ** 2, *rest)

    def _window(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T, N) -> the embeddings of each position's 3x5 neighbourhood, (B, T, P, 15*WINDOW_DIM*g)."""
        B, T = ids.shape[:2]
        blocks = self._group(self.previous_emb(ids)).flatten(3)  # (B, T, P, C)
        grid = blocks.reshape(B * T, self.side, self.side, -1).permute(0, 3, 1, 2)  # (BT, C, s, s)
        rows, cols = len(WINDOW_ROWS), len(WINDOW_COLS)
        window = F.unfold(grid, (rows, cols), padding=(rows // 2, cols // 2))  # (BT, C*rows*cols, P)
        return window.transpose(1, 2).reshape(B, T, self.positions, -1)

    def _window_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T, N) -> the ids of the 3x5 neighbourhood of each token's position (B, T, N, 15*g*g);
        places beyond the frame's edge hold the mask id."""
        return self._ungroup(self._block_window_ids(ids))

    def _block_window_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """_window_ids in block order: (B, T, P, g*g, 15*g*g), every token of a block its block's window."""
        B, T = ids.shape[:2]
        g, s = self.group, self.side
        rows, cols = len(WINDOW_ROWS), len(WINDOW_COLS)
        grid = self._group(ids).transpose(2, 3).reshape(B * T, g * g, s, s)
        grid = F.pad(grid, (cols // 2, cols // 2, rows // 2, rows // 2), value=self.mask_id)
        window = grid.unfold(2, rows, 1).unfold(3, cols, 1)  # (BT, g*g, s, s, rows, cols)
        window = window.permute(0, 2, 3, 1, 4, 5).reshape(B, T, s * s, 1, -1)  # (B, T, P, 1, 15*g*g)
        return window.expand(-1, -1, -1, g * g, -1)

    def _before(self, cache: KVCache, ids: torch.Tensor) -> torch.Tensor:
        """The ids of the frame before each of ids (B, T, N): the cache's newest, else a masked frame."""
        first = cache.last_ids if cache.last_ids is not None else torch.full_like(ids[:, 0], self.mask_id)
        return torch.cat([first[:, None], ids[:, :-1]], dim=1)

    def scores(self, h: torch.Tensor, before: torch.Tensor, keep: torch.Tensor):
        """Transformer output (B, T, P or P+1, D), the ids of the frame before each frame (B, T, N) and
        the positions to score (B, T, P) -> per kept position, its g*g tokens' scores over the ids
        (M, g*g, K); with `pointer` also their window places' scores (M, g*g, W) and the ids those
        places hold (M, g*g, W), else None, None."""
        h = h[:, :, : self.positions][keep]  # (M, D)
        shape = (len(h), self.group**2, -1)
        if not self.config.dynamics.pointer:
            return self.head(h).view(shape), None, None
        return self.head(h).view(shape), self.pointer(h).view(shape), self._block_window_ids(before)[keep]

    def _every_token(self, rows: torch.Tensor | None, B: int, T: int) -> torch.Tensor | None:
        """Rows (B*T*P, g*g, ...) of every position, as from scores() -> (B, T, N, ...)."""
        return None if rows is None else self._ungroup(rows.view(B, T, self.positions, *rows.shape[1:]))

    def _scored_positions(self, B: int, T: int, share: float, device) -> torch.Tensor:
        """(B, T, P): the positions to score, a random `share` of each frame's (all of them at share 1)."""
        if share >= 1:
            return torch.ones(B, T, self.positions, dtype=torch.bool, device=device)
        return torch.rand(B, T, self.positions, device=device) < share

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
        self.transformer(self.embed(clean, prev, self._before(cache, clean)), cache, append=True)

        ratio = 0.5 + 0.5 * torch.rand(B, T - 1, 1, device=ids.device)  # per-frame mask ratio ~ U(0.5, 1)
        full = torch.rand(B, T - 1, 1, device=ids.device) < self.config.dynamics.full_mask_rate
        ratio = ratio.masked_fill(full, 2.0)  # > 1: every token masked, as in the first round of play
        masked = torch.rand(B, T - 1, N, device=ids.device) < ratio
        target = ids[:, 1:]
        inputs = torch.where(masked, torch.full_like(target, self.mask_id), target)
        positions = torch.arange(1, T, device=ids.device)
        h = self.transformer(self.embed(inputs, prev[:, 1:], clean[:, :-1]), cache, targets=True, positions=positions)
        # The K-way output layer costs more than the transformer: training may score a share of the positions.
        keep = self._scored_positions(B, T - 1, self.config.dynamics.loss_share if self.training else 1.0, ids.device)
        scores, points, window = self.scores(h, clean[:, :-1], keep)  # rows (M, g*g, ...) of the kept positions
        out = DynamicsOutput(None, None, None)
        if keep.all():  # every position scored: the full (B, T-1, N, ...) tensors too, for samples and tests
            out.scores, out.points, out.window = (self._every_token(x, B, T - 1) for x in (scores, points, window))
        picked = self._group(masked)[keep]  # (M, g*g): the kept positions' masked tokens

        def rows(x: torch.Tensor) -> torch.Tensor:  # (B, T-1, N) -> the picked tokens' (M',)
            return self._group(x)[keep][picked]

        scores, wanted = scores[picked], rows(target)  # (M', K), (M',)
        if points is None:
            log_likelihood = -F.cross_entropy(scores, wanted, reduction="none")
            predicted = scores.argmax(-1)
        else:  # the target's likelihood alone: building p over all K ids and back costs ~3x (0.5 s a clip)
            points, window = points[picked], window[picked]
            log_likelihood = pointer_log_likelihood(scores, points, window, wanted)
            with torch.no_grad():
                sample = slice(0, ACCURACY_SAMPLE)
                predicted = pointer_mix(scores[sample], points[sample], window[sample]).argmax(-1)
                wanted = wanted[sample]
        # Most tokens repeat the frame before; `changed_weight` > 1 makes the ones that do not (what
        # the action moved) count for more, so copying is not the cheapest answer.
        weight = rows(torch.where(target != ids[:, :-1], self.config.dynamics.changed_weight, 1.0))
        out.loss = -(log_likelihood * weight).sum() / weight.sum()
        out.accuracy = (predicted == wanted).float().mean()
        return out

    def prime(self, cache: KVCache, ids: torch.Tensor, prev_actions: torch.Tensor,
              before: torch.Tensor | None = None) -> None:
        """Add complete frames ids (B, T, N), led into by prev_actions (B, T), to the context cache.
        `before` (B, N): the frame before ids[:, 0] when the cache does not hold it (default: its newest)."""
        if before is not None:
            cache.last_ids = before
        self.transformer(self.embed(ids, prev_actions, self._before(cache, ids)), cache, append=True)
        cache.last_ids = ids[:, -1]

    def next_logits(self, cache: KVCache, ids: torch.Tensor, action: torch.Tensor, nearby: float = 0.0) -> torch.Tensor:
        """Logits (B, N, K) for a partially masked next frame ids (B, N) reached by `action` (B,);
        `nearby` > 0: log-probabilities with that share moved onto each token's window (module doc)."""
        before = self._before(cache, ids[:, None])
        h = self.transformer(self.embed(ids[:, None], action[:, None], before), cache, targets=True)
        B = h.shape[0]
        every = self._scored_positions(B, 1, 1.0, h.device)
        scores, points, window = (self._every_token(x, B, 1) for x in self.scores(h, before, every))
        logits = (scores if points is None else pointer_mix(scores, points, window))[:, 0]
        if nearby <= 0:
            return logits
        window = self._window_ids(before) if window is None else window  # built once for the pointer and the prior
        return nearby_prior(logits, window[:, 0], nearby)


def nearby_prior(logits: torch.Tensor, window: torch.Tensor, share: float) -> torch.Tensor:
    """Logits (B, N, K) and each token's window ids (B, N, 15) -> log((1 - share) p + share p|window),
    p|window the distribution renormalized over the ids the window holds (the mask id: none)."""
    K = logits.shape[-1]
    held = torch.zeros(*window.shape[:-1], K + 1, dtype=torch.bool, device=logits.device)
    held = held.scatter_(-1, window, True)[..., :K]  # (B, N, K)
    log_p = torch.log_softmax(logits.float(), dim=-1)
    local = torch.log_softmax(log_p.masked_fill(~held, float("-inf")), dim=-1)
    if share >= 1:
        mixed = local
    else:
        mixed = torch.logaddexp(log_p + math.log1p(-share), local + math.log(share))
    return torch.where(held.any(-1, keepdim=True), mixed, log_p)


def pointer_mix(logits: torch.Tensor, points: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Scores for the K ids (..., K) and for the window's places (..., W) holding ids window (..., W)
    -> log-probabilities (..., K): one softmax over both, each place's share added to its id's.
    Places beyond the frame's edge (the mask id) get none."""
    K = logits.shape[-1]
    points = points.float().masked_fill(window >= K, float("-inf"))
    joint = torch.log_softmax(torch.cat([logits.float(), points], dim=-1), dim=-1)
    probs = joint[..., :K].exp().scatter_add(-1, window.clamp(max=K - 1), joint[..., K:].exp())
    return probs.clamp_min(1e-30).log()


def pointer_log_likelihood(scores: torch.Tensor, points: torch.Tensor, window: torch.Tensor,
                           target: torch.Tensor) -> torch.Tensor:
    """log p(target) (M,) under pointer_mix(scores (M, K), points (M, W), window (M, W)), without
    building p over all K ids. Left-out places get a large finite score, not -inf: a token no place
    points to must still have a finite gradient."""
    K, out = scores.shape[-1], -1e4
    scores, points = scores.float(), points.float().masked_fill(window >= K, out)
    total = torch.logaddexp(scores.logsumexp(-1), points.logsumexp(-1))
    generated = scores.gather(-1, target[:, None])[:, 0]
    pointed = points.masked_fill(window != target[:, None], out).logsumexp(-1)
    return torch.logaddexp(generated, pointed) - total
