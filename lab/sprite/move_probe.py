"""A supervised probe of the sprite's move: how well do the LAM's code, the sprite's last two moves
and the picture around its feet predict its next vertical move on screen? Trained on the shards'
true player positions (a ceiling, not a shippable recipe), then played in the sprite layer with
its own predictions as history, on the 16 clips of `genie-play eval`.

    python lab/sprite/move_probe.py TRAIN_DATA EVAL_DATA...
"""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, "lab/sprite")
from clips import clips_of, said  # noqa: E402
from oracle_layer import OracleLayer  # noqa: E402

from genie_play.data.shards import open_folder  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

REACH = 8  # |dy| classes -8..8; bigger jumps are respawns, left out
UNKNOWN = 2 * REACH + 1


def crop(frame: torch.Tensor, feet_y: int, x: int) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, 32, 16) float: the picture around a sprite's feet."""
    H, W = frame.shape[:2]
    feet_y, x = min(max(feet_y, -16), H + 16), min(max(x, -8), W + 8)  # a sprite that left the frame
    pad = F.pad(frame.permute(2, 0, 1).float() / 255, (16, 16, 32, 32))
    return pad[:, feet_y + 32 - 16:feet_y + 32 + 16, x + 16 - 8:x + 16 + 8]


class MoveProbe(nn.Module):
    def __init__(self, codes: int):
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.GELU(), nn.Conv2d(16, 32, 3, 2, 1), nn.GELU(),
                                 nn.Flatten(), nn.Linear(32 * 8 * 4, 64))
        self.code = nn.Embedding(codes, 32)
        self.last = nn.Embedding(UNKNOWN + 1, 16)
        self.mlp = nn.Sequential(nn.Linear(64 + 32 + 32, 128), nn.GELU(), nn.Linear(128, UNKNOWN))

    def forward(self, crops, codes, last1, last2):
        return self.mlp(torch.cat([self.cnn(crops), self.code(codes), self.last(last1), self.last(last2)], -1))


def examples(folder, lam):
    X, C, L1, L2, Y = [], [], [], [], []
    for shard in open_folder(folder):
        frames = torch.from_numpy(np.array(shard.frames))
        codes = lam.infer_actions(frames)
        for c, clip in enumerate(shard.clips):
            view = np.array(clip["view"])
            dy = np.diff(view[:, 2])
            for t in range(len(dy)):
                if abs(dy[t]) > REACH:
                    continue
                last = [dy[t - k] + REACH if t - k >= 0 and abs(dy[t - k]) <= REACH else UNKNOWN for k in (1, 2)]
                X.append(crop(frames[c, t], int(view[t, 2]), int(view[t, 1])))
                C.append(int(codes[c, t])), L1.append(last[0]), L2.append(last[1]), Y.append(int(dy[t]) + REACH)
    return torch.stack(X), torch.tensor(C), torch.tensor(L1), torch.tensor(L2), torch.tensor(Y)


torch.manual_seed(0)
w = WorldModel.load("models", "cpu")
with torch.no_grad():
    X, C, L1, L2, Y = examples(sys.argv[1], w.lam)
print(f"{len(Y)} transitions; most common move's share {torch.bincount(Y).max().item() / len(Y):.2f}")
probe = MoveProbe(w.num_actions)
opt = torch.optim.AdamW(probe.parameters(), 2e-3)
split = int(0.9 * len(Y))
for it in range(1500):
    i = torch.randint(split, (256,))
    loss = F.cross_entropy(probe(X[i], C[i], L1[i], L2[i]), Y[i])
    opt.zero_grad(), loss.backward(), opt.step()
with torch.no_grad():
    acc = (probe(X[split:], C[split:], L1[split:], L2[split:]).argmax(-1) == Y[split:]).float().mean()
print(f"probe: held-out transitions' move right {acc:.2f}")
probe.eval()


class ProbeLayer(OracleLayer):
    def step(self, action):
        self.bg = self.w.step(action)
        s = self.sprite
        if s is not None:
            feet = s.y + 14
            with torch.no_grad():
                logits = probe(crop(torch.from_numpy(self.frame), feet, s.x + 8)[None], torch.tensor([action]),
                               torch.tensor([self.hist[-1]]), torch.tensor([self.hist[-2]]))
            move = int(logits.argmax()) - REACH
            s.y += move
            self.hist.append(move + REACH)
        self.t += 1
        self.frame = self._composite()
        return self.frame


for data in sys.argv[2:]:
    frames, views, codes = clips_of(data, w)
    lw = ProbeLayer(w)
    rolled = []
    for c in range(len(frames)):
        lw.hist = [UNKNOWN, UNKNOWN]
        rolled.append(torch.from_numpy(np.stack([lw.start(frames[c, 0].numpy(), views[c])] + [lw.step(a) for a in codes[c].tolist()])))
    rolled = torch.stack(rolled)
    if data == sys.argv[2]:  # the picture: real clips over the probe's rollouts, 5 clips, frames 0..8
        from PIL import Image
        rows = [np.concatenate(list(r[:9].numpy()), 1) for c in range(5) for r in (frames[c], rolled[c])]
        Image.fromarray(np.concatenate(rows, 0)).resize((9 * 128, 10 * 128), Image.NEAREST).save("docs/lab/character-probe.png")
    print(f"{data}: sprite at its true place, moved by the probe: {said(frames, rolled, views)}")
