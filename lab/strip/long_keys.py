"""Lab: 200 random keys from held-out first frames, as the calibration measures them, at the
world's carry bias or the one given (CARRY; FLOOR: the strip painter's).
usage: [CARRY=bias] [FLOOR=mse] python lab/strip/long_keys.py OUT_PREFIX WORLD:HELDOUT_SHARDS [ROLLOUTS]
Prints the means (sharpness, found sharpness, found share, frozen) and writes OUT_PREFIX.json and
OUT_PREFIX.png (three rollouts: first frame, then every 50th frame)."""
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

from genie_play.calibrate import LONG_STEPS, still_codes
from genie_play.eval.evaluate import held_out_clips, long_rollouts
from genie_play.world.world_model import WorldModel

if os.environ.get("FLOOR"):
    import genie_play.world.strip as strip_module
    strip_module.FLOOR = float(os.environ["FLOOR"])

out, spec = sys.argv[1], sys.argv[2]
rollouts = int(sys.argv[3]) if len(sys.argv) > 3 else 8
weights, data = spec.split(":")
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
knob = lambda k: float(os.environ[k]) if os.environ.get(k) else None
world = WorldModel.load(weights, "cpu", carry_bias=knob("CARRY"))
frames = held_out_clips(data, world.config, 16, 0)[0]
rng = torch.Generator().manual_seed(0)
keys = [torch.randint(world.num_actions, (LONG_STEPS,), generator=rng).tolist() for _ in range(rollouts)]
prompts = [frames[i * len(frames) // rollouts, 0] for i in range(rollouts)]
still = still_codes(world, frames)
t0 = time.time()
runs = long_rollouts(world, frames, prompts, keys, still)
res = {"world": weights, "carry": world.sampler.carry_bias, "floor": os.environ.get("FLOOR"),
       "sharpness": float(np.mean([r.sharpness for r in runs])),
       "found_sharpness": float(np.mean([r.found_sharpness for r in runs])),
       "found_each": [round(r.found_sharpness, 3) for r in runs],
       "found_share": float(np.mean([r.found_share for r in runs])),
       "frozen": float(np.mean([r.frozen for r in runs])), "seconds": time.time() - t0}
print(json.dumps(res))
with open(out + ".json", "w") as f:
    json.dump(res, f, indent=1)
rows = [np.concatenate([np.pad(r.frames[i].numpy(), ((2, 2), (2, 2), (0, 0)), constant_values=255)
                        for i in range(0, LONG_STEPS + 1, 50)], 1) for r in runs[:int(os.environ.get("ROWS", "3"))]]
pic = np.concatenate(rows, 0)
Image.fromarray(pic).resize((pic.shape[1] * 3, pic.shape[0] * 3), Image.NEAREST).save(out + ".png")
