"""Quantizers: the tokenizer's (finite scalar quantization, or a vector quantizer with 512-1024
codes), and the categorical one of the latent action model (8 codes; the paper's VQ is kept for
LAMs that ask for it).

Collapse is the known failure of VQ models (a few codes used, the rest dead), so the VQ
- compares l2-normalized vectors (cosine similarity), which keeps codes and encoder outputs on
  one scale and spreads assignments;
- restarts dead codes during training: a code whose running usage (decay 0.9, so a few dozen
  unused steps) falls below `dead_fraction` of the uniform share is moved onto a random encoder
  output from the current batch (with decay 0.99 a 512-code tokenizer on platformer frames
  collapsed to 3 codes; with 0.9 it used 30+ and rising after 150 steps);
- reports perplexity and the fraction of codes in use, for training logs and evaluation.
Gradients reach the encoder through the straight-through estimator; codes learn from the
codebook loss, the encoder is pulled towards its code by the commitment loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor  # (..., dim), straight-through: forward = code, gradient = encoder's
    ids: torch.Tensor  # (...), long, in [0, num_codes)
    loss: torch.Tensor  # codebook + beta * commitment
    perplexity: torch.Tensor  # exp(entropy) of this batch's code histogram: 1 = collapsed, num_codes = uniform
    usage: torch.Tensor  # fraction of codes used in this batch


def code_share(ids: torch.Tensor, num_codes: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(share of ids per code (num_codes,), perplexity, fraction of codes used) of a batch of ids."""
    counts = torch.bincount(ids.flatten(), minlength=num_codes).to(dtype)
    share = counts / counts.sum()
    perplexity = torch.exp(-(share * torch.log(share.clamp_min(1e-10))).sum())
    return share, perplexity, (counts > 0).to(dtype).mean()


class VectorQuantizer(nn.Module):
    """l2-normalized VQ with straight-through gradients, commitment loss and dead-code restarts."""

    def __init__(self, num_codes: int, dim: int, beta: float = 0.25, usage_decay: float = 0.9, dead_fraction: float = 0.03):
        super().__init__()
        self.num_codes, self.dim, self.beta = num_codes, dim, beta
        self.usage_decay, self.dead_fraction = usage_decay, dead_fraction
        self.codebook = nn.Parameter(F.normalize(torch.randn(num_codes, dim), dim=-1))
        # Running share of assignments per code; starts uniform so no code is "dead" at step 0.
        self.register_buffer("running_usage", torch.full((num_codes,), 1.0 / num_codes))

    def codes(self) -> torch.Tensor:
        return F.normalize(self.codebook, dim=-1)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        """Code vectors for ids (...) -> (..., dim)."""
        return F.embedding(ids, self.codes())

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        flat = F.normalize(z.reshape(-1, self.dim), dim=-1)  # (M, dim)
        codes = self.codes()
        ids = (flat @ codes.t()).argmax(dim=-1)  # nearest code by cosine similarity
        q = codes[ids]
        loss = F.mse_loss(q, flat.detach()) + self.beta * F.mse_loss(flat, q.detach())
        quantized = flat + (q - flat).detach()

        share, perplexity, usage = code_share(ids, self.num_codes, flat.dtype)
        if self.training:
            self._restart_dead_codes(share, flat.detach())
        return QuantizerOutput(
            quantized=quantized.view(*z.shape[:-1], self.dim),
            ids=ids.view(z.shape[:-1]),
            loss=loss,
            perplexity=perplexity,
            usage=usage,
        )

    @torch.no_grad()
    def _restart_dead_codes(self, probs: torch.Tensor, flat: torch.Tensor) -> None:
        self.running_usage.mul_(self.usage_decay).add_(probs, alpha=1 - self.usage_decay)
        dead = torch.nonzero(self.running_usage < self.dead_fraction / self.num_codes).squeeze(1)
        if len(dead) == 0:
            return
        picks = torch.randint(len(flat), (len(dead),), device=flat.device)
        self.codebook.data[dead] = flat[picks]
        self.running_usage[dead] = 1.0 / self.num_codes


class FiniteScalarQuantizer(nn.Module):
    """FSQ (Mentzer et al., 2023): each of len(levels) channels is bounded and rounded to one of
    levels[i] values; a token id is the mixed-radix number of those digits (prod(levels) codes).

    No codebook to learn and nothing to collapse: every code is a point of a fixed grid, and the
    encoder gets straight-through gradients of the rounding. Measured against the VQ at equal CPU
    time in the README ("The tokenizer")."""

    def __init__(self, levels: tuple[int, ...]):
        super().__init__()
        self.levels = tuple(levels)
        self.dim, self.num_codes = len(self.levels), math.prod(self.levels)
        L = torch.tensor(self.levels, dtype=torch.float32)
        self.register_buffer("spread", (L - 1) / 2, persistent=False)  # bounded values span [-spread, spread]
        # Even level counts have no middle value: their digits sit at half-integers, offset by 0.5.
        self.register_buffer("offset", (1 - L % 2) * 0.5, persistent=False)
        basis = torch.cumprod(torch.tensor((1,) + self.levels[:-1]), 0)
        self.register_buffer("basis", basis, persistent=False)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        """Code vectors for ids (...) -> (..., dim), each channel in [-1, 1]."""
        digits = (ids[..., None] // self.basis) % self.basis.new_tensor(self.levels)
        return (digits - self.spread) / self.spread

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        bounded = torch.tanh(z) * self.spread - self.offset  # (..., dim)
        rounded = bounded + (torch.round(bounded) - bounded).detach()  # straight-through
        digits = (rounded.detach() + self.offset + self.spread).long()  # 0..levels-1
        ids = (digits * self.basis).sum(-1)
        quantized = (rounded + self.offset) / self.spread
        _, perplexity, usage = code_share(ids, self.num_codes, z.dtype)
        return QuantizerOutput(quantized=quantized, ids=ids, loss=z.new_zeros(()), perplexity=perplexity, usage=usage)


class CategoricalQuantizer(nn.Module):
    """A few codes chosen by a classifier: the LAM's quantizer, collapse-proof by construction.

    The encoder's vector gives logits over `num_codes`; the forward pass takes the most likely
    code (one-hot), the gradient flows through the softmax (straight-through). A small penalty on
    the entropy deficit of the batch's average code distribution keeps every code in use: a VQ
    with 8 codes spent hundreds of steps on one code before its dead-code restarts spread it, and
    a decoder that ignores a constant code gives the encoder nothing to learn from.
    """

    def __init__(self, num_codes: int, dim: int, usage_weight: float = 0.01):
        super().__init__()
        self.num_codes, self.dim, self.usage_weight = num_codes, dim, usage_weight
        self.classify = nn.Linear(dim, num_codes)
        self.codebook = nn.Parameter(torch.randn(num_codes, dim))

    def codes(self) -> torch.Tensor:
        return F.normalize(self.codebook, dim=-1)

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        """Code vectors for ids (...) -> (..., dim)."""
        return F.embedding(ids, self.codes())

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        probs = self.classify(z).softmax(dim=-1)  # (..., num_codes)
        ids = probs.argmax(dim=-1)
        hard = F.one_hot(ids, self.num_codes).to(probs.dtype)
        quantized = (hard + probs - probs.detach()) @ self.codes()  # forward: the code; gradient: the softmax's
        mean = probs.reshape(-1, self.num_codes).mean(dim=0)
        deficit = math.log(self.num_codes) + (mean * mean.clamp_min(1e-9).log()).sum()  # 0 when used evenly
        _, perplexity, usage = code_share(ids, self.num_codes, probs.dtype)
        return QuantizerOutput(
            quantized=quantized,
            ids=ids,
            loss=self.usage_weight * deficit,
            perplexity=perplexity,
            usage=usage,
        )
