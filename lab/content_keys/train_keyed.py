"""Lab: train the dynamics model with content-matched source scores (keyed.py) on the recipe run's
codes. usage: train_keyed.py OUT RUN   (RUN: a `genie-play train all` folder: RUN/dynamics/coded.safetensors,
RUN/lam.safetensors, RUN/data/train). Same steps, batch and seed as the recipe; CHANGED_WEIGHT
(default 1: the recipe's loss) weighs the blocks that leave the moved frame."""
import dataclasses
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import keyed  # noqa: F401  (patches Dynamics)
from genie_play.presets import PRESETS
from genie_play.train import dynamics_training as dt

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
CHANGED_WEIGHT = float(os.environ.get("CHANGED_WEIGHT", "1"))


def losses(model, b):
    move_logits = model.move_logits(b["frame"], b["action"], b["last"])
    move_loss = F.cross_entropy(move_logits.flatten(0, 1), b["moves"].flatten())
    context = model.token_context(b["frame"], b["moved"], b["hole"], b["action"], b["moves"])
    logits = model.token_logits(context, b["shown"]).masked_fill(~b["valid"], -1e4)
    chosen, target = logits[b["masked"]], b["target"][b["masked"]]
    changed = target != model.vocab.carry
    w = torch.where(changed, CHANGED_WEIGHT, 1.0)
    token_loss = (F.cross_entropy(chosen, target, reduction="none") * w).sum() / w.sum()
    with torch.no_grad():
        hit = chosen.argmax(-1) == target
        stats = {"move_acc": (move_logits.argmax(-1) == b["moves"]).float().mean().item(),
                 "token_acc": hit.float().mean().item(), "changed_acc": hit[changed].float().mean().item()}
    return move_loss + token_loss, {"move_loss": move_loss.item(), "token_loss": token_loss.item(), **stats}


dt.losses = losses
out, run = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
if not (out / dt.CODED).exists():
    os.symlink(run / "dynamics" / dt.CODED, out / dt.CODED)
cfg = PRESETS["default"]
cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, dynamics_steps=int(os.environ.get("STEPS", "2400"))))
dt.train_dynamics(cfg, run / "data" / "train", out, run / "lam.safetensors")
