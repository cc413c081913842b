"""The sprite layer's ceiling: the sprite cut at the player's true place (the shards' view) and
moved by its true screen move, the background through the shipped world. Same 16 clips and LAM
codes as `genie-play eval`.   python lab/sprite/oracle_layer.py DATA [true|votes|still]"""
import sys

import numpy as np
import torch

sys.path.insert(0, "lab/sprite")
from clips import clips_of, said  # noqa: E402
from layer import UNLIKE, LayerWorld, Sprite, _fill_rows  # noqa: E402

from genie_play.world.world_model import WorldModel  # noqa: E402


class OracleLayer(LayerWorld):
    def start(self, frame, view):
        self.view, self.t = view, 0
        self.w.reset(frame)
        px, py = view[0][1], view[0][2]
        y0, y1, x0, x1 = max(0, py - 14), min(64, py + 2), max(0, px - 8), min(64, px + 8)
        box = frame[y0:y1, x0:x1].astype(int)
        ring = np.concatenate([box[0], box[-1], box[:, 0], box[:, -1]])
        mask = np.abs(box[:, :, None, :] - ring[None, None]).max(-1).min(-1) > UNLIKE
        self.sprite = Sprite(frame[y0:y1, x0:x1].copy(), mask, y0, x0) if mask.sum() >= 4 else None
        self.bg = frame.copy()
        if self.sprite is not None:
            self.bg[y0:y1, x0:x1] = _fill_rows(frame[y0:y1, x0:x1], mask)
            self.w.reset(self.bg)
        self.frame = self._composite()
        return self.frame

    def step(self, action):
        self.bg = self.w.step(action)
        if self.sprite is not None:
            a, b = self.view[self.t], self.view[self.t + 1]
            self.sprite.x += b[1] - a[1]
            self.sprite.y += b[2] - a[2]
        self.t += 1
        self.frame = self._composite()
        return self.frame

    def still_step(self, action):
        self.bg = self.w.step(action)
        self.frame = self._composite()
        return self.frame


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    w = WorldModel.load("models", "cpu")
    frames, views, codes = clips_of(sys.argv[1], w)
    MODE = sys.argv[2] if len(sys.argv) > 2 else "true"  # how the sprite found at its true place moves:
    if MODE == "votes":  # by the token head's votes (layer.py)
        OracleLayer.step = LayerWorld.step
    elif MODE == "still":  # not at all: it stays where it is on screen
        OracleLayer.step = OracleLayer.still_step
    lw = OracleLayer(w)
    rolled = []
    for c in range(len(frames)):
        out = [lw.start(frames[c, 0].numpy(), views[c])] + [lw.step(a) for a in codes[c].tolist()]
        rolled.append(torch.from_numpy(np.stack(out)))
    rolled = torch.stack(rolled)
    print(f"oracle sprite layer, moved: {MODE}: {said(frames, rolled, views)}")
