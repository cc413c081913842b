"""The ground, measured in play: does the character stay on the row it stands on?

22 starts: the 6 bundled prompts where the right piece is found and the 16 held-out level first
frames. Per start, the sprite's row under: idle held 20 keys; jump x3 then idle x12 (lands back);
right held 20; 200 random keys (idle, right, left, jump) -> the median |row - start row| of the
last 50 frames. Codes from models/keymap.toml (idle 5, right 4, left 3, jump 6).
Caution (character.md §8): most held-out first frames catch the player mid-jump, where leaving
the start row is right; truth_track.py measures the height against the true player instead.

    python lab/sprite/ground.py HELDOUT_LEVELS [CHARACTER_FILE] [OUT.json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from genie_play.data.shards import first_clips
from genie_play.io import load_state, read_weights
from genie_play.world.character import CharacterNetworks
from genie_play.world.world_model import WorldModel

RIGHT_PIECE = ["default", "sketch-hills", "world-cave", "world-pencil", "world-night", "world-pattern"]
IDLE, RIGHT, LEFT, JUMP = 5, 4, 3, 6


def rows(world: WorldModel, start, keys) -> list[int]:
    world.reset(start)
    out = [world.sprite.y]
    for k in keys:
        world.step(k)
        out.append(world.sprite.y)
    return out


def main():
    heldout = Path(sys.argv[1])
    world = WorldModel.load("models", "cpu")
    if len(sys.argv) > 2 and sys.argv[2] != "-":
        w = read_weights(Path(sys.argv[2]), "character")
        world.character = load_state(CharacterNetworks(w.config), w)
    starts = [Path("assets/prompts") / f"{n}.png" for n in RIGHT_PIECE]
    starts += list(first_clips(heldout, 16, 64)[:, 0])
    rng = np.random.default_rng(0)
    plans = {"idle20": [IDLE] * 20, "jump3_idle12": [JUMP] * 3 + [IDLE] * 12, "right20": [RIGHT] * 20}
    result = {k: 0 for k in plans}
    drift, found = [], 0
    per_start = []
    for i, s in enumerate(starts):
        world.reset(s)
        if world.sprite is None:
            per_start.append(None)
            continue
        found += 1
        line = {}
        for name, keys in plans.items():
            r = rows(world, s, keys)
            ok = abs(r[-1] - r[0]) <= 2 if name == "jump3_idle12" else max(abs(y - r[0]) for y in r) <= 2
            result[name] += ok
            line[name] = r
        keys = rng.choice([IDLE, RIGHT, LEFT, JUMP], 200).tolist()
        r = rows(world, s, keys)
        drift.append(float(np.median(np.abs(np.array(r[-50:]) - r[0]))))
        line["drift"] = drift[-1]
        per_start.append(line)
        print(i, {k: v for k, v in line.items() if k != "drift"}["idle20"][-5:], "drift", drift[-1], flush=True)
    summary = {**{k: f"{v}/{found}" for k, v in result.items()}, "drift_median": float(np.median(drift)),
               "drift_over_12": float(np.mean(np.array(drift) > 12)), "found": found}
    print(json.dumps(summary))
    if len(sys.argv) > 3:
        Path(sys.argv[3]).write_text(json.dumps({"summary": summary, "starts": per_start}))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
