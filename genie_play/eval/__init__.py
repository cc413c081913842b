"""Evaluation: the paper's metrics (PSNR, SSIM, NMI, purity, ΔtPSNR, rollout stability) and a report."""
