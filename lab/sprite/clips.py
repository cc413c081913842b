"""What every lab/sprite measurement shares: the 16 clips `genie-play eval` rolls out, and the two
scores read on a rollout of them."""
import numpy as np
import torch

from genie_play.eval import metrics as M
from genie_play.eval.evaluate import held_out_clips
from genie_play.eval.survival import player_box_psnr


@torch.no_grad()
def clips_of(data, w):
    """The 16 clips `genie-play eval` rolls out: frames (16, T, H, W, 3), views, LAM codes (16, T-1)."""
    frames, _, windows, _ = held_out_clips(data, w.config, 256, 0)
    step = max(1, len(frames) // 16)
    frames, windows = frames[:16 * step:step], windows[:16 * step:step]
    return frames, [win["view"] for win in windows], w.lam.infer_actions(frames)


def eval_key_sequences(clips: int, num_actions: int, count: int, steps: int = 200) -> list[list[int]]:
    """The random key sequences `genie-play eval` plays for its long rollouts (seed 0): first the
    keys it draws for ΔtPSNR (t = 4 per clip), then `count` sequences of `steps` keys."""
    rng = torch.Generator().manual_seed(0)
    for _ in range(clips):
        torch.randint(num_actions, (4,), generator=rng)
    return [torch.randint(num_actions, (steps,), generator=rng).tolist() for _ in range(count)]


def scores(frames, rolled, views) -> tuple[float, float]:
    """PSNR over steps 1-8 and the player box PSNR (dB) of rollouts (C, T, H, W, 3) of the clips."""
    psnr = M.psnr(frames[:, 1:9], rolled[:, 1:9]).mean().item()
    return psnr, float(np.nanmean(player_box_psnr(frames, rolled, views)))


def said(frames, rolled, views) -> str:
    return "PSNR_8 {:.2f} dB, player box {:.1f} dB".format(*scores(frames, rolled, views))
