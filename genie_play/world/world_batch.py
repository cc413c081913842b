"""Many worlds stepped together: B independent rollouts, one batched pass per step (the RL
environment's engine).

    batch = WorldBatch(world, 32)
    frames = batch.reset(prompts, seeds)          # (B, H, W, 3) uint8
    frames = batch.step(actions)                  # one latent action per world
    batch.reset([prompt], [seed], rows=mask)      # restart some worlds; the others play on

It shares the WorldModel's networks and samples with its `sample_next`, so world b given the same
prompt, seed and actions shows the frames a lone WorldModel shows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from genie_play.errors import GenieError
from genie_play.world.memory import Memory
from genie_play.world.world_model import WorldModel


def restart_rows(rows, num_worlds: int, prompts: Sequence, seeds: Sequence[int], started: bool) -> tuple[np.ndarray, int]:
    """Which worlds a reset restarts (B bools; None: all) and how many, checked against the prompts and seeds."""
    restart = np.ones(num_worlds, bool) if rows is None else np.asarray(rows, bool)
    if restart.shape != (num_worlds,):
        raise GenieError(f"rows must hold {num_worlds} bools, got shape {restart.shape}")
    count = int(restart.sum())
    if len(prompts) != count or len(seeds) != count:
        raise GenieError(f"{count} worlds restart but got {len(prompts)} prompts and {len(seeds)} seeds")
    if not started and count < num_worlds:
        raise GenieError("the first reset must start every world")
    return restart, count



class WorldBatch:
    """B worlds over one WorldModel's networks; each has its own random stream.

    World b given the same prompt, seed and actions shows the frames a lone WorldModel shows."""

    def __init__(self, world: WorldModel, num_worlds: int):
        if num_worlds < 1:
            raise GenieError(f"a world batch needs at least one world, got {num_worlds}")
        self.world, self.num_worlds, self.device = world, num_worlds, world.device
        self.generators = [torch.Generator(device=self.device) for _ in range(num_worlds)]
        self.frames: np.ndarray | None = None  # (B, H, W, 3) uint8
        self._moves: torch.Tensor | None = None  # (B, bands)
        self.memories = [Memory() for _ in range(num_worlds)]  # each world's pixels by place (memory.py)
        self.cameras = [(0, 0)] * num_worlds  # each world's camera position in its world

    @torch.inference_mode()
    def reset(self, prompts: Sequence, seeds: Sequence[int], rows=None) -> np.ndarray:
        """Start the worlds `rows` (B bools; None: all) from prompts, one per restarted world."""
        restart, count = restart_rows(rows, self.num_worlds, prompts, seeds, self.frames is not None)
        if count == 0:
            return self.frames
        first = np.stack([self.world.prompt_frame(p) for p in prompts])
        if self.frames is None:
            self.frames = first
            self._moves = torch.full((self.num_worlds, self.world.vocab.bands), self.world.dynamics.no_move,
                                     dtype=torch.long, device=self.device)
        self.frames = self.frames.copy()
        self.frames[restart] = first
        self._moves[torch.from_numpy(restart).to(self.device)] = self.world.dynamics.no_move
        for i, b in enumerate(np.flatnonzero(restart)):
            self.generators[b].manual_seed(int(seeds[i]))
            self.memories[b], self.cameras[b] = Memory(), (0, 0)
            self.world.remember(self.memories[b], (0, 0), first[i])
        return self.frames

    @torch.inference_mode()
    def step(self, actions) -> np.ndarray:
        """Advance every world one frame under its latent action; returns frames (B, H, W, 3) uint8."""
        if self.frames is None:
            raise RuntimeError("call reset(prompts, seeds) first")
        acts = [self.world.action_index(a) for a in np.asarray(actions).reshape(-1)]
        if len(acts) != self.num_worlds:
            raise GenieError(f"expected {self.num_worlds} actions, got {len(acts)}")
        frames = torch.from_numpy(self.frames).to(self.device)
        nxt, self._moves = self.world.sample_next(frames, self._moves, acts, self.generators, None,
                                                  self.memories, self.cameras)
        self.frames = nxt.cpu().numpy()
        for b in range(self.num_worlds):
            self.cameras[b] = self.world.camera_after(self.cameras[b], self._moves[b])
            self.world.remember(self.memories[b], self.cameras[b], self.frames[b])
        return self.frames
