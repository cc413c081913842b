"""A reference point for the tokenizer's PSNR: WebP, a mature image codec, given the same bytes.

A frame of tokens holds tokens_per_frame * log2(codebook_size) bits, whatever the network does
with them. Coding the same frames with WebP at that many bytes says what such a budget buys a
hand-tuned codec (intra prediction, transforms, entropy coding). A tokenizer far below it is
under-trained; one near it will not gain much more without more bits per frame. On the built-in
world a 16x16 grid of 1,000-way tokens is 319 bytes, and WebP needs ~590 bytes for 30 dB on
held-out levels (README, "What the tokens' bytes can hold").
"""

from __future__ import annotations

import io
import math

import numpy as np

# RIFF/WEBP container (12 bytes), the VP8 chunk header (8) and the key frame's header (10, the
# picture size): the tokens know the frame size without spending bits on it.
WEBP_OVERHEAD = 30


def token_bytes(tokens_per_frame: int, codebook_size: int) -> float:
    """What one frame's token ids hold, in bytes."""
    return tokens_per_frame * math.log2(codebook_size) / 8


def webp_available() -> bool:
    from PIL import features

    return bool(features.check("webp"))


def webp_at(frame: np.ndarray, budget: float) -> tuple[np.ndarray, int]:
    """Frame (H, W, 3) uint8 coded as WebP at the best quality whose payload fits `budget` bytes
    (quality 0 if none does): the decoded frame and its payload size."""
    from PIL import Image

    def code(quality: int) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="WEBP", quality=quality, method=6)
        return buffer.getvalue()

    low, high = 0, 100  # WebP's size grows with quality: binary search for the last that fits
    best = code(0)
    while low <= high:
        mid = (low + high) // 2
        data = code(mid)
        if len(data) - WEBP_OVERHEAD <= budget:
            best, low = data, mid + 1
        else:
            high = mid - 1
    decoded = np.asarray(Image.open(io.BytesIO(best)).convert("RGB"))
    return decoded, len(best) - WEBP_OVERHEAD


def webp_frames(frames: np.ndarray, budget: float) -> tuple[np.ndarray, float]:
    """Frames (F, H, W, 3) uint8 -> the same frames through WebP at `budget` bytes a frame, and the
    mean payload it used (bytes)."""
    coded = [webp_at(frame, budget) for frame in frames]
    return np.stack([c[0] for c in coded]), float(np.mean([c[1] for c in coded]))
