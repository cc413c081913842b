"""The sampler: how play turns the dynamics model's logits into the next frame's block tokens.

Its knobs (config.SamplerConfig) live here, not in the network. Only the strip that scrolled in
is sampled (temperature, then min-p: sources at least `min_p` as likely as the best); every other
block takes its most likely source with `carry_bias` added to the carry id, so the picture never
shuffles and a block leaves the moved frame only when the model is sure. Those blocks are also
the most confident, so MaskGIT settles them first and paints the new strip beside them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import torch

from genie_play.config import SamplerConfig
from genie_play.errors import GenieError
from genie_play.world.maskgit import maskgit_sample

GREEDY = 1e3  # logit scale outside the new strip: sampling there picks the most likely source


@dataclass
class Sampler:
    """MaskGIT over the block tokens with the knobs of config.SamplerConfig."""

    maskgit_steps: int
    temperature: float
    min_p: float
    carry_bias: float

    def __post_init__(self):
        if self.maskgit_steps < 1 or self.temperature < 0 or not 0 <= self.min_p <= 1:
            raise GenieError(f"sampling needs maskgit_steps >= 1, temperature >= 0 and min_p in [0, 1], got "
                             f"{self.maskgit_steps}, {self.temperature}, {self.min_p}")

    @classmethod
    def from_config(cls, config: SamplerConfig, **overrides) -> Sampler:
        """The config's knobs, with those of `overrides` that are not None in their place."""
        knobs = dataclasses.asdict(config)
        knobs.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**knobs)

    def knobs(self) -> tuple:
        """What a sample depends on besides the networks and the random stream."""
        return dataclasses.astuple(self)

    def block_ids(self, token_logits: Callable[[torch.Tensor], torch.Tensor], new: torch.Tensor, valid: torch.Tensor,
                  carry: int, mask_id: int, generators: list[torch.Generator]) -> torch.Tensor:
        """token_logits maps ids (B, G, G) (mask_id where unknown) -> logits (B, G, G, V); new (B, G, G)
        marks the new strip's blocks, valid (B, G, G, V) the sources inside the frame -> ids (B, G, G)."""
        B, G = new.shape[:2]
        scale = torch.where(new, 1.0, GREEDY)[..., None]
        bias = torch.zeros(valid.shape[-1], device=valid.device)
        bias[carry] = self.carry_bias

        def next_logits(ids: torch.Tensor) -> torch.Tensor:  # (B, N) -> (B, N, V)
            logits = (token_logits(ids.view(B, G, G)) + bias).masked_fill(~valid, -1e9)
            if self.min_p > 0:  # log p - log p_max < log min_p: out
                unlikely = logits - logits.amax(dim=-1, keepdim=True) < torch.log(torch.tensor(self.min_p))
                logits = logits.masked_fill(unlikely, -1e9)
            return (logits * scale).flatten(1, 2)

        ids = torch.full((B, G * G), mask_id, device=new.device)
        return maskgit_sample(next_logits, ids, mask_id, self.maskgit_steps, self.temperature, generators).view(B, G, G)
