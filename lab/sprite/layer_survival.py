"""Picture survival with right held (the eval's kept_k, the view's move, the new strip) on the
bundled prompts and the eval's own pictures, and the cost of a step, for the shipped world and the
found layer.

    FILL=shift START=rest MOVERS=RUN/mover-0.safetensors python lab/sprite/layer_survival.py RUN
"""
import glob
import sys
import time

import numpy as np
import torch

sys.path.insert(0, "lab/sprite")
from found_layer import load_layer  # noqa: E402

from genie_play.eval.own_pictures import PICTURES, own_picture  # noqa: E402
from genie_play.eval.survival import survival  # noqa: E402
from genie_play.images import prompt_frame  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

RIGHT = 4  # models/keymap.toml

torch.set_grad_enabled(False)
run = sys.argv[1]
w = WorldModel.load("models", "cpu")
layer = load_layer(run, w)
size = w.config.image_size
sets = {"bundled prompts": [prompt_frame(p, size) for p in sorted(glob.glob("assets/prompts/*.png"))],
        "own pictures": [prompt_frame(own_picture(n), size) for n in sorted(PICTURES)]}
for name, world in (("shipped", w), ("layer", layer)):
    for set_name, prompts in sets.items():
        runs = [survival(world, p, RIGHT) for p in prompts]
        mean = {k: float(np.mean([r[k] for r in runs])) for k in ("kept_1", "kept_8", "px_per_step", "new_strip_sharpness")}
        print(f"{name:8s} {set_name:16s} kept_1 {mean['kept_1']:.2f}, kept_8 {mean['kept_8']:.2f}, "
              f"view {mean['px_per_step']:+.1f} px/step, new strip {mean['new_strip_sharpness']:.2f}", flush=True)
    world.reset(sets["bundled prompts"][0])
    t0 = time.perf_counter()
    for i in range(100):
        world.step([RIGHT, 3, 7, 6][i % 4])
    reset_t0 = time.perf_counter()
    for p in sets["bundled prompts"]:
        world.reset(p)
    print(f"{name:8s} step {1e3 * (reset_t0 - t0) / 100:.1f} ms, reset {1e3 * (time.perf_counter() - reset_t0) / len(sets['bundled prompts']):.1f} ms", flush=True)
