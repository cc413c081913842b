"""Lab: a copy of a trained world with its screen overlay measured on its training clips and written
into the dynamics file (a world trained before the overlay existed has none).
usage: python lab/strip/set_overlay.py WORLD TRAIN_SHARDS OUT"""
import shutil
import sys
from pathlib import Path

import torch

from genie_play.eval.evaluate import held_out_clips
from genie_play.io import read_weights, save_weights
from genie_play.world import tokenizer as tk

world, data, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
for name in ("tokenizer.safetensors", "lam.safetensors", "keymap.toml", "MODEL_CARD.md"):
    if (world / name).exists():
        shutil.copy(world / name, out / name)
if (world / "prompts").exists():
    shutil.copytree(world / "prompts", out / "prompts", dirs_exist_ok=True)
dyn = read_weights(world / "dynamics.safetensors", "dynamics")
frames = held_out_clips(data, dyn.config, 64, 0)[0]
prev, nxt = frames[:, :-1].flatten(0, 1), frames[:, 1:].flatten(0, 1)
vocab = tk.vocabulary(dyn.config)
moves = vocab.move_table()[tk.estimate_move(prev, nxt, vocab)][:, 0]
overlay = tk.overlay_rows(prev, nxt, moves)
print(world, "overlay rows (top, bottom):", overlay)
save_weights(out / "dynamics.safetensors", "dynamics", {**dyn.tensors, "overlay": torch.tensor(overlay)}, dyn.config, dyn.summary)
