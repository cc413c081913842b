"""MaskGIT iterative decoding of one frame of tokens (Chang et al., 2022), as Genie uses it.

Start with every token masked. Each of `steps` rounds: predict all masked tokens in parallel,
sample them at `temperature`, then keep the most confident ones and re-mask the rest, so that
the number still masked follows a cosine schedule and reaches zero at the last round. Tokens,
once kept, never change. Confidence gets Gumbel noise scaled by `temperature` and annealed to
zero, as in MaskGIT: ranking by raw confidence alone tends to copy the previous frame.
Randomness comes from one torch.Generator per world, so world b's result does not depend on
which other worlds share the batch.
"""

from __future__ import annotations

import math
from typing import Callable

import torch


def _gumbel(shape: tuple[int, ...], generators: list[torch.Generator], device) -> torch.Tensor:
    """Standard Gumbel noise of shape (B, *shape), world b drawn from generators[b]."""
    u = torch.stack([torch.rand(shape, generator=g, device=device) for g in generators])
    return -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))


@torch.no_grad()
def maskgit_sample(
    next_logits: Callable[[torch.Tensor], torch.Tensor],
    ids: torch.Tensor,
    mask_id: int,
    maskgit_steps: int,
    temperature: float,
    generators: list[torch.Generator],
) -> torch.Tensor:
    """Fill the `mask_id` positions of ids (B, N); next_logits maps ids (B, N) -> logits (B, N, K)."""
    B, N = ids.shape
    known = ids != mask_id
    for step in range(maskgit_steps):
        if known.all():  # more rounds than tokens, or a fully given frame: nothing left to decide
            break
        logits = next_logits(ids).float()  # (B, N, K)
        log_probs = torch.log_softmax(logits, dim=-1)
        if temperature > 0:
            sampled = (logits / temperature + _gumbel(logits.shape[1:], generators, ids.device)).argmax(-1)
        else:
            sampled = logits.argmax(-1)
        confidence = torch.gather(log_probs, -1, sampled[..., None])[..., 0]  # (B, N)
        progress = (step + 1) / maskgit_steps
        if temperature > 0:
            confidence = confidence + temperature * (1 - progress) * _gumbel((N,), generators, ids.device)
        confidence = confidence.masked_fill(known, float("inf"))

        num_masked = (~known).sum(dim=1)  # (B,)
        still_masked = torch.full_like(num_masked, int(N * math.cos(math.pi / 2 * progress)))
        if step < maskgit_steps - 1:  # every round unmasks at least one token
            still_masked = torch.minimum(still_masked, (num_masked - 1).clamp_min(0))
        else:
            still_masked.zero_()
        still_masked = torch.minimum(still_masked, num_masked)
        rank = confidence.argsort(dim=1, descending=True).argsort(dim=1)  # 0 = most confident
        keep = rank < (N - still_masked)[:, None]
        ids = torch.where(keep & ~known, sampled, ids)
        known = known | keep
    return ids
