"""Video tokenizer: a convolutional autoencoder with a discrete bottleneck, frame -> token ids -> frame.

Each 64x64 frame becomes a grid of (image_size / patch_size)^2 token ids (16x16 at patch 4); the
dynamics model predicts those ids and the decoder paints them back. The encoder halves the
picture log2(patch_size) times with residual conv blocks; the decoder mirrors it, wider, because
painting sharp edges and textures back is the harder half of the job. Frames are coded one at a
time: the tokens of a frame depend on that frame only, so a decoded frame never waits on the past.
With `decoder_context` the decoder then carries the frame shown before over into the painted one
where it still fits (genie_play.world.carry): the tokens say what changed, the old frame keeps the
detail they cannot hold.

Why not the paper's ST-ViViT (genie_play.world.tokenizer_st, still loadable): its linear patch
head paints each 8x8 patch from one vector, and its attention costs a CPU far more per pixel than
convolutions. In 6 minutes of CPU training the conv tokenizer reconstructed held-out frames 6 dB
more sharply (24.8 vs 18.9 dB; README, "The tokenizer").

Loss: L2 + L1 on pixels in [-1, 1] (L1 keeps flat areas and thin lines crisp where L2 alone
settles for a blur), plus the quantizer's own loss (zero for FSQ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.config import GenieConfig
from genie_play.world.carry import CarryOver
from genie_play.world.patches import frames_to_float
from genie_play.world.quantizer import FiniteScalarQuantizer, QuantizerOutput, VectorQuantizer


@dataclass
class TokenizerOutput:
    recon: torch.Tensor  # (B, T, H, W, 3) in [-1, 1] (unclamped)
    ids: torch.Tensor  # (B, T, N)
    loss: torch.Tensor  # what training minimises
    recon_loss: torch.Tensor  # pixel MSE in [-1, 1] (the logs turn it into PSNR)
    vq: QuantizerOutput


class TokenizerBase(nn.Module):
    """What every tokenizer offers: forward(frames) for training, encode(frames) -> ids,
    decode(ids, cache, append, previous) -> frames in [0, 1], and set_window for play.
    `previous` (B, H, W, 3) is the frame shown before ids[:, 0]; only context-aware decoders use it."""

    def set_window(self, frames: int) -> None:
        """How many frames the decoder may look back on during play (only temporal decoders care)."""


def build_tokenizer(config: GenieConfig) -> TokenizerBase:
    """The tokenizer that `config.tokenizer.architecture` names (the argument `io.load_network` wants)."""
    if config.tokenizer.architecture == "st_transformer":
        from genie_play.world.tokenizer_st import STTokenizer

        return STTokenizer(config)
    return Tokenizer(config)


def build_quantizer(config: GenieConfig) -> nn.Module:
    c = config.tokenizer
    if c.quantizer == "fsq":
        return FiniteScalarQuantizer(c.levels)
    return VectorQuantizer(c.codebook_size, c.latent_dim)


class ResBlock(nn.Module):
    """x + conv(act(conv(act(x)))); the second conv starts at zero, so every block starts as the
    identity and a deep stack trains without normalization layers (which cost time at play)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.silu(self.conv1(F.silu(x))))


class ResStack(ResBlock):
    """`blocks` residual blocks in a row. The first one's tensors keep a lone ResBlock's names and
    the rest sit in `more`, so a one-block file loads as is, and into a deeper painter (`train
    --init`) whose new blocks start as the identity: it paints exactly as before, then learns."""

    def __init__(self, channels: int, blocks: int):
        super().__init__(channels)
        self.more = nn.Sequential(*[ResBlock(channels) for _ in range(blocks - 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.more(super().forward(x))


def widths(base: int, levels: int) -> list[int]:
    """Channels at each resolution, full size first: doubling per halving, at most 4x the base."""
    return [base * 2 ** min(i, 2) for i in range(levels + 1)]


class Tokenizer(TokenizerBase):
    """Frames (B, T, H, W, 3) <-> token ids (B, T, N), N = (image_size / patch_size)^2."""

    def __init__(self, config: GenieConfig):
        super().__init__()
        self.config = config
        c = config.tokenizer
        levels = int(math.log2(c.patch_size))
        self.vq = build_quantizer(config)
        enc, dec = widths(c.channels, levels), widths(c.decoder_channels, levels)

        # The first halving is a space-to-depth (each 2x2 block of pixels becomes 12 channels) and the
        # last doubling its inverse: full-resolution convolutions cost most and helped least.
        encoder = [nn.PixelUnshuffle(2), nn.Conv2d(12, enc[1], 3, padding=1)]
        for i in range(1, levels):  # resolution 32 -> 16 -> ... -> 64 / patch_size
            encoder += [ResBlock(enc[i]), nn.Conv2d(enc[i], enc[i + 1], 4, stride=2, padding=1)]
        encoder += [ResBlock(enc[-1]), nn.SiLU(), nn.Conv2d(enc[-1], self.vq.dim, 1)]
        self.encoder = nn.Sequential(*encoder)

        decoder = [nn.Conv2d(self.vq.dim, dec[-1], 3, padding=1), ResStack(dec[-1], c.decoder_blocks)]
        for i in reversed(range(1, levels)):
            decoder += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(dec[i + 1], dec[i], 3, padding=1),
                        ResStack(dec[i], c.decoder_blocks)]
        decoder += [nn.SiLU(), nn.Conv2d(dec[1], 12, 3, padding=1), nn.PixelShuffle(2)]
        self.decoder = nn.Sequential(*decoder)
        self.carry = CarryOver(reach=c.context_reach) if c.decoder_context else None

    def train_painter_only(self) -> None:
        """Train only the painter (decoder and carry-over): encoder and quantizer stay as loaded, so
        the tokens (and a dynamics model trained on them) keep their meaning."""
        for name, p in self.named_parameters():
            p.requires_grad_(name.startswith(("decoder.", "carry.")))

    def forward(self, frames: torch.Tensor) -> TokenizerOutput:
        """With the carry-over, frames (B, T, ...) are a clip: frame 0 is painted alone, each later one
        carries over from the one decoded before it, as in play (where frame 0 is the prompt)."""
        x = frames_to_float(frames)  # (B, T, H, W, 3)
        vq = self.vq(self._latents(x))
        recon = self._paint(vq.quantized)
        loss = F.mse_loss(recon, x) + F.l1_loss(recon, x)
        if self.carry is not None:
            recon = self._carry_over(recon, x[:, 0])
            loss = loss + F.mse_loss(recon[:, 1:], x[:, 1:]) + F.l1_loss(recon[:, 1:], x[:, 1:])
        return TokenizerOutput(recon, vq.ids.flatten(2), loss + vq.loss, F.mse_loss(recon, x), vq)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 or [0, 1] frames (B, T, H, W, 3) -> token ids (B, T, N)."""
        return self.vq(self._latents(frames_to_float(frames))).ids.flatten(2)

    def decode(self, ids: torch.Tensor, cache=None, append: bool = False, previous: torch.Tensor | None = None) -> torch.Tensor:
        """Token ids (B, T, N) -> frames (B, T, H, W, 3) in [0, 1]. Frames are painted independently,
        so a play-time cache (`cache`, `append`) has nothing to keep and is left untouched. With the
        carry-over, frame t carries over from frame t-1, and frame 0 from `previous` (B or 1, H, W, 3)
        uint8 or [0, 1], the frame shown before; without it frame 0 is painted alone."""
        side = self.config.tokens_per_side
        vectors = self.vq.lookup(ids.unflatten(2, (side, side)))  # (B, T, h, w, dim)
        painted = self._paint(vectors)
        if self.carry is not None:
            before = None if previous is None else frames_to_float(previous).expand(painted.shape[0], -1, -1, -1)
            painted = self._carry_over(painted, before, to_8_bits=True)
        return ((painted + 1) / 2).clamp(0, 1)

    def _carry_over(self, painted: torch.Tensor, previous: torch.Tensor | None, to_8_bits: bool = False) -> torch.Tensor:
        """Painted frames (B, T, H, W, 3) in [-1, 1], each carrying over from the one before; frame 0
        from `previous` (B, H, W, 3) in [-1, 1] if given. The frame carried from is the one decoded
        before it, as play shows it (`to_8_bits`: rounded as the screen's uint8), and no gradient
        flows back through it: training unrolls play without learning through time."""
        out = [painted[:, 0] if previous is None else self._carry_one(painted[:, 0], previous)]
        for t in range(1, painted.shape[1]):
            before = out[-1].detach().clamp(-1, 1)
            if to_8_bits:
                before = ((before + 1) * 127.5).round() / 127.5 - 1
            out.append(self._carry_one(painted[:, t], before))
        return torch.stack(out, dim=1)

    def _carry_one(self, painted: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) channels-last in and out, as the rest of this module keeps frames."""
        as_image = lambda x: x.permute(0, 3, 1, 2)  # noqa: E731
        return self.carry(as_image(painted), as_image(previous)).permute(0, 2, 3, 1)

    def _latents(self, x: torch.Tensor) -> torch.Tensor:
        """Pixels (B, T, H, W, 3) in [-1, 1] -> latents (B, T, h, w, dim) before quantization."""
        B, T = x.shape[:2]
        z = self.encoder(x.flatten(0, 1).permute(0, 3, 1, 2))  # (B*T, dim, h, w)
        return z.permute(0, 2, 3, 1).unflatten(0, (B, T))

    def _paint(self, vectors: torch.Tensor) -> torch.Tensor:
        """Code vectors (B, T, h, w, dim) -> pixels (B, T, H, W, 3), about [-1, 1]."""
        B, T = vectors.shape[:2]
        x = self.decoder(vectors.flatten(0, 1).permute(0, 3, 1, 2))  # (B*T, 3, H, W)
        return x.permute(0, 2, 3, 1).unflatten(0, (B, T))
