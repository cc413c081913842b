"""200 random keys, as `genie-play eval` plays them (the same prompts, the same key sequences), on
the shipped world and on the found sprite layer: keys that move left the frame unchanged, and the
last quarter's sharpness counting only detail real frames show.

    START=rest MOVERS=RUN/mover-0.safetensors python lab/sprite/layer_keys.py RUN DATA...
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, "lab/sprite")
from clips import clips_of  # noqa: E402
from detector import load_detector  # noqa: E402
from found_layer import FoundLayer  # noqa: E402
from mover import load_mover  # noqa: E402

from genie_play.eval import evaluate as E  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

STILL = frozenset({5})  # the code whose true action is idle (models/keymap.toml)

torch.set_grad_enabled(False)
run = sys.argv[1]
w = WorldModel.load("models", "cpu")
layer = FoundLayer(w, load_detector(f"{run}/detector.safetensors"),
                   load_mover(os.environ.get("MOVERS", f"{run}/mover.safetensors"), w.num_actions))
for data in sys.argv[2:]:
    frames, _, _ = clips_of(data, w)
    rng = torch.Generator().manual_seed(0)
    t = min(4, frames.shape[1] - 1)  # EvalOptions.delta_t
    for _ in range(len(frames)):  # what the evaluation's ΔtPSNR draws first
        torch.randint(w.num_actions, (t,), generator=rng)
    sequences = [torch.randint(w.num_actions, (200,), generator=rng).tolist() for _ in range(E.ROLLOUTS)]
    prompts = [frames[i % len(frames), 0] for i in range(E.ROLLOUTS)]
    worlds = (("layer", layer),) if os.environ.get("LAYER_ONLY") else (("shipped", w), ("layer", layer))
    for name, world in worlds:
        runs = E.long_rollouts(world, frames, prompts, sequences, STILL)
        m = E.long_rollout_means("r", runs)
        print(f"{data} {name:8s}: unchanged {m['r_frozen_fraction']:.3f}, found sharpness {m['r_found_sharpness_ratio']:.2f}, "
              f"plain {m['r_sharpness_ratio']:.2f}", flush=True)
