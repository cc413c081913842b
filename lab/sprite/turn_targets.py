"""A label-free target for a sprite that turns: along each track, does the piece's mirror image
(flipped within its box) match the next frame better than the piece itself, at their best moves?
Scored against the true facing the held-out shards record (view[4]).

    python lab/sprite/turn_targets.py HELDOUT_LEVELS [clips]
"""
import sys

import numpy as np
import torch

from genie_play.data.shards import open_folder
from genie_play.io import load_state, read_weights
from genie_play.train import character_training as ct
from genie_play.world.character import CharacterNetworks

torch.set_grad_enabled(False)
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
w = read_weights("models/character.safetensors", "character")
nets, reach = load_state(CharacterNetworks(w.config), w).eval(), w.config.character.reach


def mirrored(frame, mask):
    """The frame with the masked piece flipped left-right within its box (the rest as it was)."""
    ys, xs = np.nonzero(mask)
    x0, x1 = xs.min(), xs.max()
    out, m = frame.copy(), np.zeros_like(mask)
    out[ys, x0 + x1 - xs] = frame[ys, xs]
    m[ys, x0 + x1 - xs] = True
    return out, m


table = np.zeros((2, 2), int)  # [true turn, target turn]
margin_turns, margin_not = [], []
for shard in open_folder(sys.argv[1]):
    for c, clip in enumerate(shard.frames[:n]):
        clip = np.array(clip)
        view = shard.clips[c]["view"]
        for t, mask, (dy, dx, err) in ct.track(clip, nets.detector(torch.from_numpy(clip)).sigmoid().numpy(), w.config):
            if err > ct.TRACK_ERROR:
                continue
            f, m = mirrored(clip[t], mask)
            _, _, err_m = ct.piece_move(f, clip[t + 1], m, reach)
            turned = view[t + 1][4] != view[t][4]
            target = err_m < 0.8 * err
            table[int(turned), int(target)] += 1
            (margin_turns if turned else margin_not).append(err_m / max(err, 1e-3))
    break
print("rows: true turn no/yes; cols: target no/yes\n", table)
print("precision", round(table[1, 1] / max(1, table[:, 1].sum()), 3), "recall", round(table[1, 1] / max(1, table[1].sum()), 3))
print("mirror/straight error ratio, median: turns", np.median(margin_turns) if margin_turns else None, "others", np.median(margin_not))
