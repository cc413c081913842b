"""The latent action model's numbers, beside the ceilings of what it could reach.

- lam_nmi / lam_purity / per-code share, majority action and purity: the paper's measure of how
  consistently codes match the (never trained on) true actions of the built-in world;
- action_ceiling_*: what one transition shows of the action at all (genie_play.eval.action_ceiling);
- action_probe_*: what a supervised network with the LAM's encoder reads from the pixels
  (genie_play.eval.probe), trained on a labelled training folder when one is given;
- lam_nmi_vs_probe: the LAM's NMI as a fraction of the probe's.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from genie_play.eval import metrics as M
from genie_play.eval.action_ceiling import state_ceiling


def chunks(n: int, size: int = 16):
    """Slices of range(n) in batches of `size`: evaluation runs the networks a batch at a time."""
    return (slice(i, min(n, i + size)) for i in range(0, n, size))


@torch.inference_mode()
def infer_codes(lam, frames: torch.Tensor, device) -> torch.Tensor:
    """Latent actions of clips (C, T, H, W, 3) -> (C, T-1), in chunks."""
    return torch.cat([lam.infer_actions(frames[p].to(device)).cpu() for p in chunks(len(frames))])


def lam_metrics(lam, frames: torch.Tensor, true: torch.Tensor, names: list[str], clips: list[dict], result: dict,
                device, probe_data: Path | None, probe_steps: int, seed: int) -> tuple[torch.Tensor, object]:
    """Adds every LAM number to `result`; returns the inferred codes (C, T-1) and the trained
    inverse-dynamics probe (None without probe_data or true actions), which also judges the world.

    `clips` are the windows' recorded metadata (view, actions, resets), for the state ceiling."""
    k = lam.config.num_actions
    codes = infer_codes(lam, frames, device)
    usage = M.code_usage(codes, k)
    result.update(lam_clips=len(frames), lam_codes=k, lam_code_usage=usage["usage"], lam_perplexity=usage["perplexity"])
    known = true >= 0
    if not known.any():
        return codes, None  # imported video: no true actions to compare with
    labels = max(int(true[known].max()) + 1, len(names))
    table = M.contingency(codes[known], true[known], k, labels)
    overall, per_code = M.purity(table)
    result.update(lam_nmi=M.nmi(table), lam_purity=overall, lam_transitions=int(known.sum()),
                  lam_actions=[names[a] if a < len(names) else str(a) for a in range(labels)])
    for c in range(k):
        count = int(table[c].sum())
        best = int(table[c].argmax())
        result[f"lam_code{c}_share"] = count / max(1, int(known.sum()))
        result[f"lam_code{c}_action"] = (names[best] if best < len(names) else str(best)) if count else None
        result[f"lam_code{c}_purity"] = None if math.isnan(per_code[c]) else per_code[c]
        result[f"lam_code{c}_counts"] = [int(v) for v in table[c]]  # per true action, as lam_actions names them
    result.update(state_ceiling(clips, labels))
    if probe_data is not None:
        from genie_play.eval.probe import score_probe, train_probe

        probe = train_probe(probe_data, lam.config.image_size, lam.config.lam.channels, labels, steps=probe_steps,
                            seed=seed, device=device)
        result.update(score_probe(probe, frames, true, labels))
        result["lam_nmi_vs_probe"] = result["lam_nmi"] / max(result["action_probe_nmi"], 1e-9)
        return codes, probe
    return codes, None


def code_examples(frames: torch.Tensor, codes: torch.Tensor, num_codes: int, per_code: int = 4) -> list[list[np.ndarray]]:
    """One row per code: up to `per_code` transitions it labelled, each as x_t, x_{t+1} side by side
    (blank where a code was never used), so a person can see what each code means."""
    size = frames.shape[2]
    blank = np.full((size, size, 3), 40, np.uint8)
    rows = []
    for c in range(num_codes):
        where = torch.nonzero(codes == c)
        picks = where[torch.linspace(0, len(where) - 1, min(per_code, len(where))).long()] if len(where) else []
        row = []
        for clip, t in picks:
            row += [frames[clip, t].numpy(), frames[clip, t + 1].numpy()]
        rows.append(row + [blank] * (2 * per_code - len(row)))
    return rows
