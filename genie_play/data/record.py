"""Recording clips of the built-in world: what each generate worker runs (NumPy only, no torch).

Clip e (an episode) depends only on (seed, split, e): its style, level and actions are drawn from
np.random.SeedSequence([seed, split, e]), so any worker can make any clip and get the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genie_play.data.game import Platformer
from genie_play.data.policy import ExplorerPolicy
from genie_play.data.styles import SPLITS, sample_style
from genie_play.config import GenieConfig
from genie_play.errors import GenieError

SHARD_BYTES = 16 << 20  # about this much frame data per shard
SPLIT_IDS = {"train": 0, "heldout": 1}  # held-out levels and styles come from different seeds
WORLD_VERSION = 2  # 2: the legible world (no momentum, one zoom, recorded view state); old shards are not mixed in
MAX_WARMUP = 32  # steps played (not recorded) before a clip starts, so it begins in mid-motion


@dataclass(frozen=True)
class GenerateSpec:
    """Everything that determines the output of `data generate` (the number of workers does not)."""

    out: str
    episodes: int
    frames: int = 64
    size: int = GenieConfig().image_size
    seed: int = 0
    split: str = "train"

    def check(self) -> None:
        if self.episodes < 1:
            raise GenieError(f"--episodes must be at least 1, got {self.episodes}")
        if self.frames < 2:
            raise GenieError(f"--frames must be at least 2 (a clip needs a transition), got {self.frames}")
        if not 16 <= self.size <= 512:
            raise GenieError(f"--size must be between 16 and 512 pixels, got {self.size}")
        if self.split not in SPLITS:
            raise GenieError(f"--split must be one of {', '.join(SPLITS)}, got '{self.split}'")

    @property
    def clips_per_shard(self) -> int:
        return int(np.clip(SHARD_BYTES // (self.frames * self.size * self.size * 3), 1, 1024))

    @property
    def num_shards(self) -> int:
        return -(-self.episodes // self.clips_per_shard)

    def episodes_of(self, shard: int) -> range:
        k = self.clips_per_shard
        return range(shard * k, min((shard + 1) * k, self.episodes))

    def identity(self, shard: int) -> dict:
        """What a shard's metadata must say for a re-run to accept it as already made."""
        return {"seed": self.seed, "split": self.split, "shard": shard, "clips_per_shard": self.clips_per_shard,
                "frames": self.frames, "size": self.size, "world": WORLD_VERSION}


def record_clip(spec: GenerateSpec, episode: int, out: np.ndarray | None) -> dict:
    """Play one episode into `out` (T, H, W, 3) uint8; returns the clip's metadata.

    With out=None nothing is drawn: the same actions, much faster (for statistics and tests)."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, SPLIT_IDS[spec.split], episode]))
    style = sample_style(rng, spec.split)
    game = Platformer(seed=int(rng.integers(2**63)), style=style, size=spec.size)
    policy = ExplorerPolicy(rng)
    game.reset(render=False, anywhere=True)  # clips begin all over the level, not only at its start
    for _ in range(int(rng.integers(0, MAX_WARMUP + 1))):
        game.advance(policy.act(game))
        if game.done:
            game.reset(render=False, anywhere=True)
    actions, resets, ends, view = [], [], [], [game.view_state(spec.size)]
    if out is not None:
        out[0] = game.render()
    for t in range(1, spec.frames):
        a = policy.act(game)
        game.advance(a)
        actions.append(a)  # actions[t-1] took frame t-1 to frame t
        if game.done:  # the level ended (fell, enemy, goal): the clip goes on in a new level
            ends.append(game.reason)
            game.reset(render=False, anywhere=True)
            resets.append(t)
        view.append(game.view_state(spec.size))
        if out is not None:
            out[t] = game.render()
    return {"episode": episode, "style": style.to_dict(), "actions": actions, "resets": resets, "ends": ends,
            "view": [list(v) for v in view]}  # per frame: camera x, player x, y on screen, pose, facing


def record_clips(spec: GenerateSpec, episodes: range) -> tuple[np.ndarray, list[dict]]:
    """Frames (n, T, H, W, 3) and metadata of consecutive episodes: one task of a worker."""
    frames = np.empty((len(episodes), spec.frames, spec.size, spec.size, 3), np.uint8)
    return frames, [record_clip(spec, e, frames[k]) for k, e in enumerate(episodes)]
