"""Lab: the ceiling of the LAM's encoder on footage: a supervised probe (genie_play.eval.probe's
network) that learns the sign of the view's sideways move (phase correlation) from the pixels of one
transition. If it reads the sign well and the LAM's codes do not, the LAM's objective is at fault.
usage: python lab/lam_footage/pan_probe.py TRAIN_SHARDS HELDOUT_SHARDS [STEPS]"""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genie_play.data.shards import open_folder
from genie_play.eval.metrics import contingency, nmi
from genie_play.eval.motion import pan
from genie_play.eval.probe import InverseDynamicsProbe


def pairs_and_signs(shards: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every transition of a shard folder: pairs (M, 2, H, W, 3) uint8 and pan sign + 1 (M,) in {0, 1, 2}."""
    pairs, signs = [], []
    for shard in open_folder(Path(shards)):
        for frames in shard.frames:
            x = np.asarray(frames)
            for t in range(len(x) - 1):
                pairs.append(x[t:t + 2])
                signs.append(int(np.sign(pan(x[t], x[t + 1]))) + 1)
    return torch.from_numpy(np.stack(pairs)), torch.tensor(signs)


def main(train: str, heldout: str, steps: int = 600) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x, y = pairs_and_signs(train)
    hx, hy = pairs_and_signs(heldout)
    print(f"train {len(y)} transitions, sign shares {np.bincount(y.numpy(), minlength=3) / len(y)}")
    probe = InverseDynamicsProbe(x.shape[2], 32, 3)
    optimizer = torch.optim.AdamW(probe.parameters(), lr=1e-3, weight_decay=0.01)
    for step in range(steps):
        i = torch.randint(len(y), (64,))
        loss = F.cross_entropy(probe(x[i]), y[i])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    probe.eval()
    with torch.no_grad():
        guess = torch.cat([probe(hx[i:i + 256]).argmax(-1) for i in range(0, len(hy), 256)])
    table = contingency(guess, hy, 3, 3)
    print(f"held out: accuracy {(guess == hy).float().mean():.2f} (majority {np.bincount(hy.numpy()).max() / len(hy):.2f}),"
          f" NMI {nmi(table):.2f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
