"""The learned world as a Gymnasium environment: frames in, latent actions out.

    env = GenieEnv(max_episode_steps=200)
    obs, info = env.reset(seed=0, options={"prompt": "my_drawing.png"})
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

Observations are the world's RGB uint8 frames (H, W, 3); actions are its latent actions,
Discrete(8), with the keymap's labels in info["action_labels"]. The dream never ends by itself:
`terminated` is always False and `truncated` comes after max_episode_steps. The reward is
reward_fn(prev_frame, frame, info), by default the example scroll_reward (rewards.py).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError:  # an optional extra: say how to get it instead of a bare ImportError
    raise ImportError("genie_play.env needs gymnasium: pip install 'genie_play[env]'") from None

from genie_play.env.common import EnvConfig, action_labels, env_world, make_config, prompt_pool, start_episode
from genie_play.env.rewards import scroll_reward
from genie_play.world.world_model import WorldModel

RewardFn = Callable[[np.ndarray, np.ndarray, dict], float]


class GenieEnv(gym.Env):
    """One world model rollout per episode, started from a prompt picture."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, config: EnvConfig | None = None, *, world: WorldModel | None = None,
                 prompts: Sequence | None = None, reward_fn: RewardFn | None = None,
                 render_mode: str | None = None, **options):
        """options set EnvConfig fields; `world` is a loaded WorldModel this env then owns (it holds the rollout)."""
        self.config = make_config(config, options)
        self.world = env_world(self.config, world, options)
        self.prompts = prompt_pool(prompts, self.world)
        self.reward_fn = reward_fn or scroll_reward
        self.render_mode = render_mode
        size = self.world.config.image_size
        self.observation_space = spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.action_space = spaces.Discrete(self.world.num_actions)
        self.action_labels = action_labels(self.world)
        self._steps = 0
        self._prompt_name = ""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        prompt, name, self.world.seed = start_episode(self.np_random, self.prompts, options)
        frame = self.world.reset(prompt).copy()  # a bad prompt raises here, before the episode changes
        self._prompt_name, self._steps = name, 0
        return frame, self._info()

    def step(self, action):
        prev = self.world.frame
        frame = self.world.step(int(action)).copy()
        self._steps += 1
        info = self._info()
        reward = float(self.reward_fn(prev, frame, info))
        return frame, reward, False, self._steps >= self.config.max_episode_steps, info

    def render(self) -> np.ndarray | None:
        return self.world.frame.copy() if self.render_mode == "rgb_array" else None

    def _info(self) -> dict:
        return {"step": self._steps, "prompt": self._prompt_name, "action_labels": self.action_labels}
