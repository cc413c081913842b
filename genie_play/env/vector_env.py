"""The learned world as a Gymnasium vector environment: B worlds, one batched forward pass per step.

Not B processes: WorldBatch steps every world in one batched pass over B frames. World i seeded s
plays exactly what GenieEnv seeded s plays (tested on the CPU; on a GPU, batched kernels may round
differently, so a sample can diverge after a few steps). Autoreset is
Gymnasium's SAME_STEP mode: a truncated world restarts within step(), its last frame and info
going to info["final_obs"] and info["final_info"], as stable-baselines3 and most trainers expect.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from genie_play.env.common import EnvConfig, action_labels, env_world, make_config, prompt_pool, start_episode
from genie_play.env.genie_env import RewardFn
from genie_play.env.rewards import scroll_reward
from genie_play.errors import GenieError
from genie_play.world.world_batch import WorldBatch
from genie_play.world.world_model import WorldModel


class GenieVectorEnv(VectorEnv):
    """num_envs worlds over one world model; options and prompts as for GenieEnv."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 8, config: EnvConfig | None = None, *, world: WorldModel | None = None,
                 prompts: Sequence | None = None, reward_fn: RewardFn | None = None,
                 render_mode: str | None = None, **options):
        self.config = make_config(config, options)
        world = env_world(self.config, world, options)
        self.batch = WorldBatch(world, num_envs)
        self.num_envs = num_envs
        self.prompts = prompt_pool(prompts, world)
        self.reward_fn = reward_fn or scroll_reward
        self.render_mode = render_mode
        size = world.config.image_size
        self.single_observation_space = spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.single_action_space = spaces.Discrete(world.num_actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.action_labels = action_labels(world)
        self._rngs = [seeding.np_random()[0] for _ in range(num_envs)]  # world i's episode choices
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._prompt_names = [""] * num_envs

    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict | None = None):
        """seed: None, an int (world i gets seed + i) or one per world; options may add a reset_mask."""
        options = dict(options or {})
        mask = np.asarray(options.pop("reset_mask", np.ones(self.num_envs, bool)))
        if mask.shape != (self.num_envs,) or mask.dtype != np.bool_ or not mask.any():
            raise GenieError(f"reset_mask must be {self.num_envs} bools with at least one True")
        seeds = [int(seed) + i for i in range(self.num_envs)] if isinstance(seed, numbers.Integral) else seed
        if seeds is not None and len(seeds) != self.num_envs:
            raise GenieError(f"got {len(seeds)} seeds for {self.num_envs} worlds")
        for i in np.flatnonzero(mask):
            if (seeds is not None and seeds[i] is not None) or self.batch.frames is None:  # else continue its stream
                self._rngs[i] = seeding.np_random(None if seeds is None else int(seeds[i]))[0]
        return self._restart(mask, options), self._infos(mask)

    def step(self, actions):
        prev = self.batch.frames
        frames = self.batch.step(actions)
        self._steps += 1
        step_infos = [self._info(i) for i in range(self.num_envs)]
        infos: dict = {}
        for i, info in enumerate(step_infos):
            infos = self._add_info(infos, info, i)
        rewards = np.array([self.reward_fn(prev[i], frames[i], step_infos[i]) for i in range(self.num_envs)],
                           dtype=np.float64)
        truncated = self._steps >= self.config.max_episode_steps
        observations = frames.copy()
        if truncated.any():
            for i in np.flatnonzero(truncated):
                infos = self._add_info(infos, {"final_obs": frames[i].copy(), "final_info": step_infos[i]}, i)
            observations = self._restart(truncated, {})
            infos = self._merge(infos, self._infos(truncated), truncated)
        return observations, rewards, np.zeros(self.num_envs, bool), truncated, infos

    def render(self) -> np.ndarray | None:
        return self.batch.frames.copy() if self.render_mode == "rgb_array" and self.batch.frames is not None else None

    def _restart(self, mask: np.ndarray, options: dict) -> np.ndarray:
        """Start new episodes in the masked worlds; returns every world's frame."""
        rows = np.flatnonzero(mask)
        prompts, names, world_seeds = zip(*(start_episode(self._rngs[i], self.prompts, options) for i in rows))
        frames = self.batch.reset(list(prompts), list(world_seeds), rows=mask).copy()  # a bad prompt raises here
        for i, name in zip(rows, names):  # only now: a failed reset leaves every episode as it was
            self._prompt_names[i] = name
        self._steps[mask] = 0
        return frames

    def _info(self, i: int) -> dict:
        return {"step": int(self._steps[i]), "prompt": self._prompt_names[i], "action_labels": self.action_labels}

    def _infos(self, mask: np.ndarray) -> dict:
        infos: dict = {}
        for i in np.flatnonzero(mask):
            infos = self._add_info(infos, self._info(i), i)
        return infos

    @staticmethod
    def _merge(infos: dict, fresh: dict, mask: np.ndarray) -> dict:
        """Overwrite the restarted worlds' step/prompt entries with their new episode's."""
        for key, value in fresh.items():
            if not key.startswith("_") and key in infos:
                infos[key][mask] = value[mask]
        return infos
