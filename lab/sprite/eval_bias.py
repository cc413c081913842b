"""`genie-play eval` of the shipped weights with the sampler's carry bias set (lab: the bias is a
knob of the file's config).   python lab/sprite/eval_bias.py BIAS DATA OUT"""
import sys
from functools import partial

from genie_play.eval import evaluate as E
from genie_play.world.world_model import WorldModel

bias, data, out = float(sys.argv[1]), sys.argv[2], sys.argv[3]
E.WorldModel = type("Biased", (WorldModel,), {"load": classmethod(lambda cls, *a, **k: WorldModel.load(*a, carry_bias=bias, **k))})
r = E.evaluate(E.EvalOptions(weights="models", data=data, out=out))
keys = ["dynamics_psnr_8", "dynamics_delta_psnr", "player_box_psnr_8", "rollout_found_sharpness_ratio",
        "rollout_frozen_fraction", "rollout_sketch_found_sharpness_ratio", "prompts_kept_1", "prompts_kept_8", "own_kept_8"]
print(bias, {k: round(r[k], 3) for k in keys if isinstance(r.get(k), float)})
