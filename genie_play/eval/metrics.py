"""The numbers by which the Genie paper judges a world model, as plain functions on tensors.

Frames are uint8 (..., H, W, 3) or float in [0, 1]; every image metric averages over frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genie_play.world.quantizer import code_share


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per frame: frames (..., H, W, 3) -> (...)."""
    mse = ((_unit(a) - _unit(b)) ** 2).mean(dim=(-3, -2, -1))
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004, Gaussian window) per frame: (..., H, W, 3) -> (...)."""
    lead = a.shape[:-3]
    x = _unit(a).reshape(-1, *a.shape[-3:]).permute(0, 3, 1, 2)  # (M, 3, H, W)
    y = _unit(b).reshape(-1, *b.shape[-3:]).permute(0, 3, 1, 2)
    window = min(window, x.shape[-1], x.shape[-2])
    coords = torch.arange(window, dtype=torch.float32) - (window - 1) / 2
    g = torch.exp(-coords**2 / (2 * sigma**2))
    kernel = (g[:, None] * g[None, :] / g.sum() ** 2).expand(3, 1, window, window).to(x.device)

    def blur(t):
        return F.conv2d(t, kernel, groups=3)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3)).reshape(lead)


def laplacian(frames: torch.Tensor) -> torch.Tensor:
    """The Laplacian of the grey image, (..., H-2, W-2): the frame's detail."""
    grey = _unit(frames).mean(dim=-1).reshape(-1, 1, *frames.shape[-3:-1])
    lap = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]], device=grey.device).view(1, 1, 3, 3)
    return F.conv2d(grey, lap).reshape(*frames.shape[:-3], frames.shape[-3] - 2, frames.shape[-2] - 2)


def sharpness(frames: torch.Tensor) -> torch.Tensor:
    """Variance of the Laplacian of the grey image, per frame: blur drives it towards zero."""
    return laplacian(frames).flatten(-2).var(dim=-1)


def code_usage(codes: torch.Tensor, num_codes: int) -> dict[str, float]:
    """Fraction of codes used at least once, and perplexity (exp entropy) of the code histogram."""
    _, perplexity, usage = code_share(codes, num_codes, torch.float64)
    return {"usage": usage.item(), "perplexity": perplexity.item()}


def _entropy(counts: torch.Tensor) -> float:
    p = counts[counts > 0].double() / counts.sum()
    return float(-(p * p.log()).sum())


def contingency(codes: torch.Tensor, labels: torch.Tensor, num_codes: int, num_labels: int) -> torch.Tensor:
    """counts[c, a] = how often code c coincides with label a."""
    flat = codes.flatten().long() * num_labels + labels.flatten().long()
    return torch.bincount(flat, minlength=num_codes * num_labels).view(num_codes, num_labels)


def nmi(counts: torch.Tensor) -> float:
    """Normalized mutual information (arithmetic normalisation) of a contingency table."""
    total = counts.sum().double()
    h_codes, h_labels = _entropy(counts.sum(1)), _entropy(counts.sum(0))
    if h_codes + h_labels == 0:
        return 1.0
    joint = counts.double() / total
    outer = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True)
    nz = joint > 0
    mutual = float((joint[nz] * (joint[nz] / outer[nz]).log()).sum())
    return 2 * mutual / (h_codes + h_labels)


def purity(counts: torch.Tensor) -> tuple[float, list[float]]:
    """Overall purity (share of samples whose code's majority label is theirs) and per-code purity."""
    per_code = [float(row.max() / row.sum()) if row.sum() > 0 else float("nan") for row in counts.double()]
    return float(counts.max(dim=1).values.sum() / counts.sum().clamp_min(1)), per_code


def delta_psnr(real: torch.Tensor, with_inferred: torch.Tensor, with_random: torch.Tensor) -> float:
    """ΔtPSNR (Genie, Sec. 3): how much better the rollout gets when driven by the right actions."""
    return float((psnr(real, with_inferred) - psnr(real, with_random)).mean())
