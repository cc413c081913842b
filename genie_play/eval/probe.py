"""The inverse-dynamics probe: how much of the true action the pixels of one transition reveal.

A supervised network with the conv LAM's encoder (genie_play.world.lam.TransitionEncoder) learns
the true action of (x_t, x_{t+1}) from labelled training clips of the built-in world, and is
scored on held-out clips. Training never uses labels anywhere else: the probe exists only to say
what a LAM of this encoder could reach at best, beside what it reaches without labels.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.errors import file_error
from genie_play.eval import metrics as M
from genie_play.world.lam import TransitionEncoder, frames_to_float


class InverseDynamicsProbe(nn.Module):
    """Pairs of frames (M, 2, H, W, 3) uint8 -> logits over the true actions (M, num_actions)."""

    def __init__(self, image_size: int, channels: int, num_actions: int):
        super().__init__()
        self.encoder = TransitionEncoder(image_size, channels, num_actions)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.encoder(frames_to_float(pairs))


def labelled_pairs(frames: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every labelled transition of clips: frames (C, T, H, W, 3), actions (C, T-1) with -1 for
    unknown -> pairs (M, 2, H, W, 3) and their actions (M,)."""
    pairs = torch.stack([frames[:, :-1], frames[:, 1:]], dim=2).flatten(0, 1)
    flat = actions.flatten()
    keep = flat >= 0
    return pairs[keep], flat[keep]


BATCH = 64  # labelled transitions per step
LR = 1e-3


def train_probe(data: Path, image_size: int, channels: int, num_actions: int, steps: int, batch: int = BATCH,
                seed: int = 0, device: torch.device | str = "cpu") -> InverseDynamicsProbe:
    """Fit the probe on random labelled transitions of a data folder of the built-in world."""
    from genie_play.data.dataset import ClipDataset

    dataset = ClipDataset(data, clip_frames=2, seed=seed)
    if dataset.size != (image_size, image_size):
        raise file_error(data, f"frames are {dataset.size[0]}x{dataset.size[1]}, the probe needs {image_size}x{image_size}")
    if not (dataset.actions and max(int(a.max()) for a in dataset.actions) >= 0):
        raise file_error(data, "has no true actions (imported video?); the probe needs the built-in world's data")
    torch.manual_seed(seed)
    probe = InverseDynamicsProbe(image_size, channels, num_actions).to(device)
    optimizer = torch.optim.AdamW(probe.parameters(), lr=LR, weight_decay=0.01)
    g = torch.Generator().manual_seed(seed)
    for step in range(steps):
        dataset.set_epoch(step)
        items = [dataset[int(i)] for i in torch.randint(len(dataset), (batch,), generator=g)]
        pairs, actions = labelled_pairs(torch.stack([it["frames"] for it in items]), torch.stack([it["actions"] for it in items]))
        if len(actions) == 0:
            continue
        for group in optimizer.param_groups:  # cosine decay: a stable end point at any length
            group["lr"] = LR * 0.5 * (1 + math.cos(math.pi * step / steps))
        loss = F.cross_entropy(probe(pairs.to(device)), actions.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return probe.eval()


@torch.no_grad()
def score_probe(probe: InverseDynamicsProbe, frames: torch.Tensor, actions: torch.Tensor, num_actions: int) -> dict:
    """action_probe_accuracy and action_probe_nmi on clips (C, T, H, W, 3) with true actions (C, T-1)."""
    pairs, truth = labelled_pairs(frames, actions)
    device = next(probe.parameters()).device
    guess = torch.cat([probe(pairs[i:i + 256].to(device)).argmax(-1).cpu() for i in range(0, len(pairs), 256)])
    table = M.contingency(guess, truth, num_actions, num_actions)
    return {"action_probe_accuracy": float((guess == truth).float().mean()), "action_probe_nmi": M.nmi(table)}
