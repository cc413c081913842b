"""Gymnasium environments backed by the world model (the `env` extra: pip install 'genie_play[env]').

    GenieEnv        one world per episode (gymnasium.Env)
    GenieVectorEnv  B worlds in one batched forward pass (gymnasium.vector.VectorEnv)
Registered as "GeniePlay-v0": gymnasium.make("GeniePlay-v0") and
gymnasium.make_vec("GeniePlay-v0", num_envs=8, vectorization_mode="vector_entry_point").
"""

from genie_play.env.genie_env import GenieEnv  # first: it says how to install gymnasium if missing

import gymnasium
from genie_play.env.common import EnvConfig
from genie_play.env.rewards import horizontal_scroll, scroll_reward
from genie_play.env.vector_env import GenieVectorEnv

__all__ = ["EnvConfig", "GenieEnv", "GenieVectorEnv", "horizontal_scroll", "scroll_reward"]

if "GeniePlay-v0" not in gymnasium.registry:
    gymnasium.register("GeniePlay-v0", entry_point="genie_play.env:GenieEnv",
                       vector_entry_point="genie_play.env:GenieVectorEnv")
