"""`train --minutes M`: a wall-clock budget that sets the run's length from its measured speed.

The first 10 steps are not timed (warm-up, CUDA kernel choice). From the speed after them the
length becomes what fits in M minutes. It is re-measured every 50 steps until half the budget is
spent, then kept, so that the learning-rate schedule (which follows the length) settles. Ranks
decide together, on their mean times, and only at steps they all reach, so they stop together.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import torch

from genie_play.config import GenieConfig
from genie_play.train import distributed


class Budget:
    SKIP, EVERY = 10, 50

    def __init__(self, minutes: float | None, network: str, start: int, ctx, device: torch.device, quiet: bool = False):
        self.seconds = minutes * 60 if minutes else None
        self.network, self.start, self.ctx, self.device, self.quiet = network, start, ctx, device, quiet
        self.t0 = time.monotonic()
        self.timed_from: tuple[int, float] | None = None  # (step, time) where timing starts
        self.settled = False

    def fit(self, step: int, config: GenieConfig, log) -> GenieConfig:
        """The config to run `step` with: its `train.<network>_steps` set to what fits, when due."""
        if self.seconds is None or self.settled:
            return config
        done = step - self.start
        if done == self.SKIP:
            self.timed_from = (step, time.monotonic())
        measured = self.timed_from is not None and step > self.timed_from[0]
        if measured and (step - self.timed_from[0]) % self.EVERY:
            return config
        elapsed = self._mean(time.monotonic() - self.t0)  # every rank reaches this line at the same steps
        if elapsed > self.seconds:  # over budget before the first measurement: end at this step
            return self._length(config, step + 1, log)
        if not measured:
            return config
        per_step = self._mean((time.monotonic() - self.timed_from[1]) / (step - self.timed_from[0]))
        steps = step + max(1, int((self.seconds - elapsed) / per_step))
        if not self.quiet and self.ctx.is_main and (step - self.timed_from[0]) == self.EVERY:
            print(f"train {self.network}: {1 / per_step:.1f} steps/s, so {steps:,} steps fit in "
                  f"{self.seconds / 60:g} minutes", file=sys.stderr)
        self.settled = elapsed > self.seconds / 2
        return self._length(config, steps, log)

    def _mean(self, value: float) -> float:
        return distributed.all_mean(value, self.ctx, self.device)

    def _length(self, config: GenieConfig, steps: int, log) -> GenieConfig:
        log.set_total(steps)
        return replace(config, train=replace(config.train, **{f"{self.network}_steps": steps}))
