"""A sprite that faces the way it goes, checked against the recorded facing: in the world's
LAM-driven rollouts of held-out levels, the rule's facing (the sign of the camera's move plus the
sprite's own, kept while it stands still; frame 0's facing given) against the true player's, and
what play would show not knowing frame 0's facing (the sprite taken as drawn facing its first move).

    python lab/sprite/facing_rule.py HELDOUT_LEVELS [clips]
"""
import sys

import numpy as np
import torch

from genie_play.data.shards import open_folder
from genie_play.world.world_model import WorldModel

torch.set_grad_enabled(False)
shard = open_folder(sys.argv[1])[0]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 16
frames = np.array(shard.frames[:n])
world = WorldModel.load("models", "cpu")
codes = world.lam.infer_actions(torch.from_numpy(frames))
reach = world.character.config.reach
right = kept = total = turns_rule = turns_true = shown_right = 0
for c in range(n):
    view = shard.clips[c]["view"]
    world.reset(frames[c, 0])
    if world.sprite is None:
        continue
    faces, first = view[0][4], None  # first: the way of its first move, taken as the way it is drawn
    for t in range(1, frames.shape[1]):
        before = world.camera[1]
        world.step(int(codes[c, t - 1]))
        goes = (world.camera[1] - before) + (world.sprite.last[1] - reach)
        if goes and np.sign(goes) != faces:
            faces, turns_rule = int(np.sign(goes)), turns_rule + 1
        if goes and first is None:
            first = int(np.sign(goes))
        mirrored = first is not None and faces != first  # what play would show without knowing frame 0's facing
        shown_right += mirrored == (view[t][4] != view[0][4])
        turns_true += view[t][4] != view[t - 1][4]
        right += faces == view[t][4]
        kept += view[t][4] == view[0][4]
        total += 1
print(f"not knowing frame 0's facing (drawn as it first goes): mirrored right on {shown_right / total:.3f}")
print(f"rule right on {right / total:.3f} of frames (never turning: {kept / total:.3f}); turns: rule {turns_rule}, true {turns_true}")
