"""The character's height against the truth over long rollouts: the built-in game played 48 steps
from held-out levels (seed 777, never trained on), the world driven by the LAM's codes of the real
frames, the sprite's row compared each step with the true player's (both relative to frame 0).

    python lab/sprite/truth_track.py [CHARACTER_FILE|-] [CLIPS] [OUT.json]
err > 0: the sprite is lower than the player (sunk); < 0: above (floating or hopping).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from genie_play.data.record import GenerateSpec, record_clip
from genie_play.io import load_state, read_weights
from genie_play.world.character import CharacterNetworks
from genie_play.world.world_model import WorldModel

FRAMES = 48


def clips(n: int):
    spec = GenerateSpec("", n, FRAMES, 64, 777, "train")
    for e in range(n):
        frames = np.empty((FRAMES, 64, 64, 3), np.uint8)
        meta = record_clip(spec, e, frames)
        end = min(meta["resets"] or [FRAMES])
        if end >= 24:
            yield frames[:end], np.array(meta["view"][:end])


def main():
    world = WorldModel.load("models", "cpu")
    if len(sys.argv) > 1 and sys.argv[1] != "-":
        w = read_weights(Path(sys.argv[1]), "character")
        world.character = load_state(CharacterNetworks(w.config), w)
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    errs, skipped = [], 0
    for frames, view in clips(n):
        codes = world.lam.infer_actions(torch.from_numpy(frames)[None])[0].tolist()
        world.reset(frames[0])
        s = world.sprite
        if s is None:
            skipped += 1
            continue
        ys, xs = np.nonzero(s.mask)
        if abs(xs.mean() + s.x - view[0][1]) > 8 or abs(ys.mean() + s.y - view[0][2] + 5) > 8:
            skipped += 1
            continue
        y0, err = s.y, [0]
        for t, code in enumerate(codes, 1):
            world.step(code)
            err.append((world.sprite.y - y0) - int(view[t][2] - view[0][2]))
        errs.append(err)
    L = min(map(len, errs))
    e = np.array([x[:L] for x in errs])  # (clips, L)
    out = {"clips": len(errs), "skipped": skipped, "steps": L - 1}
    for a, b in ((1, 8), (9, 24), (25, L - 1)):
        seg = e[:, a:b + 1]
        out[f"|err| {a}-{b}"] = round(float(np.abs(seg).mean()), 2)
        out[f"sunk>3 {a}-{b}"] = round(float((seg > 3).mean()), 3)
        out[f"above>3 {a}-{b}"] = round(float((seg < -3).mean()), 3)
    print(json.dumps(out))
    if len(sys.argv) > 3:
        Path(sys.argv[3]).write_text(json.dumps({"summary": out, "errs": errs}))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
