"""Lab: the LAM's code must also name the camera's move. A linear head reads the quantized code
and predicts the move the tokenizer's search measures for the same transition (label-free: from the
pixels, as the dynamics model learns it); its cross-entropy, times MOVE_WEIGHT, joins the LAM's loss.
With MOVE_PROBE=1 a second head asks the same of the encoder's vector before quantization.
Importing this module patches LatentActionModel (it gains a `move_head`, so weights trained with it
load only where this module is imported)."""
import os

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.world import lam as lam_module
from genie_play.world.lam import LAMOutput, frames_to_float
from genie_play.world.tokenizer import estimate_move, vocabulary

MOVE_WEIGHT = float(os.environ.get("MOVE_WEIGHT", "0.01"))
PROBE = os.environ.get("MOVE_PROBE") == "1"
_init = lam_module.LatentActionModel.__init__


def __init__(self, config):
    _init(self, config)
    self.vocab = vocabulary(config)
    self.move_head = nn.Linear(config.lam.latent_dim, self.vocab.moves)
    self.move_probe = nn.Linear(config.lam.latent_dim, self.vocab.moves)  # reads the encoder's vector


def forward(self, frames):
    x = frames_to_float(frames)
    B, T = x.shape[:2]
    z = self._transition_latents(x)  # (B, T-1, latent_dim)
    vq = self.vq(z)
    before = x[:, :-1].flatten(0, 1)
    prediction = self.decoder(before, vq.quantized.flatten(0, 1)).view(B, T - 1, *x.shape[2:])
    recon = F.mse_loss(prediction, x[:, 1:])
    if self.training:
        pixels = frames if frames.dtype == torch.uint8 else (frames * 255).round().to(torch.uint8)
        with torch.no_grad():
            move = estimate_move(pixels[:, :-1].flatten(0, 1), pixels[:, 1:].flatten(0, 1), self.vocab)[:, 0]
        named = F.cross_entropy(self.move_head(vq.quantized.flatten(0, 1)), move)
        if PROBE:  # the encoder's vector must carry the move too, so the codes have a move to split by
            named = named + F.cross_entropy(self.move_probe(z.flatten(0, 1)), move)
        return LAMOutput(prediction, vq.ids, recon + vq.loss + MOVE_WEIGHT * named, recon, vq)
    return LAMOutput(prediction, vq.ids, recon + vq.loss, recon, vq)


lam_module.LatentActionModel.__init__ = __init__
lam_module.LatentActionModel.forward = forward
