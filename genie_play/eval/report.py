"""The evaluation report: a self-contained folder with report.html, PNG panels and a rollout GIF."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from genie_play.images import grid, save_grid
from genie_play.io import atomic_path, write_text


def write_report(out: Path, result: dict, rollouts, weights: Path) -> Path:
    """Write the panels and report.html into `out`; returns the HTML path."""
    from PIL import Image

    out = Path(out)
    sections = []  # (title, png, description) of each panel this evaluation has
    show = min(4, len(rollouts.real))
    frames = min(8, rollouts.real.shape[1])
    if rollouts.recon is not None:
        rows = []
        for c in range(show):
            rows += [list(rollouts.real[c, :frames].numpy()), list(rollouts.recon[c, :frames].numpy())]
        save_grid(out / "reconstructions.png", rows)
        sections.append(("Reconstructions", "reconstructions.png", "rows in pairs: real frames, then each rebuilt by the tokenizer from the real frame before"))
    if rollouts.lam_examples is not None:
        save_grid(out / "lam_codes.png", rollouts.lam_examples)
        sections.append(("What each latent action means", "lam_codes.png",
                         f"one row per code 0..{len(rollouts.lam_examples) - 1}: held-out transitions the LAM labelled with it, each as x_t then x_t+1"))
    if rollouts.inferred is not None:
        rows = []
        for c in range(min(2, len(rollouts.real))):
            rows += [list(rollouts.real[c].numpy()), list(rollouts.inferred[c].numpy()), list(rollouts.random[c].numpy())]
        save_grid(out / "rollouts.png", rows)
        save_grid(out / "actions.png", rollouts.panel)
        save_grid(out / "long_rollout.png", [list(rollouts.long[::10].numpy())])
        with atomic_path(out / "long_rollout.gif") as tmp:
            big = [Image.fromarray(np.asarray(f).repeat(4, 0).repeat(4, 1)) for f in rollouts.long.numpy()]
            big[0].save(tmp, format="GIF", save_all=True, append_images=big[1:], duration=66, loop=0)
        sections += [
            ("Rollouts", "rollouts.png", "per clip: real; driven by LAM-inferred actions; driven by random actions"),
            ("Latent actions", "actions.png", f"one row per latent action code 0..{len(rollouts.panel) - 1}: the same prompt stepped 5 times with it"),
            ("Long rollout", "long_rollout.png", f"every 10th frame of a {result.get('rollout_steps')}-step random-action rollout (also long_rollout.gif)"),
        ]
    curves = _training_curves(weights)
    if curves is not None:
        with atomic_path(out / "training_curves.png") as tmp:  # like every file: complete or absent
            Image.fromarray(curves).save(tmp, format="PNG")

    table = "\n".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in result.items())
    if curves is not None:
        sections.append(("Training curves", "training_curves.png", "loss per network against steps (log scale)"))
    body = "".join(f"<h2>{t}</h2><p>{html.escape(d)}</p><img src='{f}' style='image-rendering:pixelated;max-width:100%'>"
                   for t, f, d in sections)
    page = (f"<!doctype html><meta charset='utf-8'><title>genie_play evaluation</title>"
            f"<body style='font-family:sans-serif;max-width:1100px;margin:auto'><h1>genie_play evaluation</h1>"
            f"<p>weights: {html.escape(str(weights))}</p><table border=1 cellpadding=3>{table}</table>{body}</body>")
    write_text(out / "report.html", page)
    return out / "report.html"


def _fmt(v, sep: str = "<br>") -> str:
    if isinstance(v, dict):  # per-picture numbers (tokenizer_prompt_psnr, survival_*): one picture a line
        return sep.join(f"{html.escape(str(k))}: {_fmt(x, ', ')}" for k, x in v.items())
    return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))


def _training_curves(weights: Path, width: int = 480, height: int = 160) -> np.ndarray | None:
    """Loss curves from the run's log.jsonl files (if the weights folder is a training run)."""
    from PIL import Image, ImageDraw

    logs = [(p.parent.name if p.parent != weights else "run", p)
            for p in [weights / "log.jsonl", *sorted(weights.glob("*/log.jsonl"))] if p.exists()]
    if not logs:
        return None
    panels = []
    for name, path in logs:
        points = [(r["step"], r["loss"]) for r in map(json.loads, path.read_text().splitlines()) if r.get("loss", 0) > 0]
        im = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(im)
        draw.text((6, 4), f"{name}: loss (log scale)", fill="black")
        if len(points) > 1:
            steps = np.array([p[0] for p in points], float)
            logs_ = np.log10([p[1] for p in points])
            lo, hi = logs_.min(), max(logs_.max(), logs_.min() + 1e-6)
            xs = 10 + (steps - steps.min()) / max(1, steps.max() - steps.min()) * (width - 20)
            ys = height - 10 - (logs_ - lo) / (hi - lo) * (height - 30)
            draw.line(list(zip(xs, ys)), fill=(30, 90, 200), width=2)
            draw.text((width - 150, 4), f"{points[0][1]:.3g} -> {points[-1][1]:.3g}", fill="black")
        panels.append([np.asarray(im)])
    return grid(panels, scale=1)
