"""The paper's video tokenizer: an ST-transformer VQ-VAE (ST-ViViT), frames -> token ids -> frames
(`tokenizer.architecture = "st_transformer"`). Weights files written before the conv tokenizer
(genie_play.world.tokenizer) hold this one; at equal CPU time the conv tokenizer reconstructs far
more sharply (README, "The tokenizer").

Each frame becomes a grid of (image_size / patch_size)^2 token ids from a codebook of
`codebook_size` codes. Encoder and decoder are causal in time, so a frame's tokens may use the
frames before it but never after; at play the decoder continues a KV cache one frame at a time.
Loss: pixel MSE plus the quantizer's codebook/commitment loss (the paper adds nothing else).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.config import GenieConfig
from genie_play.world.patches import frames_to_float, patchify, unpatchify
from genie_play.world.quantizer import VectorQuantizer
from genie_play.world.st_transformer import KVCache, STTransformer, init_weights
from genie_play.world.tokenizer import TokenizerBase, TokenizerOutput


class STTokenizer(TokenizerBase):
    """Frames (B, T, H, W, 3) <-> token ids (B, T, N)."""

    def __init__(self, config: GenieConfig):
        super().__init__()
        self.config = config
        c, n = config.tokenizer, config.tokens_per_frame
        pixels = c.patch_size * c.patch_size * 3
        self.patch_in = nn.Linear(pixels, c.d_model)
        self.encoder_pos = nn.Parameter(torch.zeros(n, c.d_model))  # spatial positions; time is RoPE
        self.encoder = STTransformer(c.d_model, c.num_heads, c.encoder_layers, config.context_frames)
        self.to_latent = nn.Linear(c.d_model, c.latent_dim)
        self.vq = VectorQuantizer(c.codebook_size, c.latent_dim)
        self.from_latent = nn.Linear(c.latent_dim, c.d_model)
        self.decoder_pos = nn.Parameter(torch.zeros(n, c.d_model))
        self.decoder = STTransformer(c.d_model, c.num_heads, c.decoder_layers, config.context_frames)
        self.patch_out = nn.Linear(c.d_model, pixels)
        init_weights(self)
        nn.init.normal_(self.encoder_pos, std=0.02)
        nn.init.normal_(self.decoder_pos, std=0.02)

    def forward(self, frames: torch.Tensor) -> TokenizerOutput:
        x = frames_to_float(frames)
        vq = self.vq(self._encode_latents(x))
        recon = self._decode_vectors(vq.quantized)
        recon_loss = F.mse_loss(recon, x)
        return TokenizerOutput(recon, vq.ids, recon_loss + vq.loss, recon_loss, vq)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 or [0, 1] frames (B, T, H, W, 3) -> token ids (B, T, N)."""
        return self.vq(self._encode_latents(frames_to_float(frames))).ids

    def decode(self, ids: torch.Tensor, cache: KVCache | None = None, append: bool = False, previous=None) -> torch.Tensor:
        """Token ids (B, T, N) -> frames (B, T, H, W, 3) in [0, 1], continuing `cache` if given
        (the cache is its context; `previous` pixels are not used)."""
        x = self._decode_vectors(self.vq.lookup(ids), cache, append)
        return ((x + 1) / 2).clamp(0, 1)

    def set_window(self, frames: int) -> None:
        self.decoder.window = frames

    def _encode_latents(self, x: torch.Tensor) -> torch.Tensor:
        h = self.patch_in(patchify(x, self.config.tokenizer.patch_size)) + self.encoder_pos
        return self.to_latent(self.encoder(h))  # (B, T, N, latent_dim)

    def _decode_vectors(self, vectors: torch.Tensor, cache: KVCache | None = None, append: bool = False) -> torch.Tensor:
        h = self.decoder(self.from_latent(vectors) + self.decoder_pos, cache, append=append)
        return unpatchify(self.patch_out(h), self.config.tokenizer.patch_size, self.config.image_size)
