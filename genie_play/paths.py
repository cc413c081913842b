"""Where the shipped files live: trained weights in `models/`, prompts and sketches in `assets/`.

In a source checkout (`pip install -e .`) they sit beside the package; a regular install copies
them to `<prefix>/share/genie_play/`.
"""

from __future__ import annotations

import sys
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _shipped(name: str) -> Path:
    for root in (_SOURCE_ROOT, Path(sys.prefix) / "share" / "genie_play"):
        if (root / name).is_dir():
            return root / name
    return _SOURCE_ROOT / name  # absent: callers report the missing file by this path


def models_dir() -> Path:
    """The folder of the shipped default weights, keymap and model card."""
    return _shipped("models")


def assets_dir() -> Path:
    """The folder of bundled prompt images and sketches."""
    return _shipped("assets")


def prompts_dir() -> Path:
    """The bundled prompt pictures and sketches (the app's gallery)."""
    return assets_dir() / "prompts"


def weights_prompts(weights: Path | None) -> Path:
    """The prompts of a weights folder (`prompts/`, written for a world trained from footage),
    else the bundled ones."""
    own = Path(weights) / "prompts" if weights is not None else None
    return own if own is not None and (own / "default.png").is_file() else prompts_dir()


def default_prompt(weights: Path | None = None) -> Path:
    """The picture `genie-play` starts from when given none: the weights folder's own default, else the bundled one."""
    return weights_prompts(weights) / "default.png"
