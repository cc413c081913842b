"""Lab: the LAM's reconstruction loss split evenly between the pixels that change and those that
do not, so a scroll that moves only a thin strip of a mostly still frame (Atari footage) counts as
much as it does in a side-scroller. Importing this module patches LatentActionModel.forward."""
import torch

from genie_play.world import lam as lam_module
from genie_play.world.lam import LAMOutput, frames_to_float

THRESHOLD = 8 / 127.5  # a change of 8 levels of 255, in [-1, 1] units


def balanced_mse(prediction: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """(M, H, W, 3) each: half the weight on pixels that change from `before` to `after`, half on the rest."""
    changed = ((after - before).abs().amax(dim=-1, keepdim=True) > THRESHOLD).float()  # (M, H, W, 1)
    share = changed.mean(dim=(1, 2, 3), keepdim=True)
    weight = torch.where(share > 0, 0.5 * changed / share.clamp_min(1e-6) + 0.5 * (1 - changed) / (1 - share).clamp_min(1e-6),
                         torch.ones_like(changed))
    return (weight * (prediction - after) ** 2).mean()


def forward(self, frames):
    x = frames_to_float(frames)
    B, T = x.shape[:2]
    vq = self.vq(self._transition_latents(x))
    before = x[:, :-1].flatten(0, 1)
    prediction = self.decoder(before, vq.quantized.flatten(0, 1)).view(B, T - 1, *x.shape[2:])
    recon = balanced_mse(prediction.flatten(0, 1), before, x[:, 1:].flatten(0, 1))
    return LAMOutput(prediction, vq.ids, recon + vq.loss, recon, vq)


lam_module.LatentActionModel.forward = forward
