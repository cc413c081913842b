"""Lab: the LAM's reconstruction loss split evenly between the pixels that change and those that
do not, so a scroll that moves only a thin strip of a mostly still frame (Atari footage) counts as
much as it does in a side-scroller. Importing this module patches LatentActionModel.forward (the
rest of the package's loss is kept)."""
import torch

from genie_play.world import lam as lam_module
from genie_play.world.lam import frames_to_float

_forward = lam_module.LatentActionModel.forward
THRESHOLD = 8 / 127.5  # a change of 8 levels of 255, in [-1, 1] units


def balanced_mse(prediction: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """(M, H, W, 3) each: half the weight on pixels that change from `before` to `after`, half on the rest."""
    changed = ((after - before).abs().amax(dim=-1, keepdim=True) > THRESHOLD).float()  # (M, H, W, 1)
    share = changed.mean(dim=(1, 2, 3), keepdim=True)
    weight = torch.where(share > 0, 0.5 * changed / share.clamp_min(1e-6) + 0.5 * (1 - changed) / (1 - share).clamp_min(1e-6),
                         torch.ones_like(changed))
    return (weight * (prediction - after) ** 2).mean()


def forward(self, frames, moves=None):
    out = _forward(self, frames, moves)
    x = frames_to_float(frames)
    recon = balanced_mse(out.prediction.flatten(0, 1), x[:, :-1].flatten(0, 1), x[:, 1:].flatten(0, 1))
    out.loss = out.loss - out.recon_loss + recon
    out.recon_loss = recon
    return out


lam_module.LatentActionModel.forward = forward
