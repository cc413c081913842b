"""The mover trained on its own unrolls (DAgger): from points along each training track, the
shipped mover plays on by itself for a few steps; each step is an example with the sprite where
the mover put it (pasted over the frame's background), the mover's own moves as its history, and
as the target the move from there onto the real next place. The character's drift in play (it
sinks into the ground or floats over 100-200 keys) comes from positions and histories training
never showed.

    [FINETUNE=1] python lab/sprite/self_fed.py TRAIN_DATA RUN_DIR [rounds] [unroll] [every]
        (RUN_DIR gets character-selffed.safetensors: the shipped detector, the new mover)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genie_play.io import read_weights, save_weights
from genie_play.train import character_training as ct
from genie_play.world.character import Mover, Sprite, crop, cut_out
from genie_play.world.world_model import WorldModel


def paste(frame: np.ndarray, mask: np.ndarray, dy: int, dx: int):
    """frame with the masked piece cut out and pasted (dy, dx) away, and its mask there; None off the frame."""
    ys, xs = np.nonzero(mask)
    ty, tx = ys + dy, xs + dx
    H, W = mask.shape
    if ty.min() < 0 or ty.max() >= H or tx.min() < 0 or tx.max() >= W:
        return None
    out = cut_out(frame, Sprite(frame, mask, 0, 0, ()))
    out[ty, tx] = frame[ys, xs]
    moved = np.zeros_like(mask)
    moved[ty, tx] = True
    return out, moved

FINETUNE = os.environ.get("FINETUNE", "0") == "1"  # each round trains on from the last mover, not from scratch


@torch.no_grad()
def unroll_examples(clips, codes, nets, config, unroll: int, every: int):
    c = config.character
    reach, unknown = c.reach, 2 * c.reach + 1
    X, A, L, Y = [], [], [], []
    for clip, clip_codes in zip(clips, codes.tolist()):
        prob = nets.detector(clip).sigmoid().numpy()
        frames = clip.numpy()
        steps = ct.track(frames, prob, config)
        moves = [(dy, dx) for _, _, (dy, dx, _) in steps]
        for i in range(0, len(steps), every):
            past = []
            for dy, dx in reversed(moves[max(0, i - c.history):i]):
                past += [dy + reach, dx + reach]
            hist = (past + [unknown] * (2 * c.history))[:2 * c.history]
            off = (0, 0)  # where the mover has put the sprite, relative to the real place
            for j in range(i, min(i + unroll, len(steps))):
                t, mask, (dy, dx, err) = steps[j]
                if err > ct.TARGET_ERROR:
                    break
                shown = paste(frames[t], mask, *off) if off != (0, 0) else (frames[t], mask)
                if shown is None:
                    break
                target = (dy - off[0], dx - off[1])
                x = crop(shown[0], shown[1], c.crop)
                if abs(target[0]) <= reach and abs(target[1]) <= reach and j > i:  # j == i: a real example
                    X.append(x)
                    A.append(clip_codes[t])
                    L.append(list(hist))
                    Y.append((target[0] + reach, target[1] + reach))
                my, mx = (nets.mover(x[None], torch.tensor([clip_codes[t]]), torch.tensor([hist])).argmax(-1)[0] - reach).tolist()
                off = (off[0] + my - dy, off[1] + mx - dx)
                hist = [my + reach, mx + reach] + hist[:-2]
    return {"crops": torch.stack(X), "actions": torch.tensor(A), "last": torch.tensor(L), "moves": torch.tensor(Y)}


if __name__ == "__main__":
    data, run = Path(sys.argv[1]), Path(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    unroll = int(sys.argv[4]) if len(sys.argv) > 4 else 6
    every = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    run.mkdir(parents=True, exist_ok=True)
    world = WorldModel.load("models", "cpu")
    nets, config = world.character, read_weights("models/character.safetensors").config
    t0 = time.time()
    clips = ct.read_clips(data, config)
    with torch.no_grad():
        codes = torch.cat([world.lam.infer_actions(clips[i:i + 64]) for i in range(0, len(clips), 64)])
        real = ct.mover_examples(clips, codes, ct.clip_tracks(clips, nets, config, False), config)
    print(f"{len(real['moves'])} real examples ({time.time() - t0:.0f} s)", flush=True)
    for r in range(rounds):
        t0 = time.time()
        fed = unroll_examples(clips, codes, nets, config, unroll, every)
        drift = (fed["moves"] - config.character.reach).abs().float().mean(0)
        print(f"round {r}: {len(fed['moves'])} self-fed examples, mean |target| dy {drift[0]:.2f} dx {drift[1]:.2f} "
              f"({time.time() - t0:.0f} s)", flush=True)
        both = {k: torch.cat([real[k], fed[k]]) for k in real}
        torch.manual_seed(config.train.seed)
        if not FINETUNE:  # else the mover goes on from the one that made the unrolls
            nets.mover = Mover(config.num_actions, config.character.crop, config.character.reach, config.character.history)
        scores = ct.train_mover(nets, both, config, progress=False)
        nets.eval()
        print(f"round {r}: {scores}", flush=True)
    save_weights(run / "character.safetensors", "character", nets, config, {"self_fed_rounds": rounds, "unroll": unroll})
