"""What the player asks for, as small typed values: of the world (step, undo, reset), queued for the
worker, and of a panel (the gallery, the sketch canvas, the remap panel) when it hands back control;
a panel that chose a picture hands back the Reset it asks for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genie_play.keymap import Keymap


# --- of the world: queued, run one at a time on the worker --------------------------------------

@dataclass(frozen=True)
class Step:
    code: int  # the latent action
    key: str  # what was pressed ("right", "click")
    asked: float  # time.monotonic() of the press: key-to-screen latency counts from here


@dataclass(frozen=True)
class Undo:
    pass


@dataclass(frozen=True)
class Reset:
    prompt: Path | np.ndarray  # a picture file, or the sketch's (or the screen's) pixels
    name: str  # shown in the window's title
    character_at: tuple[int, int] | None = None  # a clicked (y, x) in model pixels: the character there


# --- of a panel: what the mode it returns to should do -----------------------------------------

@dataclass(frozen=True)
class Close:
    pass


@dataclass(frozen=True)
class ApplyKeymap:
    keymap: Keymap


@dataclass(frozen=True)
class ExportKeymap:
    path: Path


@dataclass(frozen=True)
class RestoreKeymap:
    pass
