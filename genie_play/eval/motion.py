"""What a key does on screen, measured from the pixels: how far the view scrolls.

Used by the keymap checks (does "right" scroll the view one way and "left" the other) on the
shipped weights and any bundled or player's picture, and by `eval`. Pure NumPy.
"""

from __future__ import annotations

import numpy as np

from genie_play.world.camera import pan


def scroll(frames: list[np.ndarray]) -> int:
    """Total horizontal content shift over consecutive frames, in pixels; negative: the view moved right."""
    return sum(pan(a, b) for a, b in zip(frames, frames[1:]))


def hold(world, prompt, code: int, steps: int = 8) -> list[np.ndarray]:
    """The frames of holding one latent action for `steps` steps from `prompt` (the prompt first)."""
    return [world.reset(prompt)] + [world.step(code) for _ in range(steps)]


def view_scroll(world, prompt, steps: int = 8) -> list[int]:
    """For each latent action held `steps` steps from `prompt`: how far the view moved (px, + = right)."""
    return [-scroll(hold(world, prompt, code, steps)) for code in range(world.num_actions)]
