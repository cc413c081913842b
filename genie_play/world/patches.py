"""Frames <-> patch tokens: the pixel interface of the tokenizer and the latent action model."""

from __future__ import annotations

import torch


def frames_to_float(frames: torch.Tensor) -> torch.Tensor:
    """uint8 frames in [0, 255] or float frames in [0, 1] -> float in [-1, 1], same shape."""
    if frames.dtype == torch.uint8:
        frames = frames.float() / 255.0
    return frames * 2.0 - 1.0


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, T, H, W, C) -> (B, T, N, patch*patch*C) with N = (H/patch)*(W/patch), row-major."""
    B, T, H, W, C = x.shape
    x = x.reshape(B, T, H // patch, patch, W // patch, patch, C).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(B, T, (H // patch) * (W // patch), patch * patch * C)


def unpatchify(x: torch.Tensor, patch: int, size: int, channels: int = 3) -> torch.Tensor:
    """(B, T, N, patch*patch*C) -> (B, T, size, size, C); the inverse of `patchify`."""
    B, T, N, _ = x.shape
    side = size // patch
    x = x.reshape(B, T, side, side, patch, patch, channels).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(B, T, size, size, channels)
