"""The ST-transformer: Genie's one building block, shared by the tokenizer, the LAM and the dynamics model.

For a clip x of shape (B, T, N, D) -- T frames of N patch tokens -- each layer does
    spatial self-attention  (within a frame, over its N tokens)
    causal temporal attention (each patch position over frames <= t)
    MLP
with pre-norm and residuals, so cost grows linearly in T rather than quadratically in T*N.

Departures from the paper, and why:
- Time positions use rotary embeddings (RoPE) inside temporal attention instead of absolute
  position embeddings: attention then depends only on how far apart two frames are, so keys
  cached during play are rotated once, when computed, and stay valid while the window slides.
- Temporal attention has a sliding window of `window` frames (Mistral-style): frame t sees frames
  t-window+1..t. Training clips are never longer than the window, so training is plain causal;
  during play the KV cache keeps the last window-1 frames and a cached step equals a full forward
  over the whole history with that banded mask (tested).
- "Target" frames (MaskGIT's partially masked next frame) attend to the cached clean context and
  to themselves only. Training runs the same way -- a clean pass fills the cache, a target pass
  predicts -- so what the model sees at play is exactly what it saw in training.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    """Keys and values of past frames for every layer's temporal attention.

    Per layer: k, v of shape (B*N, heads, L, head_dim). Keys are stored already rotated (RoPE) at
    their absolute frame position, so a step never re-rotates the past: attention scores depend
    only on position differences. `start` is the position of the oldest cached frame.
    `valid` (B, L) marks which cached frames each batch row may see; None means all. Batched
    worlds that restart at different times share one cache this way (see `restart`).
    """

    REBASE_AFTER = 4096  # re-rotate to position 0 now and then, so angles stay small in fp32

    def __init__(self, max_frames: int | None = None, start: int = 0):
        self.max_frames = max_frames  # None keeps everything (training); play keeps window-1
        self.layers: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.start = start
        self.valid: torch.Tensor | None = None
        self.last_ids: torch.Tensor | None = None  # (B, N) token ids of the newest frame, for the dynamics model

    def __len__(self) -> int:
        return self.layers[0][0].shape[2] if self.layers else 0

    @property
    def next_position(self) -> int:
        """The time position of a frame that would come right after the cached ones."""
        return self.start + len(self)

    def layer(self, i: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        return self.layers[i] if i < len(self.layers) else None

    def repeat(self, times: int) -> KVCache:
        """A copy holding `times` copies of the batch (batch-major), e.g. to try several actions at once."""
        out = KVCache(self.max_frames)
        out.layers = [(k.repeat(times, 1, 1, 1), v.repeat(times, 1, 1, 1)) for k, v in self.layers]
        out.start = self.start
        out.valid = self.valid.repeat(times, 1) if self.valid is not None else None
        out.last_ids = self.last_ids.repeat(times, 1) if self.last_ids is not None else None
        return out

    def restart(self, rows: torch.Tensor, fresh: KVCache) -> None:
        """Make batch rows `rows` (B,) bool start over: `fresh` (a cache of one frame for those rows
        only, computed at position next_position-1) becomes their newest frame; older ones are hidden."""
        if fresh.last_ids is not None and self.last_ids is not None:
            self.last_ids = self.last_ids.clone()
            self.last_ids[rows] = fresh.last_ids
        if not self.layers:
            return  # a cache that keeps no frames has nothing to restart
        first = fresh.layers
        B, L = int(rows.shape[0]), len(self)
        per_row = rows.repeat_interleave(self.layers[0][0].shape[0] // B)  # (B*N,)
        for i, ((k, v), (k1, v1)) in enumerate(zip(self.layers, first)):
            k, v = k.clone(), v.clone()  # other caches (previews, copies) may share these tensors
            k[per_row, :, -1:], v[per_row, :, -1:] = k1, v1
            self.layers[i] = (k, v)
        if self.valid is None:
            self.valid = torch.ones(B, L, dtype=torch.bool, device=rows.device)
        self.valid = self.valid.clone()
        self.valid[rows, :-1] = False
        self.valid[rows, -1] = True

    def newest(self, first: int, last: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer, the newest frame's keys/values for batch rows first..last-1, ready for extend()."""
        return [(k[first:last, :, -1:].clone(), v[first:last, :, -1:].clone()) for k, v in self.layers]

    def extend(self, new: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Append the keys/values of new frames (one (k, v) per layer), dropping the oldest."""
        if not self.layers:
            self.layers = list(new)
        else:
            self.layers = [(torch.cat([k0, k1], 2), torch.cat([v0, v1], 2)) for (k0, v0), (k1, v1) in zip(self.layers, new)]
        if self.valid is not None:  # new frames are visible to every row
            added = len(self) - self.valid.shape[1]
            self.valid = torch.cat([self.valid, self.valid.new_ones(self.valid.shape[0], added)], dim=1)
        if self.max_frames is not None and len(self) > self.max_frames:
            drop, keep = len(self) - self.max_frames, self.max_frames
            self.start += drop
            # k[:, :, -0:] would keep everything, so 0 is its own case
            self.layers = [(k[:, :, -keep:], v[:, :, -keep:]) for k, v in self.layers] if keep else []
            if self.valid is not None:
                self.valid = self.valid[:, drop:]
                if bool(self.valid.all()):  # checked only when frames leave (a GPU sync)
                    self.valid = None  # every row has a full past again: back to the mask-free path
        if self.start >= self.REBASE_AFTER and self.layers:
            k0 = self.layers[0][0]
            back = rope_tables(torch.full((len(self),), -self.start, device=k0.device), k0.shape[-1])
            self.layers = [(apply_rope(k, back), v) for k, v in self.layers]
            self.start = 0


def rope_tables(positions: torch.Tensor, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (T, head_dim/2) of the rotary angles for time `positions` (T,); shared by all layers."""
    half = head_dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    angles = positions.to(torch.float32)[:, None] * freqs[None, :]
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotate pairs of channels of x (..., T, head_dim) by the angles in `rope` (from rope_tables)."""
    half = x.shape[-1] // 2
    cos, sin = rope[0].to(x.dtype), rope[1].to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class SpatialAttention(nn.Module):
    """Full self-attention among the N tokens of each frame."""

    def __init__(self, d_model: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, N, D = x.shape
        q, k, v = self.qkv(x.reshape(B * T, N, D)).view(B * T, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)  # (B*T, heads, N, head_dim)
        return self.proj(y.transpose(1, 2).reshape(B, T, N, D))


class TemporalAttention(nn.Module):
    """Causal attention over frames at each patch position, optionally continuing a KV cache."""

    def __init__(self, d_model: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(
        self,
        x: torch.Tensor,
        past: tuple[torch.Tensor, torch.Tensor] | None,
        past_start: int,
        positions: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        window: int,
        targets: bool,
        past_valid: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x: (B, T, N, D) frames at time `positions` (T,); past: cached frames from time past_start on.

        Causal frames see the past and earlier frames of x; target frames see the past before their
        own time and themselves only. past_valid (B*N, 1, 1, L) hides cached frames per row.
        Returns the output and this call's (rotated) keys/values.
        """
        B, T, N, D = x.shape
        h = x.transpose(1, 2).reshape(B * N, T, D)
        q, k, v = self.qkv(h).view(B * N, T, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)  # 3 x (B*N, heads, T, hd)
        q, k = apply_rope(q, rope), apply_rope(k, rope)
        new_kv = (k, v)
        num_past = past[0].shape[2] if past is not None else 0
        if num_past == 0 and not targets and T <= window:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            now = int(positions[0])
            if T == 1 and num_past and past_start + num_past <= now < past_start + window:
                y = _attend_past_and_self(q, past, k, v, past_valid)  # the play step: one frame, whole cache visible
            else:
                if num_past:
                    k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
                mask = _temporal_mask(positions, past_start, num_past, window, targets)
                if num_past and past_valid is not None:
                    own = past_valid.new_ones(past_valid.shape[:-1] + (T,))
                    mask = mask & torch.cat([past_valid, own], dim=-1)  # (B*N, 1, T, L + T)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.view(B, N, self.num_heads, T, -1).permute(0, 3, 1, 2, 4).reshape(B, T, N, D)
        return self.proj(y), new_kv


def _attend_past_and_self(q, past, k, v, past_valid=None) -> torch.Tensor:
    """Softmax attention of one frame's q (BN, h, 1, hd) over the cached past and its own k, v.

    Equal to attention over cat(past, own) but without copying the cache on every MaskGIT round.
    """
    scale = q.shape[-1] ** -0.5
    s_past = (q @ past[0].transpose(-1, -2)) * scale  # (BN, h, 1, L)
    if past_valid is not None:
        s_past = s_past.masked_fill(~past_valid, float("-inf"))
    s_own = (q * k).sum(-1, keepdim=True) * scale  # (BN, h, 1, 1)
    top = torch.maximum(s_past.amax(-1, keepdim=True), s_own)
    e_past, e_own = (s_past - top).exp(), (s_own - top).exp()
    return (e_past @ past[1] + e_own * v) / (e_past.sum(-1, keepdim=True) + e_own)


def _temporal_mask(positions: torch.Tensor, past_start: int, num_past: int, window: int, targets: bool) -> torch.Tensor:
    """Boolean (T, num_past + T) mask: which keys each query frame may attend to."""
    q = positions[:, None]
    past = torch.arange(past_start, past_start + num_past, device=positions.device)[None, :]
    see_past = (past < q) & (past > q - window)
    own = positions[None, :]
    if targets:
        see_own = torch.eye(len(positions), dtype=torch.bool, device=positions.device)
    else:
        see_own = (own <= q) & (own > q - window)
    return torch.cat([see_past, see_own], dim=1)


class STBlock(nn.Module):
    """One ST-transformer layer: spatial attention -> causal temporal attention -> MLP."""

    def __init__(self, d_model: int, num_heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm_spatial = nn.LayerNorm(d_model)
        self.spatial = SpatialAttention(d_model, num_heads)
        self.norm_temporal = nn.LayerNorm(d_model)
        self.temporal = TemporalAttention(d_model, num_heads)
        self.norm_mlp = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, mlp_ratio * d_model), nn.GELU(approximate="tanh"), nn.Linear(mlp_ratio * d_model, d_model)
        )

    def forward(self, x, past, past_start, positions, rope, window, targets, past_valid=None):
        x = x + self.spatial(self.norm_spatial(x))
        y, new_kv = self.temporal(self.norm_temporal(x), past, past_start, positions, rope, window, targets, past_valid)
        x = x + y
        return x + self.mlp(self.norm_mlp(x)), new_kv


class STTransformer(nn.Module):
    """A stack of ST blocks with a final LayerNorm, over (B, T, N, D) token grids."""

    def __init__(self, d_model: int, num_heads: int, num_layers: int, window: int):
        super().__init__()
        self.window = window  # the context length in frames (config.context_frames)
        self.blocks = nn.ModuleList(STBlock(d_model, num_heads) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        x: torch.Tensor,
        cache: KVCache | None = None,
        *,
        append: bool = False,
        targets: bool = False,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run frames x (B, T, N, D) after the frames held in `cache` (if any).

        append:    add these frames' keys/values to the cache (clean frames only).
        targets:   x holds independent candidate frames for the times in `positions` (default:
                   right after the cache); each sees the cached past before its time and itself.
        """
        start, end = (cache.start, cache.next_position) if cache is not None else (0, 0)
        if positions is None:
            positions = torch.arange(end, end + x.shape[1], device=x.device)
        rope = rope_tables(positions, x.shape[-1] // self.blocks[0].temporal.num_heads)
        past_valid = None
        if cache is not None and cache.valid is not None:  # (B, L) -> (B*N, 1, 1, L), rows as in the keys
            past_valid = cache.valid.repeat_interleave(x.shape[2], dim=0)[:, None, None, :]
        new_kvs = []
        for i, block in enumerate(self.blocks):
            past = cache.layer(i) if cache is not None else None
            x, kv = block(x, past, start, positions, rope, self.window, targets, past_valid)
            new_kvs.append(kv)
        if append:
            if cache is None:
                raise ValueError("append=True needs a cache")
            cache.extend(new_kvs)
        return self.norm(x)


def init_weights(module: nn.Module) -> None:
    """GPT-style init: small normal weights, zero biases, unit LayerNorms."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
