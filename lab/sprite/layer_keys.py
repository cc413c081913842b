"""200 random keys, as `genie-play eval` plays them (the same prompts, the same key sequences), on
the shipped world and on the found sprite layer: keys that move left the frame unchanged, and the
last quarter's sharpness counting only detail real frames show.

    START=rest MOVERS=RUN/mover-0.safetensors python lab/sprite/layer_keys.py RUN DATA...
"""
import os
import sys

import torch

sys.path.insert(0, "lab/sprite")
from clips import clips_of, eval_key_sequences  # noqa: E402
from found_layer import load_layer  # noqa: E402

from genie_play.eval import evaluate as E  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

STILL = frozenset({5})  # the code whose true action is idle (models/keymap.toml)

torch.set_grad_enabled(False)
run = sys.argv[1]
w = WorldModel.load("models", "cpu")
layer = load_layer(run, w)
for data in sys.argv[2:]:
    frames, _, _ = clips_of(data, w)
    sequences = eval_key_sequences(len(frames), w.num_actions, E.ROLLOUTS)
    prompts = [frames[i % len(frames), 0] for i in range(E.ROLLOUTS)]
    worlds = (("layer", layer),) if os.environ.get("LAYER_ONLY") else (("shipped", w), ("layer", layer))
    for name, world in worlds:
        runs = E.long_rollouts(world, frames, prompts, sequences, STILL)
        m = E.long_rollout_means("r", runs)
        print(f"{data} {name:8s}: unchanged {m['r_frozen_fraction']:.3f}, found sharpness {m['r_found_sharpness_ratio']:.2f}, "
              f"plain {m['r_sharpness_ratio']:.2f}", flush=True)
