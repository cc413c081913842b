"""What each network learns from a batch of clips: its loss, the numbers worth logging, samples.

The dynamics objective never sees ground-truth actions: it tokenizes the clip with a trained
tokenizer and labels each transition with a trained LAM, both frozen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from genie_play.config import GenieConfig
from genie_play.errors import GenieError
from genie_play.io import load_network
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import LAMBase, build_lam
from genie_play.world.tokenizer import TokenizerBase, build_tokenizer

NETWORKS = ("tokenizer", "lam", "dynamics")


def psnr_from_mse(mse_pm1: float) -> float:
    """PSNR in dB for an MSE measured on pixels scaled to [-1, 1]."""
    return 10 * math.log10(4.0 / max(mse_pm1, 1e-12))


@dataclass
class Objective:
    """One network under training, plus the frozen networks its inputs come from."""

    network: str
    model: nn.Module
    tokenizer: TokenizerBase | None = None  # frozen, dynamics only
    lam: LAMBase | None = None  # frozen, dynamics only
    tokenizer_path: Path | None = None
    lam_path: Path | None = None

    def loss(self, model: nn.Module, frames: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """`model` is self.model or its DDP wrapper; frames (B, T, H, W, 3) uint8."""
        if self.network == "dynamics":
            with torch.no_grad():
                ids, actions = self.tokenizer.encode(frames), self.lam.infer_actions(frames)
            out = model(ids, actions)
            return out.loss, {"loss": out.loss, "accuracy": out.accuracy}
        if self.network == "lam" and self.model.config.lam.architecture == "conv":
            frames = random_pairs(frames)  # the conv LAM reads pairs: one per clip is more varied than 15
        config = self.model.config
        if self.network == "tokenizer" and config.tokenizer.decoder_context:
            frames = random_clips(frames, config.train.tokenizer_clip)  # the carry-over learns from sequences
        elif self.network == "tokenizer" and config.tokenizer.architecture == "conv":
            # A kept encoder codes whole frames in play; a crop's edge tokens would teach the painter others.
            frames = random_frames(frames, 0 if config.train.tokenizer_frozen else config.train.tokenizer_crop)
            frames = recolor(frames, config.train.tokenizer_recolor)
        out = model(frames)
        return out.loss, {
            "loss": out.loss, "recon_mse": out.recon_loss,
            "perplexity": out.vq.perplexity, "code_usage": out.vq.usage,
        }

    def to(self, device: torch.device) -> Objective:
        self.model.to(device)
        for frozen in (self.tokenizer, self.lam):
            if frozen is not None:
                frozen.to(device).eval().requires_grad_(False)
        return self


def random_pairs(frames: torch.Tensor) -> torch.Tensor:
    """One random transition of each clip: (B, T, H, W, 3) -> (B, 2, H, W, 3).

    It may be a cut to a new level (under 1% of transitions in the built-in world): the LAM has no
    labels to leave cuts out with, and one code for "everything changed" is what it learns."""
    start = torch.randint(frames.shape[1] - 1, (frames.shape[0],), device=frames.device)
    rows = torch.arange(frames.shape[0], device=frames.device)
    return torch.stack([frames[rows, start], frames[rows, start + 1]], dim=1)


def random_clips(frames: torch.Tensor, length: int) -> torch.Tensor:
    """`length` consecutive frames of each clip, from a random start: (B, T, ...) -> (B, length, ...)."""
    length = min(length, frames.shape[1])
    start = torch.randint(frames.shape[1] - length + 1, (frames.shape[0], 1), device=frames.device)
    rows = torch.arange(frames.shape[0], device=frames.device)[:, None]
    return frames[rows, start + torch.arange(length, device=frames.device)]


def random_frames(frames: torch.Tensor, crop: int = 0) -> torch.Tensor:
    """One random frame of each clip, cut to a random crop x crop square (0: whole):
    (B, T, H, W, 3) -> (B, 1, crop, crop, 3).

    The conv tokenizer codes frames one by one, and one frame per clip is more varied than all 16.
    Its convolutions do the same everywhere in a picture, so crops teach them as whole frames do
    at a quarter of the cost (at 32 of 64 pixels); the crop is one per batch, which is cheap."""
    pick = torch.randint(frames.shape[1], (frames.shape[0],), device=frames.device)
    frames = frames[torch.arange(frames.shape[0], device=frames.device), pick][:, None]
    H, W = frames.shape[2:4]
    if 0 < crop < min(H, W):
        top, left = torch.randint(H - crop + 1, ()).item(), torch.randint(W - crop + 1, ()).item()
        frames = frames[:, :, top:top + crop, left:left + crop]
    return frames


def recolor(frames: torch.Tensor, share: float) -> torch.Tensor:
    """Recolour a random `share` of clips (B, T, H, W, 3) uint8: shuffle their colour channels and
    invert half of them. Held-out looks are mostly new palettes, and an inverted paper sketch is a
    dark board with light ink, so the codes learn shapes rather than the training palettes."""
    if share <= 0:
        return frames
    B = frames.shape[0]
    chosen = torch.rand(B, device=frames.device) < share
    order = torch.argsort(torch.rand(B, 3, device=frames.device), dim=1)  # a random permutation per clip
    order = torch.where(chosen[:, None], order, torch.arange(3, device=frames.device))
    shuffled = torch.gather(frames, -1, order[:, None, None, None, :].expand_as(frames))
    invert = (chosen & (torch.rand(B, device=frames.device) < 0.5))[:, None, None, None, None]
    return torch.where(invert, 255 - shuffled, shuffled)


def build_objective(network: str, config: GenieConfig, tokenizer_path: Path | None = None,
                    lam_path: Path | None = None) -> Objective:
    if network == "tokenizer":
        tokenizer = build_tokenizer(config)
        if config.train.tokenizer_frozen:
            tokenizer.train_painter_only()
        return Objective(network, tokenizer)
    if network == "lam":
        return Objective(network, build_lam(config))
    if network != "dynamics":
        raise ValueError(f"unknown network {network!r}")
    if tokenizer_path is None or lam_path is None:
        raise GenieError("train dynamics needs --tokenizer FILE and --lam FILE (trained weights)")
    tokenizer, tw = load_network(tokenizer_path, "tokenizer", build_tokenizer)
    lam, lw = load_network(lam_path, "lam", build_lam)
    if tw.config.image_size != config.image_size or lw.config.image_size != config.image_size:
        raise GenieError(f"{tokenizer_path} / {lam_path}: trained at another image size than the preset's {config.image_size}")
    # The dynamics model must speak the tokenizer's language and the LAM's action count.
    return Objective(network, Dynamics(_adopt(config, tw.config, lw.config)), tokenizer, lam,
                     Path(tokenizer_path), Path(lam_path))


def _adopt(config: GenieConfig, tokenizer_config: GenieConfig, lam_config: GenieConfig) -> GenieConfig:
    import dataclasses

    return dataclasses.replace(config, tokenizer=tokenizer_config.tokenizer, num_actions=lam_config.num_actions)
