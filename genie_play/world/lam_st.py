"""The paper's latent action model: an ST-transformer over pixel patches (`lam.architecture =
"st_transformer"`). Weights files written before the conv LAM (genie_play.world.lam) hold this one;
on the legible world the conv LAM recovers the actions far better in equal CPU time.

The encoder reads the pixels of frames x_1..x_T and, for each transition x_t -> x_{t+1}, takes
its outputs at frames t and t+1 (which, by causality, have seen no later frame), pools their
difference over patches, and quantizes it to one of `num_actions` codes. The decoder must
rebuild x_{t+1} from x_1..x_t plus that code, so the code is forced to carry "what changed". At
play only the code ids matter (the player picks one); the encoder labels video for training
and evaluation.

Departures from the paper, pixel input with patch 16 otherwise as there:
- The per-transition latent pools the *change* of the encoder's output from frame t to t+1 (the
  paper does not specify the pooling); pooling frame t+1 alone gave codes that told scenes
  apart rather than actions (NMI 0.06 with the true actions of our world).
- The decoder predicts x_{t+1} - x_t rather than x_{t+1}, so copying the last frame is free and
  the decoder's effort, and the code's information, goes to what moved.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.config import GenieConfig
from genie_play.world.lam import LAMBase, LAMOutput
from genie_play.world.patches import frames_to_float, patchify, unpatchify
from genie_play.world.quantizer import VectorQuantizer
from genie_play.world.st_transformer import STTransformer, init_weights


class STTransformerLAM(LAMBase):
    """Frames (B, T, H, W, 3) -> latent actions (B, T-1) in [0, num_actions)."""

    def __init__(self, config: GenieConfig):
        super().__init__()
        self.config = config
        c = config.lam
        n = (config.image_size // c.patch_size) ** 2
        pixels = c.patch_size * c.patch_size * 3
        self.encoder_in = nn.Linear(pixels, c.d_model)
        self.encoder_pos = nn.Parameter(torch.zeros(n, c.d_model))
        self.encoder = STTransformer(c.d_model, c.num_heads, c.encoder_layers, config.context_frames)
        self.to_latent = nn.Linear(c.d_model, c.latent_dim)
        self.vq = VectorQuantizer(config.num_actions, c.latent_dim)
        self.decoder_in = nn.Linear(pixels, c.d_model)
        self.decoder_pos = nn.Parameter(torch.zeros(n, c.d_model))
        self.action_in = nn.Linear(c.latent_dim, c.d_model)
        self.decoder = STTransformer(c.d_model, c.num_heads, c.decoder_layers, config.context_frames)
        self.patch_out = nn.Linear(c.d_model, pixels)
        init_weights(self)
        nn.init.normal_(self.encoder_pos, std=0.02)
        nn.init.normal_(self.decoder_pos, std=0.02)

    def forward(self, frames: torch.Tensor) -> LAMOutput:
        x = frames_to_float(frames)
        vq = self.vq(self._transition_latents(x))
        patch = self.config.lam.patch_size
        h = self.decoder_in(patchify(x[:, :-1], patch)) + self.decoder_pos  # history x_1..x_{T-1}
        h = h + self.action_in(vq.quantized)[:, :, None, :]  # action a_t joins frame t
        change = unpatchify(self.patch_out(self.decoder(h)), patch, self.config.image_size)
        prediction = x[:, :-1] + change  # x_{t+1} = x_t + what changed
        recon_loss = F.mse_loss(prediction, x[:, 1:])
        return LAMOutput(prediction, vq.ids, recon_loss + vq.loss, recon_loss, vq)

    def _transition_latents(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] < 2:
            raise ValueError("the latent action model needs at least two frames")
        h = self.encoder(self.encoder_in(patchify(x, self.config.lam.patch_size)) + self.encoder_pos)
        # What changed between frame t and t+1 in the encoder's view: static content (the scene, the
        # style) cancels, so the codes cannot be spent on telling scenes apart.
        return self.to_latent((h[:, 1:] - h[:, :-1]).mean(dim=2))  # (B, T-1, latent_dim)
