"""Lab: a copy of a world whose dynamics file plays with other sampler knobs.
usage: python lab/strip/set_sampler.py WORLD OUT carry_bias=3 held_bias=3 ..."""
import dataclasses
import shutil
import sys
from pathlib import Path

from genie_play.io import read_weights, save_weights

world, out = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(world, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns("data", "dynamics", "lam", "eval"))
dyn = read_weights(world / "dynamics.safetensors", "dynamics")
knobs = {k: float(v) for k, v in (a.split("=") for a in sys.argv[3:])}
config = dataclasses.replace(dyn.config, sampler=dataclasses.replace(dyn.config.sampler, **knobs))
save_weights(out / "dynamics.safetensors", "dynamics", dyn.tensors, config, dyn.summary)
print(out, config.sampler)
