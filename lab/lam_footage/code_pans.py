"""Lab: per game of imported footage, how the LAM's codes split the view's sideways move.
usage: python lab/lam_footage/code_pans.py LAM.safetensors SHARDS_DIR
Prints, per game, the code x pan-sign table (pan from phase correlation, genie_play.eval.motion),
the normalized mutual information of code and pan sign, and the codes' perplexity."""
import collections
import sys
from pathlib import Path

import numpy as np
import torch

from genie_play.data.shards import open_folder
from genie_play.eval.metrics import nmi
from genie_play.eval.motion import pan
from genie_play.io import load_network
from genie_play.world.lam import LatentActionModel


def clips_by_game(shards: str):
    """(game, clip frames (T, H, W, 3) uint8) for every clip of imported footage; the game is the
    video's name without the size and frame-rate tail lab/record_atari.py gives it."""
    for shard in open_folder(Path(shards)):
        for clip, frames in zip(shard.clips, shard.frames):
            yield Path(clip["source"]).name.split("_16")[0].split("_32")[0], np.array(frames)


def main(lam_path: str, shards: str) -> None:
    torch.set_num_threads(2)
    lam, _ = load_network(lam_path, "lam", LatentActionModel)
    lam.eval()
    tables = collections.defaultdict(lambda: np.zeros((lam.config.num_actions, 3), int))
    for game, x in clips_by_game(shards):
        codes = lam.infer_actions(torch.from_numpy(x)[None])[0].numpy()
        for t, code in enumerate(codes):
            tables[game][code, int(np.sign(pan(x[t], x[t + 1]))) + 1] += 1
    total = sum(tables.values())
    for game, t in [*sorted(tables.items()), ("all", total)]:
        use = t.sum(1) / t.sum()
        perplexity = float(np.exp(-(use[use > 0] * np.log(use[use > 0])).sum()))
        print(f"{game:16s} NMI(code, pan sign) {nmi(torch.from_numpy(t)):.3f}  perplexity {perplexity:.1f}")
        print("   pan<0:", t[:, 0], "\n   pan=0:", t[:, 1], "\n   pan>0:", t[:, 2])


if __name__ == "__main__":
    main(*sys.argv[1:3])
