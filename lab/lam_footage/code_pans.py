"""Lab: per game of imported footage, how the LAM's codes split the view's sideways move.
usage: python lab/lam_footage/code_pans.py LAM.safetensors SHARDS_DIR
Prints, per game, the code x pan-sign table (pan from phase correlation, genie_play.eval.motion),
the normalized mutual information of code and pan sign, and the codes' perplexity."""
import collections
import glob
import json
import sys

import numpy as np
import torch

from genie_play.eval.motion import pan
from genie_play.io import load_network
from genie_play.world.lam import LatentActionModel


def nmi(table: np.ndarray) -> float:
    p = table / table.sum()
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    mi = (p[nz] * np.log(p[nz] / (pa @ pb)[nz])).sum()
    h = lambda q: -(q[q > 0] * np.log(q[q > 0])).sum()
    return float(2 * mi / max(h(pa) + h(pb), 1e-9))


def main(lam_path: str, shards: str) -> None:
    torch.set_num_threads(2)
    lam, _ = load_network(lam_path, "lam", LatentActionModel)
    lam.eval()
    tables = collections.defaultdict(lambda: np.zeros((lam.config.num_actions, 3), int))
    for js in sorted(glob.glob(shards + "/shard-*.json")):
        meta, frames = json.load(open(js)), np.load(js[:-5] + ".npy", mmap_mode="r")
        for c, clip in enumerate(meta["clips"]):
            game = clip["source"].split("/")[-1].split("_16")[0].split("_32")[0]
            x = np.array(frames[c])
            codes = lam.infer_actions(torch.from_numpy(x)[None])[0].numpy()
            for t, code in enumerate(codes):
                tables[game][code, int(np.sign(pan(x[t], x[t + 1]))) + 1] += 1
    total = sum(tables.values())
    for game, t in [*sorted(tables.items()), ("all", total)]:
        use = t.sum(1) / t.sum()
        perplexity = float(np.exp(-(use[use > 0] * np.log(use[use > 0])).sum()))
        print(f"{game:16s} NMI(code, pan sign) {nmi(t):.3f}  perplexity {perplexity:.1f}")
        print("   pan<0:", t[:, 0], "\n   pan=0:", t[:, 1], "\n   pan>0:", t[:, 2])


if __name__ == "__main__":
    main(*sys.argv[1:3])
