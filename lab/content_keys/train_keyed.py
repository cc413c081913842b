"""Lab: train the dynamics model with content-matched source scores (keyed.py) on the recipe run's
codes. usage: train_keyed.py OUT RUN   (RUN: a `genie-play train all` folder: RUN/dynamics/coded.safetensors,
RUN/lam.safetensors, RUN/data/train). The recipe's own loss, steps, batch and seed: only the head differs."""
import dataclasses
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import keyed  # noqa: F401  (patches Dynamics)
from genie_play.presets import PRESETS
from genie_play.train import dynamics_training as dt

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
out, run = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
if not (out / dt.CODED).exists():
    os.symlink(run / "dynamics" / dt.CODED, out / dt.CODED)
cfg = PRESETS["default"]
cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, dynamics_steps=int(os.environ.get("STEPS", "2400"))))
dt.train_dynamics(cfg, run / "data" / "train", out, run / "lam.safetensors")
