"""Named presets: whole configs for a purpose (the shipped model, the paper's layout, a GPU run,
a sharp tokenizer, tests), and the config a command runs with: a preset plus `--set` overrides."""

from __future__ import annotations

import dataclasses

from genie_play.config import (ChangeConfig, DynamicsConfig, GenieConfig, LAMConfig, TokenizerConfig, TrainConfig,
                               apply_overrides)
from genie_play.errors import GenieError

PRESETS: dict[str, GenieConfig] = {
    # The shipped world: the frame on screen carried forward by the camera's move, with block tokens
    # for what changes; trained on a 2-core CPU (models/MODEL_CARD.md).
    "default": GenieConfig(),
    # Genie's layout at our scale: every frame re-predicted as 16x16 tokens (the world shipped before).
    "tokens": GenieConfig(world="tokens"),
    # The paper's per-network layout at 64x64 (patch 4, 1024 codes, 25 MaskGIT steps at
    # temperature 2): for GPU training; about 5 s per keypress on a 2-core CPU.
    "paper": GenieConfig(
        world="tokens",
        tokenizer=TokenizerConfig(architecture="st_transformer", quantizer="vq", patch_size=4, d_model=256,
                                  num_heads=4, encoder_layers=4, decoder_layers=4, codebook_size=1024, latent_dim=32),
        lam=LAMConfig(architecture="st_transformer", patch_size=16, d_model=256, num_heads=4, encoder_layers=4,
                      decoder_layers=4, latent_dim=32),
        dynamics=DynamicsConfig(d_model=384, num_heads=6, num_layers=8, maskgit_steps=25, temperature=2.0,
                                action_input="add", previous_frame=False, full_mask_rate=0.0),
        train=TrainConfig(tokenizer_steps=20_000, tokenizer_batch=32, lam_steps=20_000, lam_batch=32,
                          dynamics_steps=20_000, dynamics_batch=32, lr=3e-4, warmup_steps=500),
    ),
    # The shipped networks (same sizes, so they still play on a CPU) trained on one GPU: bigger
    # batches on whole frames; run it with `--minutes`, which sets each network's length from its speed.
    "gpu": GenieConfig(
        world="tokens",
        train=TrainConfig(tokenizer_steps=20_000, tokenizer_batch=256, tokenizer_crop=0, lam_steps=20_000,
                          lam_batch=256, dynamics_steps=20_000, dynamics_batch=48, warmup_steps=200),
    ),
    # A tokenizer that meets issue 17's bars in 45 minutes on the 2-core CPU (README, "What the tokens'
    # bytes can hold"): 32x32 tokens (patch 2) hold 4x the bits of the default's 16x16. Its dynamics model
    # reads and predicts 2x2 tokens at each of 16x16 positions, so a MaskGIT round costs about what
    # the default's does; recoloured training frames carry it to looks it has not seen. Its tokens may
    # point at the frame before's (`pointer`): without, 40 CPU minutes did not even learn to copy. Its
    # 4,000-wide output layer is most of a training step, so the loss scores a quarter of the positions
    # (`loss_share`): 1.7x the steps an hour, and a better model at the hour (README, "The pointer").
    "sharp": GenieConfig(world="tokens", tokenizer=TokenizerConfig(patch_size=2, channels=48, decoder_channels=72),
                         dynamics=DynamicsConfig(group=2, pointer=True, loss_share=0.25),
                         train=TrainConfig(tokenizer_recolor=0.75)),
    # For tests and smoke runs: every network builds and trains in well under a second on a CPU.
    "tiny": GenieConfig(
        world="tokens",
        image_size=16,
        context_frames=4,
        tokenizer=TokenizerConfig(
            patch_size=4, channels=16, decoder_channels=16, fsq_levels="4,4,2", codebook_size=32,
            d_model=32, num_heads=2, encoder_layers=1, decoder_layers=1, latent_dim=8,
        ),
        lam=LAMConfig(channels=8, patch_size=8, d_model=32, num_heads=2, encoder_layers=1, decoder_layers=1, latent_dim=8),
        dynamics=DynamicsConfig(d_model=32, num_heads=2, num_layers=1, maskgit_steps=4, temperature=1.0),
        change=ChangeConfig(bands=2, move_x=4, move_y=2, reach_x=4, reach_y=2, channels=8, d_model=32, num_heads=2,
                            num_layers=1),
        train=TrainConfig(tokenizer_steps=50, tokenizer_batch=4, lam_steps=50, lam_batch=4, dynamics_steps=50,
                          dynamics_batch=4, change_steps=30, change_batch=8, change_clips=8, warmup_steps=5),
    ),
}
# The tiny world in the change layout, for tests of the shipped world's code.
PRESETS["tiny_change"] = dataclasses.replace(PRESETS["tiny"], world="change")


def get_preset(name: str) -> GenieConfig:
    """The named preset, or a one-line error listing them."""
    if name not in PRESETS:
        raise GenieError(f"unknown preset '{name}' (choose from: {', '.join(PRESETS)})")
    return PRESETS[name]


def resolve_config(preset: str, overrides: list[str] | None = None) -> GenieConfig:
    """The config a command runs with: a named preset plus `--set` overrides."""
    return apply_overrides(get_preset(preset), overrides or [])
