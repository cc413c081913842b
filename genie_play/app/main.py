"""`genie-play play`: check the inputs, then play in a window or headless.

Everything a user can get wrong (no weights, a bad image, a bad keymap, no display) is found here
and reported as one line before any window opens or any model loads.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from genie_play.keymap import resolve_keymap, user_keymap_path, weights_keymap
from genie_play.errors import GenieError, file_error
from genie_play.paths import default_prompt, models_dir, weights_prompts

REQUIRED_WEIGHTS = ("tokenizer.safetensors", "dynamics.safetensors")


@dataclass(frozen=True)
class PlayOptions:
    """What `genie-play play` was asked to do (the parsed command line)."""

    image: Path | None = None
    weights: Path | None = None
    keymap: Path | None = None
    device: str = "auto"
    seed: int = 0
    maskgit_steps: int | None = None
    temperature: float | None = None
    headless: bool = False
    keys: str | None = None
    out: Path | None = None
    scale: int = 1
    predictive: bool = True  # precompute every action's next frame while the player is idle
    threads: int | None = None  # torch threads for the model; None: see device.play_threads


def check_weights(folder: Path, shipped: bool) -> None:
    """A missing weights file is the commonest first-run problem: say exactly what to do."""
    missing = [name for name in REQUIRED_WEIGHTS if not (folder / name).is_file()]
    if not missing:
        return
    if shipped:
        raise GenieError(f"{folder}: the shipped {missing[0]} is missing (restore models/ from the "
                         "repository, or play a folder of weights with --weights DIR)")
    raise file_error(folder, f"no {missing[0]} here; --weights needs a folder with tokenizer.safetensors "
                     "and dynamics.safetensors (lam.safetensors optional)")


def check_sampling(options: PlayOptions) -> None:
    if options.maskgit_steps is not None and not 1 <= options.maskgit_steps <= 100:
        raise GenieError(f"--maskgit-steps must be 1..100, got {options.maskgit_steps}")
    if options.temperature is not None and not 0 <= options.temperature <= 10:
        raise GenieError(f"--temperature must be 0..10, got {options.temperature}")
    if not 1 <= options.scale <= 16:
        raise GenieError(f"--scale must be 1..16, got {options.scale}")
    if options.threads is not None and not 1 <= options.threads <= 256:
        raise GenieError(f"--threads must be 1..256, got {options.threads}")


def play(options: PlayOptions) -> int:
    """Run the play command; returns the exit code (user errors raise GenieError)."""
    weights = Path(options.weights) if options.weights else models_dir()
    check_weights(weights, shipped=options.weights is None)
    check_sampling(options)
    prompt = Path(options.image) if options.image else default_prompt(weights)
    from genie_play.images import load_image

    load_image(prompt)  # a bad picture is reported now, not after the model has loaded
    # --keymap, else the user's saved map, else the weights' keymap, else the shipped one
    keymap, warning = resolve_keymap(options.keymap, user_keymap_path(), weights_keymap(weights))
    sampling = {"maskgit_steps": options.maskgit_steps, "temperature": options.temperature, "seed": options.seed}
    if options.headless:
        return _play_headless(options, weights, prompt, keymap, warning, sampling)
    from genie_play.app.window import WindowSettings, run_window

    settings = WindowSettings(weights=weights, prompt=prompt, keymap=keymap, device=options.device,
                              user_keymap=user_keymap_path(), shipped_keymap=weights_keymap(weights),
                              prompts=weights_prompts(weights), warning=warning, predictive=options.predictive,
                              threads=options.threads, **sampling)
    return run_window(settings)


def _play_headless(options, weights, prompt, keymap, warning, sampling) -> int:
    from genie_play.app.headless import parse_keys, run_headless
    from genie_play.app.recorder import check_output
    from genie_play.device import describe_device, select_device
    from genie_play.world.world_model import WorldModel

    if not (options.keys and options.out):
        raise GenieError("play --headless needs --keys SEQ and --out FILE")
    if warning:
        print(f"genie-play: warning: {warning}", file=sys.stderr)
    codes = parse_keys(options.keys, keymap)  # typos are reported before the model loads
    check_output(options.out)
    if options.threads:
        import torch

        torch.set_num_threads(options.threads)
    device = select_device(options.device)
    print(f"genie-play: loading {weights} on {describe_device(device)}", file=sys.stderr, flush=True)
    world = WorldModel.load(weights, device=device, **sampling)
    meta = {"prompt": str(prompt), "weights": str(weights), "keymap": keymap.source, "seed": options.seed,
            "maskgit_steps": world.sampler.maskgit_steps, "temperature": world.sampler.temperature}
    run_headless(world, prompt, codes, keymap, options.out, scale=options.scale, meta=meta)
    return 0
