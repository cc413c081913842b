"""Latent action model (LAM): learns `num_actions` discrete actions from unlabeled video.

For each transition x_t -> x_{t+1} an encoder reads the pair of frames and names what happened
with one of 8 codes; a decoder must then rebuild x_{t+1} from x_t and that code alone. The
decoder sees no earlier frame, so it cannot guess the motion from the history: the only way to
predict the next frame is to be told it, and the code is forced to carry "what changed". At
play only the code ids matter (the player picks one); the encoder labels video for training the
dynamics model and for evaluation.

Why a CNN over pairs of frames rather than the paper's ST-transformer over patches: on our world
an action moves the camera by 4-8 pixels and the player by a few; patches of 16 pixels blur that,
and a transformer over whole clips costs far more per transition on a CPU (docs/lab/token-lam.md has
the comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie_play.config import GenieConfig
from genie_play.world.quantizer import CategoricalQuantizer, QuantizerOutput
from genie_play.world.tokenizer import vocabulary

MOVE_WEIGHT = 0.01  # the move-naming loss beside the reconstruction's (0.1 collapsed the codes to 2 of 8)


def frames_to_float(frames: torch.Tensor) -> torch.Tensor:
    """uint8 frames in [0, 255] or float frames in [0, 1] -> float in [-1, 1], same shape."""
    if frames.dtype == torch.uint8:
        frames = frames.float() / 255.0
    return frames * 2.0 - 1.0


@dataclass
class LAMOutput:
    prediction: torch.Tensor  # (B, T-1, H, W, 3) predicted x_2..x_T in [-1, 1]
    actions: torch.Tensor  # (B, T-1): actions[:, t] took frame t to frame t+1
    loss: torch.Tensor  # recon_loss + vq.loss + MOVE_WEIGHT * move_loss
    recon_loss: torch.Tensor
    vq: QuantizerOutput
    move_loss: torch.Tensor  # naming the camera's move, from the code and from the encoder's vector (0 without moves)


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 4, stride=2, padding=1)  # halves the side


def cost_volume(a: torch.Tensor, b: torch.Tensor, radius: int) -> torch.Tensor:
    """How well b matches a moved by every (dy, dx) in [-radius, radius]²: (M, 3, H, W) twice ->
    (M, (2r+1)², H, W), the negative mean absolute difference per pixel (0 = a perfect match).

    A correlation layer, as in optical-flow networks (FlowNet): motion is measured outright
    instead of being learned from scratch, which a CNN does slowly for shifts of a few pixels."""
    r, (H, W) = radius, a.shape[-2:]
    padded = F.pad(a, (r, r, r, r), mode="replicate")
    costs = [-(b - padded[:, :, r - dy:r - dy + H, r - dx:r - dx + W]).abs().mean(dim=1)  # vs a moved by (dy, dx)
             for dy in range(-r, r + 1) for dx in range(-r, r + 1)]
    return torch.stack(costs, dim=1)


class TransitionEncoder(nn.Module):
    """Pairs of frames -> one vector each: (M, 2, H, W, 3) in [-1, 1] -> (M, out_dim).

    Two inputs, side by side at half resolution: x_t, x_{t+1} and their difference through a
    convolution (what changed, and how it looks: a crouch), and the cost volume of the two
    frames for moves of up to `radius` half-resolution pixels (how far things moved: the scroll,
    a jump; radius 4 reaches 8 px, a run's scroll, the largest move of the built-in world). Three more stride-2 convolutions, then a linear map of the whole (H/16)² grid: where
    the player is on screen matters, so nothing is pooled away. The inverse-dynamics probe of the
    evaluation uses the same network, so its score is the ceiling of this encoder."""

    def __init__(self, image_size: int, channels: int, out_dim: int, radius: int = 4):
        super().__init__()
        w, self.radius = channels, radius
        self.look = _conv(9, w)
        volume = (2 * radius + 1) ** 2
        self.convs = nn.ModuleList([_conv(w + volume, 2 * w), _conv(2 * w, 4 * w), _conv(4 * w, 4 * w)])
        self.out = nn.Linear(4 * w * (image_size // 16) ** 2, out_dim)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        a, b = pairs[:, 0].permute(0, 3, 1, 2), pairs[:, 1].permute(0, 3, 1, 2)  # (M, 3, H, W)
        look = F.gelu(self.look(torch.cat([a, b, b - a], dim=1)))  # (M, w, H/2, W/2)
        moved = cost_volume(F.avg_pool2d(a, 2), F.avg_pool2d(b, 2), self.radius)  # (M, (2r+1)², H/2, W/2)
        h = torch.cat([look, moved], dim=1)
        for conv in self.convs:
            h = F.gelu(conv(h))
        return self.out(h.flatten(1))


class NextFrameDecoder(nn.Module):
    """x_t and a latent action -> x_{t+1}, in two moves.

    First x_t moves as a camera would: each band of rows by its own translation (dx, dy) of up to
    `max_shift` pixels (parallax: a far backdrop scrolls slower than the ground), chosen from the
    action and from what the band shows, applied with bilinear sampling as in a spatial
    transformer, so the loss has a gradient towards the right shift from the first step. A scroll
    is the largest change in a side-scroller and in most footage, and a plain network learns to
    shift pictures slowly: without this the code's main message was hard to use and the codes
    collapsed. Then a small U-Net, modulated at every level by the
    action (FiLM), paints what the translation leaves: the player's own motion, the new strip at
    the edge, parallax."""

    def __init__(self, channels: int, action_dim: int, max_shift: float):
        super().__init__()
        w = channels
        widths = (w, 2 * w, 4 * w)
        self.max_shift = max_shift
        self.down = nn.ModuleList([_conv(3, w), _conv(w, 2 * w), _conv(2 * w, 4 * w)])
        self.mix = nn.ModuleList([nn.Conv2d(c, c, 3, padding=1) for c in widths])
        self.film = nn.ModuleList([nn.Linear(action_dim, 2 * c) for c in widths])
        self.up = nn.ModuleList([nn.ConvTranspose2d(c, c // 2 if c > w else 3, 4, stride=2, padding=1)
                                 for c in widths])
        self.shift = nn.Sequential(nn.Linear(action_dim + 4 * w, 4 * w), nn.GELU(), nn.Linear(4 * w, 2))
        # Start as "nothing moves" (x_{t+1} = x_t): no translation, no modulation, no paint, so the
        # action can only help; random starts moved and tinted every frame and made even the true
        # action raise the loss for hundreds of steps.
        for layer in (self.shift[-1], *self.film, self.up[0]):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, frame: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """frame (M, H, W, 3) in [-1, 1], action (M, action_dim) -> predicted x_{t+1} (M, H, W, 3)."""
        x = frame.permute(0, 3, 1, 2)
        skips, h = [], x
        for conv in self.down:
            h = F.gelu(conv(h))
            skips.append(h)
        rows = h.mean(dim=3).transpose(1, 2)  # (M, H/8, 4w): what each band of rows shows
        per_row = torch.cat([action[:, None].expand(-1, rows.shape[1], -1), rows], dim=2)
        moved = self._translate(x, self.shift(per_row))  # (M, 3, H, W)
        h = 0
        for level in reversed(range(len(self.down))):
            h = h + skips[level]
            scale, shift = self.film[level](action)[:, :, None, None].chunk(2, dim=1)
            h = F.gelu(self.mix[level](h * (1 + scale) + shift))
            h = self.up[level](h)
        return (moved + h).permute(0, 2, 3, 1)

    def _translate(self, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """Move each band of rows of x (M, 3, H, W) by its own (dx, dy) = tanh(raw) * max_shift
        pixels, raw (M, bands, 2); bands blend smoothly. Edges repeat."""
        M, _, H, W = x.shape
        moves = torch.tanh(raw) * self.max_shift  # (M, bands, 2) in pixels
        moves = F.interpolate(moves.transpose(1, 2), size=H, mode="linear", align_corners=False)  # (M, 2, H)
        ys = torch.arange(H, dtype=x.dtype, device=x.device)[None, :, None]
        xs = torch.arange(W, dtype=x.dtype, device=x.device)[None, None, :]
        src_x = xs - moves[:, 0, :, None]  # reading from x - dx moves the picture by +dx
        src_y = (ys - moves[:, 1, :, None]).expand(-1, -1, W)
        grid = torch.stack([(2 * src_x + 1) / W - 1, (2 * src_y + 1) / H - 1], dim=-1)  # (M, H, W, 2) in [-1, 1]
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class LatentActionModel(nn.Module):
    """Frames (B, T, H, W, 3) -> latent actions (B, T-1) in [0, num_actions).

    In training the code must also name the camera's move that the tokenizer's search measures in
    the same pixels (no labels). In footage the view often moves 1-2 px in a thin strip of a still
    frame, too little of the reconstruction loss for the codes to carry, yet it is what the player's
    keys must do; the dynamics model learns its move head from these codes. Two linear heads, used
    only in training, so the exported weights leave them out (TRAINING_ONLY)."""

    TRAINING_ONLY = ("move_head.", "move_probe.")

    def __init__(self, config: GenieConfig):
        super().__init__()
        self.config = config
        c = config.lam
        self.encoder = TransitionEncoder(config.image_size, c.channels, c.latent_dim)
        self.vq = CategoricalQuantizer(config.num_actions, c.latent_dim)
        self.decoder = NextFrameDecoder(c.channels, c.latent_dim, c.max_shift)
        moves = vocabulary(config).moves
        self.move_head = nn.Linear(c.latent_dim, moves)  # the code -> the camera's move class
        # The encoder's vector must carry the move too, or the codes have no move to split by: with
        # the code's head alone the codes ignored it on footage.
        self.move_probe = nn.Linear(c.latent_dim, moves)

    @torch.no_grad()
    def infer_actions(self, frames: torch.Tensor) -> torch.Tensor:
        """The latent action of every transition: frames (B, T, H, W, 3) -> codes (B, T-1)."""
        x = frames_to_float(frames)
        if x.shape[1] < 2:
            raise ValueError("the latent action model needs at least two frames")
        return self.vq(self._transition_latents(x)).ids

    def forward(self, frames: torch.Tensor, moves: torch.Tensor | None = None) -> LAMOutput:
        """frames (B, T, H, W, 3); moves (B, T-1): the camera's move class of each transition
        (tokenizer.estimate_move), which the code must then name too."""
        x = frames_to_float(frames)
        B, T = x.shape[:2]
        if T < 2:
            raise ValueError("the latent action model needs at least two frames")
        z = self._transition_latents(x)  # (B, T-1, latent_dim)
        vq = self.vq(z)  # ids (B, T-1)
        before = x[:, :-1].flatten(0, 1)  # (B*(T-1), H, W, 3)
        prediction = self.decoder(before, vq.quantized.flatten(0, 1)).view(B, T - 1, *x.shape[2:])
        recon_loss = F.mse_loss(prediction, x[:, 1:])
        move_loss = recon_loss.new_zeros(())
        if moves is not None:
            move_loss = (F.cross_entropy(self.move_head(vq.quantized).flatten(0, 1), moves.flatten())
                         + F.cross_entropy(self.move_probe(z).flatten(0, 1), moves.flatten()))
        return LAMOutput(prediction, vq.ids, recon_loss + vq.loss + MOVE_WEIGHT * move_loss, recon_loss, vq, move_loss)

    def exported_state(self) -> dict[str, torch.Tensor]:
        """The tensors play and evaluation use: the state without the training-only heads."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith(self.TRAINING_ONLY)}

    def _transition_latents(self, x: torch.Tensor) -> torch.Tensor:
        B, T = x.shape[:2]
        pairs = torch.stack([x[:, :-1], x[:, 1:]], dim=2).flatten(0, 1)  # (B*(T-1), 2, H, W, 3)
        return self.encoder(pairs).view(B, T - 1, -1)  # (B, T-1, latent_dim)
