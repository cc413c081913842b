"""Lab: sampling checked by the LAM. Each next frame is sampled with the shipped rule first; where
the LAM does not read the pressed latent action from (frame, next frame), the row is sampled again
with rules that let more blocks change, and the first one the LAM reads right is kept (else the
first sample). Importing this module patches WorldModel.sample_next; CANDIDATES sets the rules."""
import dataclasses
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "set_targets"))
from pooled import pooled_block_ids  # noqa: E402
from genie_play.world.sampler import Sampler  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402


class PooledSampler(Sampler):
    """carry + bias against the whole change mass (lab/set_targets/pooled.py)."""
    block_ids = pooled_block_ids


def _candidates(spec: str):
    """"argmax:3,pooled:1,pooled:0" -> [(rule, bias)]."""
    return [(rule, float(bias)) for rule, bias in (part.split(":") for part in spec.split(","))]


CANDIDATES = _candidates(os.environ.get("CANDIDATES", "argmax:3,pooled:1,pooled:0"))
KEEP = os.environ.get("KEEP", "first")  # when no candidate is read right: the first sample or the last
# IDLE=c: check only that a key other than c is not read as c ("nothing happened"), not the code itself
IDLE = int(os.environ["IDLE"]) if os.environ.get("IDLE") else None
STATS = {"steps": 0, "resampled": 0, "accepted_by": [0] * len(CANDIDATES), "none_right": 0}
_shipped = WorldModel.sample_next


def _reads(world, frames, nxt):
    return world.lam.infer_actions(torch.stack([frames, nxt], dim=1))[:, 0]  # (B,)


def sample_next(self, frames, last_moves, actions, generators, cancelled=None):
    base = self.sampler
    action = torch.tensor(list(actions), device=self.device)
    out, out_moves, done = None, None, torch.zeros(len(actions), dtype=torch.bool, device=self.device)
    try:
        for k, (rule, bias) in enumerate(CANDIDATES):
            todo = (~done).nonzero()[:, 0]
            if len(todo) == 0:
                break
            cls = PooledSampler if rule == "pooled" else Sampler
            self.sampler = cls(**{**dataclasses.asdict(base), "carry_bias": bias})
            nxt, moves = _shipped(self, frames[todo], last_moves[todo], [actions[i] for i in todo.tolist()],
                                  [generators[i] for i in todo.tolist()], cancelled)
            if out is None:
                out, out_moves = nxt.clone(), moves.clone()
            reads = _reads(self, frames[todo], nxt)
            if IDLE is None:
                right = reads == action[todo]
            else:  # a key that moves must change the picture, and not be read as "nothing happened"
                changed = (nxt != frames[todo]).flatten(1).any(dim=1)
                right = ((reads != IDLE) & changed) | (action[todo] == IDLE)
            pick = torch.ones_like(right) if KEEP == "last" and k == len(CANDIDATES) - 1 else right
            take = todo[pick]
            out[take], out_moves[take] = nxt[pick], moves[pick]
            done[todo[right]] = True
            STATS["accepted_by"][k] += int(right.sum())
            STATS["resampled"] += len(todo) if k else 0
        STATS["none_right"] += int((~done).sum())
        STATS["steps"] += len(actions)
    finally:
        self.sampler = base
    return out, out_moves


WorldModel.sample_next = sample_next
