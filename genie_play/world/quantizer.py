"""The latent action model's quantizer: a few codes chosen by a classifier, and the batch
statistics (perplexity, codes in use) that training logs and the evaluation report."""

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
