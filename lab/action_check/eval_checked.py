"""Lab: the eval's player measures plus a pixel reading of the jump, with or without the LAM check.
usage: [CHECKED=1] python lab/action_check/eval_checked.py FOLDER SPLIT OUT   (SPLIT: levels, styles or none)
Jump lifts: holding the key labelled jump 3 steps moves a sprite up >= 2 px (code_effects.sprite_move),
from each bundled prompt and own picture; the LAM's reading is printed beside it."""
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
if os.environ.get("CHECKED") == "1":
    import checked
from genie_play.eval.code_effects import sprite_move, view_move
from genie_play.eval.evaluate import EvalOptions, evaluate
from genie_play.eval.motion import hold, scroll
from genie_play.eval.own_pictures import PICTURES, own_picture
from genie_play.images import fit_frame, load_image
from genie_play.keymap import load_keymap
from genie_play.paths import prompts_dir
from genie_play.world.world_model import WorldModel

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
folder, split, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
res = evaluate(EvalOptions(folder, Path(f"/work/runs/data/heldout_{split}"), out, device="cpu", report=False,
                           lam_clips=64)) if split != "none" else {}
world = WorldModel.load(folder, device="cpu")
keymap = load_keymap(folder / "keymap.toml")
pics = {p.stem: fit_frame(load_image(p), 64) for p in sorted(prompts_dir().glob("*.png"))}
pics.update({n: fit_frame(own_picture(n), 64) for n in PICTURES})
jump_code = keymap.resolve("jump")
jumps = {b.code for b in keymap.bindings if "jump" in b.label}
rows = {}
for name, pic in pics.items():
    frames = hold(world, pic, jump_code, steps=3)
    lift = -sum(sprite_move(a, b, view_move(a, b))[0][1] for a, b in zip(frames, frames[1:]))
    reads = world.lam.infer_actions(torch.from_numpy(np.stack(frames))[None])[0].tolist()
    right, left = -scroll(hold(world, pic, keymap.resolve("right"))), -scroll(hold(world, pic, keymap.resolve("left")))
    rows[name] = {"lift_px": int(lift), "lam_jump": sum(c in jumps for c in reads) >= 2, "apart": right > 0 > left}
prompts = [n for n in pics if n not in PICTURES]
summary = {"checked": os.environ.get("CHECKED") == "1"}
for group, names in (("prompts", prompts), ("own", list(PICTURES))):
    summary[f"jump_lifts_{group}"] = sum(rows[n]["lift_px"] >= 2 for n in names)
    summary[f"jump_lam_{group}"] = sum(rows[n]["lam_jump"] for n in names)
    summary[f"apart_{group}"] = sum(rows[n]["apart"] for n in names)
for k in ("kept_1_prompts", "kept_8_prompts", "kept_1_own", "kept_8_own", "px_per_step_prompts", "new_strip_sharpness_prompts",
          "dynamics_psnr_8", "dynamics_psnr_8_stderr", "player_box_psnr_8", "dynamics_delta_psnr", "rollout_sharpness_ratio",
          "rollout_frozen_fraction", "rollout_sketch_sharpness_ratio", "rollout_sketch_frozen_fraction", "lam_nmi"):
    if k in res:
        summary[k] = round(res[k], 3) if isinstance(res[k], float) else res[k]
if os.environ.get("CHECKED") == "1":
    summary["check"] = checked.STATS
summary["lift_px"] = {n: r["lift_px"] for n, r in rows.items()}
print(json.dumps(summary))
out.mkdir(parents=True, exist_ok=True)
(out / "summary.json").write_text(json.dumps(summary, indent=1))
