"""The shipped character file with a ground network added: the detector and the mover as shipped,
the ground trained by the product's own stage (character_training.ground_examples / train_ground)
on the recipe's clips. How models/character.safetensors of genie_play 0.5 was made.

    python lab/sprite/add_ground.py TRAIN_DATA OUT_DIR
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from genie_play.io import load_state, read_weights, save_weights
from genie_play.train import character_training as ct
from genie_play.world.character import CharacterNetworks


def main():
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    w = read_weights(Path("models/character.safetensors"), "character")
    config = w.config
    torch.manual_seed(config.train.seed)
    nets = load_state(CharacterNetworks(config), w).eval()
    start = time.monotonic()
    clips = ct.read_clips(data, config)
    examples = ct._cached(out / "ground_examples.safetensors", lambda: ct.ground_examples(clips, ct.clip_tracks(clips, nets, config, True), config), True)
    nets.train()
    summary = dict(w.summary)
    summary.update(ct.train_ground(nets, examples, config, True))
    summary["ground_minutes"] = round((time.monotonic() - start) / 60, 1)
    print(summary)
    save_weights(out / "character.safetensors", "character", nets.eval(), config, summary)


if __name__ == "__main__":
    main()
