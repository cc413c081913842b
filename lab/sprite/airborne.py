"""In the air, the keys do not steer gravity: a mover trained with, on airborne steps (a vertical
move in the last move or the target), the latent action replaced by a random one for a share of
the batch, its vertical target kept and its horizontal one not scored.

The LAM names what frames did, so a mid-air step is "jump" or "jump right": "idle" and "right"
are never seen in the air, and there the mover floats. Play steps on every key the player presses.

    python lab/sprite/airborne.py OUT_DIR [share] [steps]
        (reads the shipped character's detector and the cached tracked steps of its training run,
        /work/runs/char-final/mover_examples.safetensors; writes OUT_DIR as a weights folder)
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from genie_play.io import read_weights, save_weights
from genie_play.world.character import CharacterNetworks, Mover

EXAMPLES = "/work/runs/char-final/mover_examples.safetensors"


def train(nets, ex, config, share: float, steps: int) -> dict:
    X, A, L, Y = ex["crops"], ex["actions"], ex["last"], ex["moves"]
    order = torch.randperm(len(Y), generator=torch.Generator().manual_seed(0))
    split = int(0.9 * len(Y))
    tr, held = order[:split], order[split:]
    reach = config.character.reach
    unknown = 2 * reach + 1
    opt = torch.optim.AdamW(nets.mover.parameters(), 2e-3)
    for _ in range(steps):
        i = tr[torch.randint(len(tr), (256,))]
        a = A[i].clone()
        airborne = ((L[i, 0] != reach) & (L[i, 0] != unknown)) | (Y[i, 0] != reach)
        swap = airborne & (torch.rand(len(i)) < share)
        a[swap] = torch.randint(config.num_actions, (int(swap.sum()),))
        logits = nets.mover(X[i], a, L[i])
        event = (Y[i, 0] != L[i, 0]) & (L[i, 0] != unknown)
        w = torch.where(event, config.train.mover_event_weight, 1.0)
        w = torch.stack([w, torch.where(swap, 0.0, w)], 1).flatten()  # a swapped step's dx is not scored
        loss = (F.cross_entropy(logits.flatten(0, 1), Y[i].flatten(), reduction="none") * w).sum() / w.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        right = nets.mover(X[held], A[held], L[held]).argmax(-1) == Y[held]
    return {"dy_right": round(float(right[:, 0].float().mean()), 3), "dx_right": round(float(right[:, 1].float().mean()), 3)}


if __name__ == "__main__":
    out = Path(sys.argv[1])
    share = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    shipped = read_weights("models/character.safetensors")
    config = shipped.config
    nets = CharacterNetworks(config)
    nets.detector.load_state_dict({k[len("detector."):]: v for k, v in shipped.tensors.items() if k.startswith("detector.")})
    torch.manual_seed(config.train.seed)
    nets.mover = Mover(config.num_actions, config.character.crop, config.character.reach, config.character.history)
    print(f"share {share}, {steps} steps:", train(nets, load_file(EXAMPLES), config, share, steps), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    for f in ("tokenizer", "lam", "dynamics"):
        if not (out / f"{f}.safetensors").exists():
            os.symlink(Path("models").resolve() / f"{f}.safetensors", out / f"{f}.safetensors")
    shutil.copy("models/keymap.toml", out / "keymap.toml")
    save_weights(out / "character.safetensors", "character", nets.eval(), config, {"airborne_share": share})
