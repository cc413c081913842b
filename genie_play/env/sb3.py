"""GenieVectorEnv as a stable-baselines3 VecEnv, so SB3 trains on B worlds in one batched pass.

SB3 predates Gymnasium's vector API and has its own: step_async/step_wait, `dones`, and a list of
per-world infos where an episode's last frame goes under "terminal_observation". Both use
same-step autoreset, so this is a plain translation.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from genie_play.env.vector_env import GenieVectorEnv
from genie_play.errors import GenieError


class SB3VecEnv(VecEnv):
    """SB3's view of a GenieVectorEnv."""

    def __init__(self, env: GenieVectorEnv):
        self.env = env  # first: SB3's __init__ asks it for render_mode
        self._actions = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

    def reset(self) -> np.ndarray:
        seeds = None if all(s is None for s in self._seeds) else self._seeds
        if any(o != self._options[0] for o in self._options):  # one batched reset takes one set of options
            raise GenieError("SB3VecEnv: set_options must give every world the same options")
        obs, info = self.env.reset(seed=seeds, options=self._options[0] or None)
        self.reset_infos = [{k: info[k][i] for k in info if not k.startswith("_")} for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def get_images(self) -> list[np.ndarray]:
        return list(self.env.batch.frames)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.env.step(self._actions)
        dones = terminated | truncated
        infos = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i] = {"terminal_observation": info["final_obs"][i], "TimeLimit.truncated": bool(truncated[i])}
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.env, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name, value, indices=None):
        setattr(self.env, attr_name, value)

    def env_method(self, method_name, *args, indices=None, **kwargs):
        raise NotImplementedError("the worlds share one batched model; call the GenieVectorEnv directly")

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * len(self._get_indices(indices))
