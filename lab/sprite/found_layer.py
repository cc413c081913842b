"""The sprite layer with its two label-free parts: the detector finds the character (the piece that
moves apart and on which the codes disagree most), the mover moves it; the background goes through
the shipped world as in layer.py.

    python lab/sprite/found_layer.py RUN_DIR DATA...      (RUN_DIR: detector.safetensors, mover.safetensors)
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

sys.path.insert(0, "lab/sprite")
from apart import REACH  # noqa: E402
from clips import clips_of, said  # noqa: E402
from detector import load_detector  # noqa: E402
from layer import LayerWorld, Sprite  # noqa: E402
from mover import HISTORY, UNKNOWN, centre, crop, load_mover, pieces  # noqa: E402

from genie_play.world.character import Sprite as CutSprite, cut_out, dilate, grow  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

FOUND = 0.5  # detector probability for a pixel to be part of a piece
GROW = 3  # px the piece may grow into pixels unlike every colour on a ring around it (0: no growth)
UNLIKE = 40
FILL = os.environ.get("FILL", "rows")  # what goes behind the cut sprite: "rows" (nearest pixel of its row) or
# "shift" (the frame beside it, moved by the horizontal offset that best fits the ring around the hole)
CUT_MARGIN = int(os.environ.get("CUT_MARGIN", 0))  # px the cut piece is dilated by: its fringe goes with it
START = os.environ.get("START", "unknown")  # the history at play start: "unknown" or "rest" (standing)
PICK = "split"  # how the character is chosen among the pieces: "rise" (the mover's vertical moves under the
# codes disagree: only the player jumps on a key), "split" (the token head's votes disagree) or "mass"


class FoundLayer(LayerWorld):
    def __init__(self, world, detector, mover):
        super().__init__(world)
        self.detector, self.mover = detector, mover
        self.last = [UNKNOWN] * (2 * HISTORY)

    def _detect(self, frame):
        with torch.no_grad():
            p = self.detector(torch.from_numpy(frame)[None]).sigmoid()[0].numpy()
        cands = pieces(p > FOUND)
        if not cands:
            return None
        if PICK == "rise":
            score = [self._rise_split(frame, m) * (p[m].sum() ** 0.25) for m in cands]
        elif PICK == "split":
            _, q, new = self._votes(frame, list(range(self.num_actions)))
            split = 0.5 * (q - q.mean(0, keepdim=True)).abs().sum(-1).mean(0).numpy()  # (G, G)
            k = self.w.vocab.block
            score = [float(split[np.nonzero(m)[0] // k, np.nonzero(m)[1] // k].max()) * (p[m].sum() ** 0.5) for m in cands]
        else:
            score = [p[m].sum() for m in cands]
        mask = cands[int(np.argmax(score))]
        if GROW:
            mask = grow(frame, mask, GROW, UNLIKE)
        if CUT_MARGIN:
            mask = dilate(mask, CUT_MARGIN)
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        self.last = [UNKNOWN] * (2 * HISTORY) if START == "unknown" else [REACH] * (2 * HISTORY)
        return Sprite(frame[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1].copy(), int(y0), int(x0))

    def _background(self, frame: np.ndarray, s: Sprite) -> np.ndarray:
        if FILL == "rows":
            return super()._background(frame, s)
        full = np.zeros(frame.shape[:2], bool)
        h, wd = s.mask.shape
        full[s.y:s.y + h, s.x:s.x + wd] = s.mask
        return fill_shift(frame, full)

    def _rise_split(self, frame, mask) -> float:
        """How much the mover's vertical move of this piece depends on the code (total variation)."""
        n = self.num_actions
        with torch.no_grad():
            x = crop(frame, mask, *centre(mask))[None].expand(n, -1, -1, -1)
            dy = self.mover(x, torch.arange(n), torch.full((n, 2 * HISTORY), UNKNOWN))[:, 0].softmax(-1)  # (n, classes)
        return float(0.5 * (dy - dy.mean(0)).abs().sum(-1).mean())

    def step(self, action: int):
        before = self.frame
        self.bg = self.w.step(action)
        s = self.sprite
        if s is not None:
            H = self.config.image_size
            full = np.zeros((H, H), bool)
            ys, xs = np.nonzero(s.mask)
            ty, tx = ys + s.y, xs + s.x
            ok = (ty >= 0) & (ty < H) & (tx >= 0) & (tx < H)
            full[ty[ok], tx[ok]] = True
            if full.any():
                cy, cx = centre(full)
            else:
                cy, cx = s.y + s.mask.shape[0] // 2, s.x + s.mask.shape[1] // 2
            with torch.no_grad():
                logits = self.mover(crop(before, full, cy, cx)[None], torch.tensor([action]), torch.tensor([self.last]))
            dy, dx = (logits[0].argmax(-1) - REACH).tolist()
            h, wd = s.mask.shape
            s.y = int(np.clip(s.y + dy, -h // 2, H - h // 2))
            s.x = int(np.clip(s.x + dx, -wd // 2, H - wd // 2))
            self.last = [dy + REACH, dx + REACH] + self.last[:-2]
        self.frame = self._composite()
        return self.frame


def fill_shift(frame: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """frame with the hole's pixels (and a 1 px fringe) copied from the frame beside them at the
    offset whose copy best fits the ring around it: the product's cut_out (whose fallback, where no
    offset fits, fills each row from its nearest pixel outside the cut; here it filled the box's rows)."""
    return cut_out(frame, CutSprite(frame, hole, 0, 0, ()))


def load_layer(run, world) -> FoundLayer:
    """The layer over `world` with RUN/detector.safetensors and the mover(s) named by MOVERS
    (comma-separated files: an ensemble), else RUN/mover.safetensors."""
    movers = os.environ.get("MOVERS", f"{run}/mover.safetensors")
    return FoundLayer(world, load_detector(f"{run}/detector.safetensors"), load_mover(movers, world.num_actions))


def on_player(sprite, view) -> bool:
    """Is the found sprite's centre within 8 px of the player's true place (feet - 6 px)?"""
    if sprite is None:
        return False
    ys, xs = np.nonzero(sprite.mask)
    cy, cx = ys.mean() + sprite.y, xs.mean() + sprite.x
    return abs(cx - view[0][1]) <= 8 and abs(cy - (view[0][2] - 6)) <= 8


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    run = sys.argv[1]
    w = WorldModel.load("models", "cpu")
    lw = load_layer(run, w)
    for data in sys.argv[2:]:
        frames, views, codes = clips_of(data, w)
        rolled, found = [], 0
        for c in range(len(frames)):
            first = lw.reset(frames[c, 0].numpy())
            found += on_player(lw.sprite, views[c])
            rolled.append(torch.from_numpy(np.stack([first] + [lw.step(a) for a in codes[c].tolist()])))
        rolled = torch.stack(rolled)
        print(f"{data}: found on the player {found}/{len(frames)}; {said(frames, rolled, views)}", flush=True)
