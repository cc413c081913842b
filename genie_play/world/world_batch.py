"""Many worlds stepped together: B independent rollouts, one batched MaskGIT pass per step.

    batch = WorldBatch(world, 32)
    frames = batch.reset(prompts, seeds)          # (B, H, W, 3) uint8
    frames = batch.step(actions)                  # one latent action per world
    batch.reset([prompt], [seed], rows=mask)      # restart some worlds; the others play on

It shares the WorldModel's networks and samples with its `sample_ids`, so world b given the same
prompt, seed and actions shows the frames a lone WorldModel shows (tested on the CPU; GPU batched
kernels may round differently, so there a sample can diverge after some steps). All worlds share one
KV cache and one clock; a world that restarts mid-batch keeps its new prompt as its newest frame
and hides the older cached frames from itself (KVCache.restart). Attention depends only on time
differences (RoPE), so starting at a later clock time changes nothing.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from genie_play.errors import GenieError
from genie_play.world.st_transformer import KVCache
from genie_play.world.world_model import WorldModel, to_uint8


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
    """B worlds over one WorldModel's networks; each has its own random stream."""

    def __init__(self, world: WorldModel, num_worlds: int):
        if num_worlds < 1:
            raise GenieError(f"a world batch needs at least one world, got {num_worlds}")
        self.world = world
        self.num_worlds = num_worlds
        self.device = world.device
        self.generators = [torch.Generator(device=self.device) for _ in range(num_worlds)]
        self.frames: np.ndarray | None = None  # (B, H, W, 3) uint8, the frame each world shows
        self._dynamics_cache: KVCache | None = None
        self._decoder_cache: KVCache | None = None

    @torch.inference_mode()
    def reset(self, prompts: Sequence, seeds: Sequence[int], rows: Sequence[bool] | np.ndarray | None = None) -> np.ndarray:
        """Start worlds from prompts (paths, PIL images or RGB arrays), one per restarted world.

        rows: which worlds restart (B bools); None restarts all. Returns every world's frame.
        """
        restart, count = restart_rows(rows, self.num_worlds, prompts, seeds, self._dynamics_cache is not None)
        if count == 0:
            return self.frames
        first = np.stack([self.world.prompt_frame(p) for p in prompts])  # (R, H, W, 3)
        for i, b in enumerate(np.flatnonzero(restart)):
            self.generators[b].manual_seed(int(seeds[i]))
        ids = self.world.tokenizer.encode(torch.from_numpy(first).to(self.device)[:, None])  # (R, 1, N)
        no_action = torch.full(ids.shape[:2], self.world.dynamics.no_action, device=self.device)
        if count == self.num_worlds:  # everyone starts over: fresh caches
            keep = self.world.max_context - 1
            self._dynamics_cache, self._decoder_cache = KVCache(max_frames=keep), KVCache(max_frames=keep)
            self.world.dynamics.prime(self._dynamics_cache, ids, no_action)
            self.world.tokenizer.decode(ids, self._decoder_cache, append=True)
            self.frames = first
        else:  # the prompt replaces these worlds' newest cached frame, at the same clock time
            mask = torch.from_numpy(restart).to(self.device)
            at = self._dynamics_cache.next_position - 1
            # both caches hold the same frames (a per-frame decoder keeps none)
            assert not self._decoder_cache.layers or self._decoder_cache.next_position - 1 == at
            dynamics_kv, decoder_kv = KVCache(start=at), KVCache(start=at)
            self.world.dynamics.prime(dynamics_kv, ids, no_action)
            self.world.tokenizer.decode(ids, decoder_kv, append=True)
            self._dynamics_cache.restart(mask, dynamics_kv)
            self._decoder_cache.restart(mask, decoder_kv)
            self.frames = self.frames.copy()
            self.frames[restart] = first
        return self.frames

    @torch.inference_mode()
    def step(self, actions: Sequence[int] | np.ndarray) -> np.ndarray:
        """Advance every world one frame under its latent action; returns frames (B, H, W, 3) uint8."""
        if self._dynamics_cache is None:
            raise RuntimeError("call reset(prompts, seeds) first")
        acts = [self.world.action_index(a) for a in np.asarray(actions).reshape(-1)]
        if len(acts) != self.num_worlds:
            raise GenieError(f"expected {self.num_worlds} actions, got {len(acts)}")
        ids = self.world.sample_ids(acts, self.generators, self._dynamics_cache)  # (B, N)
        a = torch.tensor(acts, device=self.device)[:, None]
        self.world.dynamics.prime(self._dynamics_cache, ids[:, None], a)
        shown = torch.from_numpy(self.frames).to(self.device)  # a context-aware decoder carries these over
        pixels = self.world.tokenizer.decode(ids[:, None], self._decoder_cache, append=True, previous=shown)[:, -1]  # (B, H, W, 3)
        self.frames = to_uint8(pixels)
        return self.frames
