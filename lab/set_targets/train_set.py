"""Lab: the dynamics model trained with set-valued targets (any source giving the right pixels counts)
and changed blocks weighted x3. Same codes, LAM, steps and seed as the recipe's run."""
import sys, os, torch, numpy as np
import torch.nn.functional as F
sys.path.insert(0, "/work/main")
from pathlib import Path
from genie_play.presets import PRESETS
from genie_play.train import dynamics_training as dt
from genie_play.world import tokenizer as tk
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
SETS = np.load(sys.argv[2], mmap_mode="r")
CHANGED_WEIGHT = float(os.environ.get("CHANGED_WEIGHT", "3"))
original_batch = dt.batch

def batch(coded, config, generator):
    C, T1 = coded["codes"].shape
    B = config.train.dynamics_batch
    probe = torch.Generator(); probe.set_state(generator.get_state())
    clip = torch.randint(C, (B,), generator=probe); t = torch.randint(T1, (B,), generator=probe)
    b = original_batch(coded, config, generator)
    V = b["valid"].shape[-1]
    bits = np.unpackbits(SETS[clip.numpy(), t.numpy()], axis=-1)[..., :V].astype(bool)
    S = torch.from_numpy(bits)
    carry = tk.vocabulary(config).carry
    is_carry = b["target"] == carry
    S[is_carry] = False
    S[..., carry] |= is_carry
    b["set"] = S & b["valid"]
    b["set"].scatter_(-1, b["target"][..., None], True)  # the coded source always counts
    return b

def losses(model, b):
    move_logits = model.move_logits(b["frame"], b["action"], b["last"])
    move_loss = F.cross_entropy(move_logits.flatten(0, 1), b["moves"].flatten())
    context = model.token_context(b["frame"], b["moved"], b["hole"], b["action"], b["moves"])
    logits = model.token_logits(context, b["shown"]).masked_fill(~b["valid"], -1e4)
    chosen, S = logits[b["masked"]], b["set"][b["masked"]]
    nll = chosen.logsumexp(-1) - chosen.masked_fill(~S, -1e4).logsumexp(-1)
    changed = b["target"][b["masked"]] != model.vocab.carry
    w = torch.where(changed, CHANGED_WEIGHT, 1.0)
    token_loss = (nll * w).sum() / w.sum()
    with torch.no_grad():
        hit = S.gather(-1, chosen.argmax(-1, keepdim=True))[:, 0]
        stats = {"move_acc": (move_logits.argmax(-1) == b["moves"]).float().mean().item(),
                 "token_acc": hit.float().mean().item(), "changed_acc": hit[changed].float().mean().item()}
    return move_loss + token_loss, {"move_loss": move_loss.item(), "token_loss": token_loss.item(), **stats}

dt.batch, dt.losses = batch, losses
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
if not (out / dt.CODED).exists():
    os.symlink(sys.argv[3], out / dt.CODED)
steps = int(os.environ.get("STEPS", "2400"))
import dataclasses
cfg = PRESETS["default"]
cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, dynamics_steps=steps))
dt.train_dynamics(cfg, Path("/work/runs/recipe/data/train"), out, Path("/work/runs/recipe/lam.safetensors"))
