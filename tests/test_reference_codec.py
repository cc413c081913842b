"""The WebP reference beside the tokenizer's PSNR: the budget is the tokens' bits, and it is kept."""

import math

import numpy as np
import pytest

from genie_play.eval.reference_codec import WEBP_OVERHEAD, token_bytes, webp_at, webp_available, webp_frames

pytestmark = pytest.mark.skipif(not webp_available(), reason="Pillow without WebP")


def _frames(count: int = 3, size: int = 32) -> np.ndarray:
    """Blocks and stripes: something between a flat fill and noise, like the built-in world."""
    rng = np.random.default_rng(0)
    frames = np.zeros((count, size, size, 3), np.uint8)
    for f in frames:
        f[:] = rng.integers(0, 256, 3)
        for _ in range(6):
            y, x = rng.integers(0, size - 8, 2)
            f[y:y + 8, x:x + 8] = rng.integers(0, 256, 3)
        f[size // 2:, ::3] = 40  # a hatched ground
    return frames


def test_token_bytes_is_the_ids_information():
    assert token_bytes(256, 1000) == pytest.approx(256 * math.log2(1000) / 8)  # the shipped grid: ~319 bytes
    assert token_bytes(64, 512) == 64 * 9 / 8


def test_webp_stays_within_the_budget_and_gets_better_with_more_bytes():
    frame = _frames(1)[0]
    small, small_size = webp_at(frame, 120)
    large, large_size = webp_at(frame, 600)
    assert small.shape == frame.shape and small.dtype == np.uint8
    assert small_size <= 120 < large_size <= 600
    error = lambda x: np.mean((x.astype(float) - frame) ** 2)  # noqa: E731
    assert error(large) < error(small)


def test_webp_frames_codes_each_frame():
    frames = _frames(3)
    coded, mean_size = webp_frames(frames, 400)
    assert coded.shape == frames.shape and 0 < mean_size <= 400
    assert WEBP_OVERHEAD == 30  # the container and picture size are not counted: the tokens know them too
