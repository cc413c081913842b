"""Calibrating the sampler: the carry bias a trained world plays with, chosen by measurement.

The carry bias (config.SamplerConfig) trades what the block tokens change against what survives
a long game: a world whose token head is sure of its changes (a sprite, a HUD held still while
the view scrolls) but wrong about a few of them re-codes its own mistakes every step, and 200
keys later a city skyline is noise (Defender at the preset's bias); another world's changes are
what brings anything new into the picture (Chopper Command, sharpest at 3). So after training, the world
plays LONG_STEPS random keys from the first frames of ROLLOUTS training clips (never the held-out
ones the evaluation scores; as many rollouts as the evaluation plays: three put River Raid's best
bias at 3 on held-out clips and at 16 on training clips) at each bias of LADDER, and keeps the
smallest whose found sharpness is within NOISE of the best, among those that leave moving keys
frozen at most FROZEN_CAP of the time.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from genie_play.eval.evaluate import (ROLLOUTS, effect_table, held_out_clips, long_rollout_means, long_rollouts,
                                     moving_nothing)
from genie_play.io import read_weights, save_weights, write_json
from genie_play.world.world_model import WEIGHT_FILES, WorldModel

LADDER = (3.0, 8.0, 16.0)  # carry biases tried, in logits added to the carry id
LONG_STEPS = 200  # random keys per rollout, as the evaluation plays them
FROZEN_CAP = 0.05  # share of moving keys a bias may leave without a change (the footage bar)
NOISE = 0.05  # found sharpness within this of the best counts as as good: the smaller bias wins
CALIBRATION = "calibration.json"


@torch.inference_mode()
def still_codes(world: WorldModel, frames: torch.Tensor) -> frozenset:
    """Codes allowed to leave the frame as it was: those whose transitions in `frames` (C, T, H, W, 3)
    move nothing on screen, or that are rare, as the evaluation counts them (eval/code_effects.py)."""
    if world.lam is None:
        return frozenset()
    result = {}
    effect_table(frames, world.lam.infer_actions(frames), world.num_actions, result)
    return moving_nothing(result, world.num_actions)


def measure(weights: Path, data: Path, device: str = "cpu", seed: int = 0) -> dict:
    """Per bias of LADDER ("ladder"), the long rollouts' found sharpness, found share and frozen
    share, and the codes allowed to leave the frame unchanged ("still_codes")."""
    world = WorldModel.load(weights, device)
    frames = held_out_clips(data, world.config, 16, seed)[0]
    rng = torch.Generator().manual_seed(seed)
    keys = [torch.randint(world.num_actions, (LONG_STEPS,), generator=rng).tolist() for _ in range(ROLLOUTS)]
    prompts = [frames[i * len(frames) // ROLLOUTS, 0] for i in range(ROLLOUTS)]
    still = still_codes(world, frames)
    table = []
    for bias in LADDER:
        world.sampler = dataclasses.replace(world.sampler, carry_bias=bias)
        means = long_rollout_means("long", long_rollouts(world, frames, prompts, keys, still))
        table.append({"carry_bias": bias, "found_sharpness": means["long_found_sharpness_ratio"],
                      "found_share": means["long_found_share"], "frozen": means["long_frozen_fraction"]})
    return {"ladder": table, "still_codes": sorted(still)}


def choose(table: list[dict]) -> float:
    """The smallest bias within NOISE of the best found sharpness among those under FROZEN_CAP."""
    allowed = [row for row in table if row["frozen"] <= FROZEN_CAP] or table[:1]
    best = max(row["found_sharpness"] for row in allowed)
    return min(row["carry_bias"] for row in allowed if row["found_sharpness"] >= best - NOISE)


def calibrate(weights: Path, data: Path, device: str = "cpu") -> dict:
    """Choose the carry bias of the world in `weights` on training clips in `data` and write it into
    its dynamics file; the table goes to weights/calibration.json, which a resumed run reuses."""
    path = weights / CALIBRATION
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):  # none yet (or unreadable): measure
        found = None
    if found is None:
        found = measure(weights, data, device)
        found = {"carry_bias": choose(found["ladder"]), **found, "clips": str(data)}
    dynamics = read_weights(weights / WEIGHT_FILES["dynamics"], "dynamics")
    config = dynamics.config
    config = dataclasses.replace(config, sampler=dataclasses.replace(config.sampler, carry_bias=found["carry_bias"]))
    save_weights(weights / WEIGHT_FILES["dynamics"], "dynamics", dynamics.tensors, config, dynamics.summary)
    write_json(path, found)
    return found
