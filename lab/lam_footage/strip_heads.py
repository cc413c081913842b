"""Lab: drop move_named.py's training heads from a world's lam.safetensors, so the stock package
plays, evaluates and benchmarks the world. usage: python lab/lam_footage/strip_heads.py WORLD_DIR"""
import sys
from pathlib import Path

from genie_play.io import read_weights, save_weights

path = Path(sys.argv[1]) / "lam.safetensors"
w = read_weights(path, "lam")
kept = {k: v for k, v in w.tensors.items() if not k.startswith(("move_head.", "move_probe."))}
save_weights(path, "lam", kept, w.config, {**w.summary, "training_heads_dropped": sorted(set(w.tensors) - set(kept))})
print(f"{path}: kept {len(kept)} of {len(w.tensors)} tensors")
