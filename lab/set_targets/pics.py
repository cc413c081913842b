"""Lab picture: hold right 8, then jump 3, from the default prompt and a sketch; one row per world/rule."""
import sys, os, torch, numpy as np
sys.path.insert(0, "/work/main")
torch.set_num_threads(1)
from pathlib import Path
from PIL import Image
from genie_play.world import sampler as smp
import importlib.util
spec = importlib.util.spec_from_file_location("le", "/work/runs/lab/pooled.py"); pooled = importlib.util.module_from_spec(spec); spec.loader.exec_module(pooled)
from genie_play.world.world_model import WorldModel
from genie_play.keymap import load_keymap
from genie_play.images import fit_frame, load_image
from genie_play.paths import prompts_dir
from genie_play.eval.own_pictures import own_picture
rows = [("/work/runs/recipe", "argmax", 3.0), ("/work/runs/lab/settarget", "argmax", 3.0), ("/work/runs/lab/settarget", "pooled", 1.0)]
prompts = [fit_frame(load_image(prompts_dir() / "default.png"), 64), fit_frame(own_picture(sorted(__import__("genie_play.eval.own_pictures", fromlist=["x"]).PICTURES)[-1]), 64)]
orig_block = smp.Sampler.block_ids
out = []
for prompt in prompts:
    for folder, rule, bias in rows:
        smp.Sampler.block_ids = pooled.pooled_block_ids if rule == "pooled" else orig_block
        w = WorldModel.load(Path(folder), device="cpu"); w.sampler.carry_bias = bias
        km = load_keymap(Path(folder) / "keymap.toml")
        fr = [w.reset(prompt)] + [w.step(km.resolve("right")) for _ in range(8)] + [w.step(km.resolve("jump")) for _ in range(3)]
        out.append(np.concatenate([np.pad(f, ((2, 2), (2, 2), (0, 0)), constant_values=255) for f in fr], 1))
Image.fromarray(np.concatenate(out, 0)).resize((out[0].shape[1] * 2, len(out) * 68 * 2), Image.NEAREST).save(sys.argv[1])
