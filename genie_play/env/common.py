"""What the single and the vector environment share: config, loading, prompts and episode starts."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any, Sequence

import numpy as np

from genie_play.errors import GenieError
from genie_play.paths import models_dir, weights_prompts
from genie_play.world.world_model import WorldModel

RESET_OPTIONS = ("prompt",)  # plus "reset_mask" for the vector environment
WORLD_OPTIONS = ("weights", "device", "maskgit_steps", "temperature")  # how a world is loaded


@dataclass(frozen=True)
class EnvConfig:
    """How the environment's world is made; keyword arguments to the environments set these fields."""

    weights: str | None = None  # folder with the three networks and keymap.toml; None: the shipped ones
    device: str = "auto"
    max_episode_steps: int = 256  # then `truncated` is True (the learned world never terminates)
    maskgit_steps: int | None = None  # None: the dynamics' trained default
    temperature: float | None = None


def make_config(config: EnvConfig | None, overrides: dict[str, Any]) -> EnvConfig:
    """The config with keyword overrides applied; an unknown keyword is a one-line error."""
    known = {f.name for f in fields(EnvConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise GenieError(f"unknown environment option '{unknown[0]}' (known: {', '.join(sorted(known))})")
    config = replace(config or EnvConfig(), **overrides)
    if config.max_episode_steps < 1:
        raise GenieError(f"max_episode_steps must be at least 1, got {config.max_episode_steps}")
    return config


def load_world(config: EnvConfig) -> WorldModel:
    options = {"maskgit_steps": config.maskgit_steps, "temperature": config.temperature}
    return WorldModel.load(config.weights or models_dir(), config.device, **options)


def env_world(config: EnvConfig, world: WorldModel | None, options: dict) -> WorldModel:
    """The given world, or one loaded from the config; options that load a world clash with `world`."""
    if world is None:
        return load_world(config)
    clash = sorted(set(options) & set(WORLD_OPTIONS))
    if clash:
        raise GenieError(f"'{clash[0]}' chooses how a world is loaded, but world= was given; pass one or the other")
    return world


def action_labels(world: WorldModel) -> tuple[str, ...]:
    """The keymap's label for each latent action (from the world's weights folder), else 'code i'."""
    from genie_play.keymap import load_keymap  # no pygame behind it

    path = world.source / "keymap.toml" if world.source is not None else None
    if path is None or not path.exists():
        return tuple(f"code {c}" for c in range(world.num_actions))
    keymap = load_keymap(path, world.num_actions)
    return tuple(keymap.label(c) for c in range(world.num_actions))


def prompt_pool(prompts: Sequence | None, world=None) -> list:
    """Prompts an episode may start from: the given ones, else the world's own (a world from
    footage has some) or every bundled picture and sketch."""
    if prompts is None:
        folder = weights_prompts(getattr(world, "source", None))
        prompts = sorted(folder.glob("*.png"))
        if not prompts:
            raise GenieError(f"{folder}: no prompt pictures found; pass prompts=[...]")
    prompts = list(prompts)
    if not prompts:
        raise GenieError("prompts is empty: give at least one picture (path, PIL image or RGB array)")
    for p in prompts:
        check_prompt(p)
    return prompts


def check_prompt(prompt) -> None:
    """Refuse what cannot be a picture before any network runs."""
    if isinstance(prompt, (str, os.PathLike, np.ndarray)) or hasattr(prompt, "getbands"):  # PIL images have getbands
        return
    raise GenieError(f"prompt must be an image path, a PIL image or an RGB uint8 array, got {type(prompt).__name__}")


def start_episode(rng: np.random.Generator, pool: list, options: dict | None) -> tuple[Any, str, int]:
    """Choose an episode's prompt (options['prompt'] or a random one from the pool) and its world seed."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(RESET_OPTIONS))
    if unknown:
        raise GenieError(f"unknown reset option '{unknown[0]}' (known: {', '.join(RESET_OPTIONS)})")
    if options.get("prompt") is not None:
        prompt = options["prompt"]
        check_prompt(prompt)
    else:
        prompt = pool[int(rng.integers(len(pool)))]
    name = str(prompt) if isinstance(prompt, (str, os.PathLike)) else type(prompt).__name__
    return prompt, name, int(rng.integers(2**31))
