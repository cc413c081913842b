"""Context-aware decoding: carry the frame shown before over into the new one, where it still fits.

A frame painted from its tokens alone has only what ~10 bits per 4x4 patch can hold: the bricks
of a level, the grain of a photo and the strokes of a sketch come back as flat colour. But from
one frame to the next most of the picture is the same picture, moved by the camera. So after the
tokenizer paints frame t from its tokens, this module

1. finds the camera's move: the whole-pixel shift (dy, dx) within `reach` that best lines the
   frame shown before up with the painted one (least squared error over the inside of the frame);
2. shifts the frame before by it, and
3. lets a small conv net choose, pixel by pixel, between the shifted old pixels and the painted
   new ones: out = m * shifted + (1 - m) * painted, m in [0, 1].

The tokens still decide what is where: the net learns to take the old pixels only where they
agree with what the tokens paint, so a sprite that moved, a new column scrolled in, or a token the
dynamics model changed on purpose is painted anew. The tokens are untouched, so the carry-over
can be trained on top of a tokenizer (and its dynamics model) without retraining either.

Why a searched shift and not a learned one: given the frame before as raw input, a conv decoder
trained 15 CPU minutes gained on one frame and lost it over a chain (25.6 dB painted alone -> 25.4
over 15 chained frames of held-out levels). Lining up is the hard part; choosing, once lined up,
is a local decision. Like Δ-IRIS (Micheli et al., 2024) it spends the tokens on what changed. What
it gains and costs is measured in the README ("Context-aware decoding"): a little, so the shipped
tokenizer does not use it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def find_shift(previous: torch.Tensor, current: torch.Tensor, reach: int) -> torch.Tensor:
    """The whole-pixel move (dy, dx), |dy|, |dx| <= reach, that best maps `previous` onto `current`.

    previous, current: (B, 3, H, W). Returns (B, 2) long. Compared in grey on the inside of the
    frame, where every candidate shift has pixels to compare.
    """
    H, W = current.shape[-2:]
    inside = current.mean(1)[:, reach:H - reach, reach:W - reach]  # (B, H-2r, W-2r)
    # Window (a, b) of `previous` sits where `current`'s inside is when the content moved by
    # (reach - a, reach - b); unfold gives every window as a view.
    windows = previous.mean(1).unfold(1, H - 2 * reach, 1).unfold(2, W - 2 * reach, 1)  # (B, 2r+1, 2r+1, h, w)
    error = ((windows - inside[:, None, None]) ** 2).mean((-1, -2)).flatten(1)  # (B, (2r+1)^2)
    best = error.argmin(1)
    side = 2 * reach + 1
    return torch.stack([reach - best // side, reach - best % side], dim=1)


def shift_frames(frames: torch.Tensor, shift: torch.Tensor, reach: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Move each frame (B, C, H, W) by its (dy, dx); returns the moved frames and where they are
    real (B, 1, H, W): 1 inside, 0 where the move uncovered pixels the old frame never had."""
    H, W = frames.shape[-2:]
    padded = F.pad(torch.cat([frames, torch.ones_like(frames[:, :1])], 1), (reach,) * 4)
    top, left = reach - shift[:, 0], reach - shift[:, 1]
    moved = torch.stack([padded[b, :, t:t + H, l:l + W] for b, (t, l) in enumerate(zip(top.tolist(), left.tolist()))])
    return moved[:, :-1], moved[:, -1:]


def blur(x: torch.Tensor, size: int = 5) -> torch.Tensor:
    """Box blur (B, C, H, W), same size out."""
    return F.avg_pool2d(x, size, 1, size // 2, count_include_pad=False)


class CarryOver(nn.Module):
    """(painted frame, frame shown before) -> the painted frame with the old pixels that still fit."""

    def __init__(self, channels: int = 48, reach: int = 10):
        super().__init__()
        from genie_play.world.tokenizer import ResBlock  # one residual block for the whole tokenizer

        self.reach = reach
        # Inputs at full resolution: painted (3), shifted old (3), where the old is real (1), and how
        # far apart they are, as they are and blurred (2), folded 2x2 into 36 channels so the
        # convolutions run at half size.
        self.chooser = nn.Sequential(
            nn.PixelUnshuffle(2), nn.Conv2d(36, channels, 3, padding=1), ResBlock(channels), ResBlock(channels),
            nn.SiLU(), nn.Conv2d(channels, 4, 3, padding=1), nn.PixelShuffle(2),
        )
        # Start by trusting the painted frame (m ~ 0.05): before training, decoding is as without context.
        nn.init.zeros_(self.chooser[-2].weight)
        nn.init.constant_(self.chooser[-2].bias, -3.0)

    def forward(self, painted: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """painted, previous: (B, 3, H, W) in [-1, 1] -> (B, 3, H, W) in [-1, 1]."""
        with torch.no_grad():
            shift = find_shift(previous, painted, self.reach)
        moved, real = shift_frames(previous, shift, self.reach)
        apart = (moved - painted).abs().mean(1, keepdim=True)
        # The tokens hold the coarse picture, not its grain: where the blurred old frame matches the
        # blurred painted one, the old pixels are the same place, only sharper.
        apart_coarse = blur((blur(moved) - blur(painted)).abs().mean(1, keepdim=True))
        features = torch.cat([painted, moved, real, apart, apart_coarse], 1)
        take_old = torch.sigmoid(self.chooser(features)) * real  # (B, 1, H, W)
        return take_old * moved + (1 - take_old) * painted
