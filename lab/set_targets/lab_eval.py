"""Lab: evaluate a world folder under a decision rule. usage: lab_eval.py FOLDER RULE BIAS SPLIT OUT
RULE: argmax (the shipped rule: the most likely source, carry + BIAS) or pooled (carry + BIAS
against the whole change mass; the most likely other source when it changes)."""
import sys, os, json, torch, numpy as np
sys.path.insert(0, "/work/main")
from pathlib import Path
from genie_play.world import sampler as smp
from genie_play.world.maskgit import maskgit_sample
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
folder, rule, bias, split, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]

def pooled_block_ids(self, token_logits, new, valid, carry, mask_id, generators):
    B, G = new.shape[:2]
    scale = torch.where(new, 1.0, smp.GREEDY)[..., None]
    strip = new.flatten(1)[..., None]  # (B, N, 1)
    def next_logits(ids):
        raw = token_logits(ids.view(B, G, G)).masked_fill(~valid, -1e9).flatten(1, 2)  # (B, N, V)
        # outside the strip: carry (+ bias) against the pooled change mass, given to the best other source
        logp = raw.log_softmax(-1)
        p_carry = logp[..., carry]
        change = torch.log1p(-p_carry.exp().clamp(max=1 - 1e-6))
        others = raw.clone(); others[..., carry] = -1e9
        best = others.argmax(-1, keepdim=True)
        pooled = torch.full_like(raw, -1e9)
        pooled.scatter_(-1, best, change[..., None])
        pooled[..., carry] = p_carry + self.carry_bias
        strip_logits = raw
        if self.min_p > 0:
            unlikely = raw - raw.amax(dim=-1, keepdim=True) < torch.log(torch.tensor(self.min_p))
            strip_logits = raw.masked_fill(unlikely, -1e9)
        logits = torch.where(strip, strip_logits, pooled)
        return logits * scale.flatten(1, 2)
    ids = torch.full((B, G * G), mask_id, device=new.device)
    return maskgit_sample(next_logits, ids, mask_id, self.maskgit_steps, self.temperature, generators).view(B, G, G)

post = smp.Sampler.__post_init__
def set_bias(self):
    post(self); self.carry_bias = bias
smp.Sampler.__post_init__ = set_bias
if rule == "pooled":
    smp.Sampler.block_ids = pooled_block_ids

from genie_play.eval.evaluate import EvalOptions, evaluate
from genie_play.eval.motion import hold, scroll
from genie_play.images import fit_frame, load_image
from genie_play.keymap import load_keymap
from genie_play.paths import prompts_dir
from genie_play.eval.own_pictures import PICTURES, own_picture
from genie_play.world.world_model import WorldModel

res = evaluate(EvalOptions(Path(folder), Path(f"/work/runs/data/heldout_{split}"), Path(out), device="cpu", report=False,
                           lam_clips=64)) if split != "none" else {}
world = WorldModel.load(Path(folder), device="cpu")
keymap = load_keymap(Path(folder) / "keymap.toml")
pics = {p.stem: fit_frame(load_image(p), 64) for p in sorted(prompts_dir().glob("*.png"))}
pics.update({n: fit_frame(own_picture(n), 64) for n in PICTURES})
jumps = {b.code for b in keymap.bindings if "jump" in b.label}
jr, lr = {}, {}
for name, pic in pics.items():
    f = torch.from_numpy(np.stack(hold(world, pic, keymap.resolve("jump"), steps=3)))[None]
    reads = world.lam.infer_actions(f)[0].tolist()
    jr[name] = sum(c in jumps for c in reads) >= 2
    r, l = -scroll(hold(world, pic, keymap.resolve("right"))), -scroll(hold(world, pic, keymap.resolve("left")))
    lr[name] = r > 0 > l
prompts = [n for n in pics if n not in PICTURES]
summary = {"rule": rule, "bias": bias, "jump_prompts": sum(jr[n] for n in prompts), "jump_own": sum(jr[n] for n in PICTURES),
           "lr_prompts": sum(lr[n] for n in prompts), "lr_own": sum(lr[n] for n in PICTURES)}
for k in ("kept_1_prompts", "kept_8_prompts", "kept_1_own", "kept_8_own", "px_per_step_prompts", "new_strip_sharpness_prompts",
          "dynamics_psnr_8", "dynamics_psnr_8_stderr", "player_box_psnr_8", "dynamics_delta_psnr", "rollout_sharpness_ratio",
          "rollout_frozen_fraction", "rollout_sketch_sharpness_ratio", "rollout_sketch_frozen_fraction", "lam_nmi", "survival_right_code"):
    if k in res: summary[k] = round(res[k], 3) if isinstance(res[k], float) else res[k]
print(json.dumps(summary))
Path(out).mkdir(parents=True, exist_ok=True)
(Path(out) / "summary.json").write_text(json.dumps(summary, indent=1))
