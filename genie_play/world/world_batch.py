"""Many worlds stepped together: B independent rollouts, one batched pass per step (the RL
environment's engine).

    batch = WorldBatch(world, 32)
    frames = batch.reset(prompts, seeds)          # (B, H, W, 3) uint8
    frames = batch.step(actions)                  # one latent action per world
    batch.reset([prompt], [seed], rows=mask)      # restart some worlds; the others play on

It shares the WorldModel's networks and steps with its `advance`, so world b given the same prompt,
seed and actions shows the frames a lone WorldModel shows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from genie_play.errors import GenieError
from genie_play.world.memory import Memory
from genie_play.world.world_model import FrameRecord, WorldModel


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
        self.records: list[FrameRecord] = []  # each world's frame on screen
        self.memories = [Memory() for _ in range(num_worlds)]  # each world's background pixels by place (memory.py)

    @torch.inference_mode()
    def reset(self, prompts: Sequence, seeds: Sequence[int], rows=None) -> np.ndarray:
        """Start the worlds `rows` (B bools; None: all) from prompts, one per restarted world."""
        restart, count = restart_rows(rows, self.num_worlds, prompts, seeds, self.frames is not None)
        if count == 0:
            return self.frames
        first = [self.world.first_record(self.world.prompt_frame(p)) for p in prompts]
        if not self.records:
            self.records = list(first)
        for i, b in enumerate(np.flatnonzero(restart)):
            self.records[b] = first[i]
            self.generators[b].manual_seed(int(seeds[i]))
            self.memories[b] = Memory()
            self.world.remember(self.memories[b], (0, 0), first[i].background)
        self.frames = np.stack([r.frame for r in self.records])
        return self.frames

    @torch.inference_mode()
    def step(self, actions) -> np.ndarray:
        """Advance every world one frame under its latent action; returns frames (B, H, W, 3) uint8."""
        if self.frames is None:
            raise RuntimeError("call reset(prompts, seeds) first")
        acts = [self.world.action_index(a) for a in np.asarray(actions).reshape(-1)]
        if len(acts) != self.num_worlds:
            raise GenieError(f"expected {self.num_worlds} actions, got {len(acts)}")
        self.records = self.world.advance(self.records, acts, self.generators, None, self.memories)
        for record, memory in zip(self.records, self.memories):
            self.world.remember(memory, record.camera, record.background)
        self.frames = np.stack([r.frame for r in self.records])
        return self.frames
