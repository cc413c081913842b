"""Lab: the same weights played with and without the world's memory and the strip painter.

usage: python lab/world_memory/compare.py WEIGHTS LEVELS STYLES OUT.json [--clips 16]
"Without" replays the sampler before memory.py and strip.py (the new strip sampled from the token
head's offsets) by turning the fill off; everything else is `genie-play eval`'s own code.
"""
import argparse
import json
import sys
import time

import numpy as np
import torch

from genie_play.eval import metrics as M
from genie_play.eval.evaluate import BANK_FRAMES, ROLLOUTS, _sketch_prompt, controllability, held_out_clips, stability
from genie_play.eval.lam_metrics import infer_codes
from genie_play.eval.survival import survival_metrics
from genie_play.world.world_model import WorldModel


def without_memory(world):
    """The world as before: strips sampled by the token head, nothing recalled."""
    def nothing(moved, hole, *args):
        return moved, torch.zeros_like(hole)
    world._fill_strips = nothing


def measure(world, levels, styles, clips):
    out = {}
    for name, data in (("levels", levels), ("styles", styles)):
        frames, _, windows, _ = held_out_clips(data, world.config, clips, 0)
        codes = infer_codes(world.lam, frames, "cpu")
        rng = torch.Generator().manual_seed(0)
        result = {}
        rolled, _ = controllability(world, frames, codes, 4, rng, result)
        sequences = [torch.randint(world.num_actions, (200,), generator=rng).tolist() for _ in range(ROLLOUTS)]
        bank = frames[:, ::5].flatten(0, 1)[:BANK_FRAMES].numpy()
        real = M.sharpness(frames.flatten(0, 1)).mean()
        runs = [stability(world, frames[i, 0], keys, real, bank) for i, keys in enumerate(sequences)]
        row = {k: result[k] for k in ("dynamics_psnr_8", "dynamics_psnr_8_stderr", "dynamics_delta_psnr")}
        row.update(sharpness=np.mean([r.sharpness for r in runs]), found_sharpness=np.mean([r.found_sharpness for r in runs]),
                   found_share=np.mean([r.found_share for r in runs]), frozen=np.mean([r.frozen for r in runs]))
        if name == "levels":
            survival_metrics(world, frames, rolled, windows, result)
            row.update({k: result[k] for k in ("player_box_psnr_8", "kept_1_prompts", "kept_8_prompts", "kept_1_own",
                                               "kept_8_own", "px_per_step_prompts", "new_strip_sharpness_prompts",
                                               "new_strip_sharpness_own")})
            sketch = _sketch_prompt(64)
            s_runs = [stability(world, sketch, keys, M.sharpness(sketch[None]).mean(), bank[:0]) for keys in sequences]
            row.update(sketch_sharpness=np.mean([r.sharpness for r in s_runs]),
                       sketch_found_sharpness=np.mean([r.found_sharpness for r in s_runs]),
                       sketch_frozen=np.mean([r.frozen for r in s_runs]))
        out[name] = {k: float(v) for k, v in row.items()}
        print(name, json.dumps(out[name]), flush=True)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("weights"), parser.add_argument("levels"), parser.add_argument("styles"), parser.add_argument("out")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--only", choices=["with", "without"])
    args = parser.parse_args()
    results = {}
    for variant in ("without", "with"):
        if args.only and variant != args.only:
            continue
        world = WorldModel.load(args.weights, "cpu")
        if variant == "without":
            without_memory(world)
        start = time.time()
        results[variant] = measure(world, args.levels, args.styles, args.clips)
        print(variant, f"{time.time() - start:.0f} s", file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
