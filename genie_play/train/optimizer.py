"""AdamW and its learning-rate schedule, the same for the LAM and the dynamics model."""

from __future__ import annotations

import math

import torch

from genie_play.config import GenieConfig


def make_optimizer(model: torch.nn.Module, config: GenieConfig) -> torch.optim.AdamW:
    """AdamW; matrices decay, biases/norms/embedding-like vectors don't (nanoGPT's split)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.train.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.train.lr, betas=(0.9, 0.95))


def learning_rate(step: int, steps: int, config: GenieConfig) -> float:
    """Linear warmup to train.lr, then cosine decay to a tenth of it at the run's last step (of `steps`)."""
    t = config.train
    if step < t.warmup_steps:
        return t.lr * (step + 1) / t.warmup_steps
    progress = min(1.0, (step - t.warmup_steps) / max(1, steps - t.warmup_steps))
    return t.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
