"""Lab: a LAM's NMI with the true actions on built-in clips (e.g. held-out levels), the shipped
measure (genie_play.eval.metrics), for LAMs trained with a lab loss.
usage: python lab/lam_footage/builtin_nmi.py LAM.safetensors SHARDS_DIR"""
import sys
from pathlib import Path

import torch

from genie_play.data.dataset import ClipDataset
from genie_play.eval import metrics as M
from genie_play.eval.lam_metrics import infer_codes
from genie_play.io import load_network
from genie_play.world.lam import LatentActionModel

torch.set_num_threads(2)
lam, _ = load_network(sys.argv[1], "lam", LatentActionModel)
lam.eval()
data = ClipDataset(sys.argv[2], clip_frames=lam.config.context_frames)
items = [data[i] for i in range(len(data))]
frames, true = torch.stack([it["frames"] for it in items]), torch.stack([it["actions"] for it in items])
codes = infer_codes(lam, frames, "cpu")
known = true >= 0
table = M.contingency(codes[known], true[known], lam.config.num_actions, int(true.max()) + 1)
print(f"NMI {M.nmi(table):.3f}  perplexity {M.code_usage(codes, lam.config.num_actions)['perplexity']:.2f}")
