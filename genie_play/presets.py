"""Named presets: whole configs for a purpose (the shipped world, tests), and the config a
command runs with: a preset plus `--set` overrides."""

from __future__ import annotations

from genie_play.config import (CharacterConfig, DynamicsConfig, GenieConfig, LAMConfig, SamplerConfig, TokenizerConfig, TrainConfig,
                               apply_overrides)
from genie_play.errors import GenieError

PRESETS: dict[str, GenieConfig] = {
    # The shipped world, trained on a 2-core CPU (models/MODEL_CARD.md).
    "default": GenieConfig(),
    # For tests and smoke runs: every network builds and trains in well under a second on a CPU.
    "tiny": GenieConfig(
        image_size=16,
        context_frames=4,
        tokenizer=TokenizerConfig(bands=2, move_x=4, move_y=2, reach_x=4, reach_y=2),
        lam=LAMConfig(channels=8, latent_dim=8),
        dynamics=DynamicsConfig(channels=8, d_model=32, num_heads=2, num_layers=1),
        character=CharacterConfig(detector_width=4, min_pixels=2, crop=8, reach=2, history=2),
        sampler=SamplerConfig(),
        train=TrainConfig(lam_steps=50, lam_batch=4, dynamics_steps=30, dynamics_batch=8, dynamics_clips=8,
                          character_clips=8, detector_steps=20, mover_steps=20, ground_steps=20, warmup_steps=5),
    ),
}


def get_preset(name: str) -> GenieConfig:
    """The named preset, or a one-line error listing them."""
    if name not in PRESETS:
        raise GenieError(f"unknown preset '{name}' (choose from: {', '.join(PRESETS)})")
    return PRESETS[name]


def resolve_config(preset: str, overrides: list[str] | None = None) -> GenieConfig:
    """The config a command runs with: a named preset plus `--set` overrides."""
    return apply_overrides(get_preset(preset), overrides or [])
