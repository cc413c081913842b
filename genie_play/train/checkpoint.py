"""Checkpoints: everything needed to continue a run exactly, as safetensors + JSON (never pickle).

A checkpoint is two files written atomically, then `latest.json` is rewritten to point at them:
that rename is the commit point, so a run killed at any moment (even SIGKILL mid-write) resumes
from the last complete checkpoint. Holds: model tensors, AdamW state, torch RNG states, step,
config and the run's extra state. The learning-rate schedule is a pure function of the step and
the data order a pure function of (seed, step, rank), so neither needs saving.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from genie_play.config import GenieConfig
from genie_play.errors import file_error
from genie_play.io import atomic_path, write_json

LATEST = "latest.json"
KEEP = 2  # checkpoints kept on disk; older ones are deleted once a newer one is committed


@dataclass
class Checkpoint:
    step: int
    config: GenieConfig
    model: dict[str, torch.Tensor]
    optimizer: dict
    rng: dict[str, torch.Tensor]
    extra: dict
    path: Path


def save_checkpoint(folder: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    config: GenieConfig, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    folder = Path(folder)
    tensors = {f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, dict] = {}
    for index, state in opt["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{key}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars.setdefault(str(index), {})[key] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    name = f"ckpt-{step:08d}"
    with atomic_path(folder / f"{name}.safetensors") as tmp:
        save_file(tensors, str(tmp))
    state = {"step": step, "config": config.to_dict(), "param_groups": opt["param_groups"],
             "optimizer_scalars": scalars, "extra": extra or {}}
    write_json(folder / f"{name}.json", state)
    write_json(folder / LATEST, {"step": step, "name": name})  # the commit point
    for old in sorted(folder.glob("ckpt-*.json"))[:-KEEP]:
        for path in (old, old.with_suffix(".safetensors")):
            path.unlink(missing_ok=True)
    for stale in folder.glob(".*.tmp"):  # half-written by a run killed mid-save: never read, but as big as a checkpoint
        stale.unlink(missing_ok=True)
    return folder / f"{name}.safetensors"


def load_checkpoint(folder: Path) -> Checkpoint | None:
    """The last committed checkpoint in `folder`, or None if there is none yet."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    pointer = folder / LATEST
    if not pointer.exists():
        return None
    try:
        name = json.loads(pointer.read_text())["name"]
        state = json.loads((folder / f"{name}.json").read_text())
        tensors = load_file(str(folder / f"{name}.safetensors"))
    except (OSError, ValueError, KeyError, SafetensorError) as e:
        raise file_error(pointer, f"checkpoint cannot be read ({e}); delete the folder to start over") from None
    groups: dict[str, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, field = key.split(".", 2)
            groups.setdefault(index, {})[field] = value
    for index, scalars in state["optimizer_scalars"].items():
        groups.setdefault(index, {}).update(scalars)
    return Checkpoint(
        step=state["step"],
        config=GenieConfig.from_dict(state["config"], source=str(pointer)),
        model={k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")},
        optimizer={"state": {int(i): s for i, s in groups.items()}, "param_groups": state["param_groups"]},
        rng={k[len("rng."):]: v for k, v in tensors.items() if k.startswith("rng.")},
        extra=state["extra"],
        path=folder / f"{name}.safetensors",
    )


def restore(checkpoint: Checkpoint, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Put model, optimizer and random streams back exactly as they were when it was saved."""
    model.load_state_dict(checkpoint.model)
    optimizer.load_state_dict(checkpoint.optimizer)
    torch.set_rng_state(checkpoint.rng["torch"])
    cuda = [checkpoint.rng[k] for k in sorted(checkpoint.rng) if k.startswith("cuda.")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
