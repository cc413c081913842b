"""`genie-play eval`: measure trained weights on held-out clips the way the Genie paper does.

Tokenizer: reconstruction PSNR/SSIM and codebook usage. LAM: code usage and, where the data has
ground-truth actions (the built-in world), NMI and purity of codes vs true actions plus the
code -> action table that proposes a keymap. Dynamics: PSNR/SSIM of rollouts driven by
LAM-inferred actions, ΔtPSNR at t = delta_t (inferred vs random actions, same prompt and seed),
and a long random-action rollout checked for blur and freezing. Every rollout is the world
model's own `step`, so evaluation measures exactly what the player gets.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genie_play.errors import file_error
from genie_play.eval import metrics as M
from genie_play.io import check_can_write, write_json
from genie_play.world.world_model import WorldModel


@dataclass
class EvalOptions:
    weights: Path
    data: Path
    out: Path
    device: str = "auto"
    clips: int = 16  # held-out clips to measure (rollouts dominate the cost)
    delta_t: int = 4  # the paper's t for ΔtPSNR
    rollout_steps: int = 200  # length of the stability rollout
    maskgit_steps: int | None = None  # None: the weights' own setting
    seed: int = 0
    report: bool = True


@dataclass
class Rollouts:
    """Frames kept for the report: (clips, T, H, W, 3) uint8 each."""

    real: torch.Tensor
    recon: torch.Tensor
    inferred: torch.Tensor
    random: torch.Tensor
    long: torch.Tensor  # (rollout_steps + 1, H, W, 3)
    panel: list[list[np.ndarray]]  # one row per latent action, stepped from the first prompt


def evaluate(opts: EvalOptions) -> dict:
    """Compute every metric, write out/metrics.json (and the report); returns the metrics."""
    check_can_write(opts.out, folder=True)  # a bad --out is refused now, not after the rollouts
    world = WorldModel.load(opts.weights, device=opts.device, maskgit_steps=opts.maskgit_steps, seed=opts.seed)
    if world.lam is None:
        raise file_error(Path(opts.weights) / "lam.safetensors", "no such file; eval needs all three networks")
    config = world.config
    frames, true_actions, action_names = held_out_clips(opts.data, world, opts.clips, opts.seed)
    result: dict = {"clips": len(frames), "frames_per_clip": frames.shape[1], "image_size": config.image_size,
                    "maskgit_steps": world.maskgit_steps, "temperature": world.temperature}
    recon, codes = _tokenizer_metrics(world, frames, result)
    inferred = _lam_metrics(world, frames, true_actions, action_names, result)
    rollouts = _dynamics_metrics(world, frames, inferred, opts, result)
    rollouts.recon = recon
    out = Path(opts.out)
    write_json(out / "metrics.json", result)
    if opts.report:
        from genie_play.eval.report import write_report

        write_report(out, result, rollouts, Path(opts.weights))
    return result


def held_out_clips(data: Path, world: WorldModel, clips: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """`clips` evenly spread clips of a data folder: frames (C, T, H, W, 3) uint8, true actions (C, T-1), action names."""
    from genie_play.data.dataset import ClipDataset
    from genie_play.data.shards import open_folder

    config = world.config
    dataset = ClipDataset(data, clip_frames=config.context_frames, seed=seed)
    if dataset.size != (config.image_size, config.image_size):
        raise file_error(data, f"frames are {dataset.size[0]}x{dataset.size[1]}, the weights need {config.image_size}x{config.image_size}")
    picks = np.unique(np.linspace(0, len(dataset) - 1, min(clips, len(dataset))).round().astype(int))
    items = [dataset[int(i)] for i in picks]
    frames = torch.stack([it["frames"] for it in items])
    true_actions = torch.stack([it["actions"] for it in items])  # -1 where unknown
    return frames, true_actions, open_folder(data)[0].meta.get("action_names") or []


def _chunks(n: int, size: int = 8):
    return (slice(i, min(n, i + size)) for i in range(0, n, size))


@torch.inference_mode()
def _tokenizer_metrics(world: WorldModel, frames: torch.Tensor, result: dict) -> tuple[torch.Tensor, torch.Tensor]:
    tok, dev = world.tokenizer, world.device
    recons, ids = [], []
    for part in _chunks(len(frames)):
        x = frames[part].to(dev)
        codes = tok.encode(x)
        ids.append(codes.cpu())
        recons.append((tok.decode(codes) * 255).round().to(torch.uint8).cpu())
    recon, ids = torch.cat(recons), torch.cat(ids)
    usage = M.code_usage(ids, world.config.tokenizer.codebook_size)
    result.update(tokenizer_psnr=M.psnr(frames, recon).mean().item(), tokenizer_ssim=M.ssim(frames, recon).mean().item(),
                  tokenizer_code_usage=usage["usage"], tokenizer_perplexity=usage["perplexity"])
    return recon, ids


@torch.inference_mode()
def _lam_metrics(world: WorldModel, frames: torch.Tensor, true: torch.Tensor, names: list[str], result: dict) -> torch.Tensor:
    codes = torch.cat([world.lam.infer_actions(frames[p].to(world.device)).cpu() for p in _chunks(len(frames))])
    k = world.num_actions
    usage = M.code_usage(codes, k)
    result.update(lam_code_usage=usage["usage"], lam_perplexity=usage["perplexity"])
    known = true >= 0
    if known.any():
        labels = int(true[known].max()) + 1
        table = M.contingency(codes[known], true[known], k, max(labels, len(names)))
        overall, per_code = M.purity(table)
        result.update(lam_nmi=M.nmi(table), lam_purity=overall)
        for c in range(k):
            count = int(table[c].sum())
            best = int(table[c].argmax())
            result[f"lam_code{c}_share"] = count / max(1, int(known.sum()))
            result[f"lam_code{c}_action"] = (names[best] if best < len(names) else str(best)) if count else None
            result[f"lam_code{c}_purity"] = None if math.isnan(per_code[c]) else per_code[c]
    return codes


def _rollout(world: WorldModel, prompt: torch.Tensor, actions: list[int]) -> torch.Tensor:
    frames = [world.reset(prompt.numpy())] + [world.step(a) for a in actions]
    return torch.from_numpy(np.stack(frames))  # (len(actions) + 1, H, W, 3)


def controllability(world: WorldModel, frames: torch.Tensor, inferred: torch.Tensor, delta_t: int,
                    rng: torch.Generator, result: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Rollout PSNR with LAM-inferred actions and ΔtPSNR against random actions (the paper's measure).

    Adds dynamics_psnr, dynamics_ssim, dynamics_psnr_t{i}, delta_t, dynamics_delta_psnr to `result`;
    returns the rollouts: inferred (C, T, H, W, 3) and random (C, t+1, H, W, 3).
    """
    t = min(delta_t, frames.shape[1] - 1)
    with_inferred, with_random = [], []
    for c in range(len(frames)):
        with_inferred.append(_rollout(world, frames[c, 0], inferred[c].tolist()))
        random_actions = torch.randint(world.num_actions, (t,), generator=rng).tolist()
        with_random.append(_rollout(world, frames[c, 0], random_actions))
    rolled, randomised = torch.stack(with_inferred), torch.stack(with_random)
    per_step = M.psnr(frames[:, 1:], rolled[:, 1:]).mean(0)  # (T-1,)
    result.update(
        dynamics_psnr=per_step.mean().item(),
        dynamics_ssim=M.ssim(frames[:, 1:], rolled[:, 1:]).mean().item(),
        **{f"dynamics_psnr_t{i + 1}": v.item() for i, v in enumerate(per_step)},
        delta_t=t,
        dynamics_delta_psnr=M.delta_psnr(frames[:, t], rolled[:, t], randomised[:, t]),
    )
    return rolled, randomised


def _dynamics_metrics(world: WorldModel, frames: torch.Tensor, inferred: torch.Tensor, opts: EvalOptions,
                      result: dict) -> Rollouts:
    rng = torch.Generator().manual_seed(opts.seed)
    rolled, randomised = controllability(world, frames, inferred, opts.delta_t, rng, result)
    actions = torch.randint(world.num_actions, (opts.rollout_steps,), generator=rng).tolist()
    long = _rollout(world, frames[0, 0], actions)
    tail = long[-max(1, len(long) // 4):]
    changed = [i for i in range(1, len(actions)) if actions[i] != actions[i - 1]]
    frozen = sum(torch.equal(long[i], long[i + 1]) for i in changed) / max(1, len(changed))
    result.update(
        rollout_steps=opts.rollout_steps,
        rollout_sharpness_ratio=(M.sharpness(tail).mean() / M.sharpness(frames.flatten(0, 1)).mean().clamp_min(1e-8)).item(),
        rollout_frozen_fraction=frozen,
        rollout_tail_psnr_vs_prompt=M.psnr(tail, frames[0, 0].expand_as(tail)).mean().item(),
    )
    panel = []
    for a in range(world.num_actions):  # the same prompt stepped with each latent action
        panel.append(list(_rollout(world, frames[0, 0], [a] * 5).numpy()))
    return Rollouts(frames, frames, rolled, randomised, long, panel)
