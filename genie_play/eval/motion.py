"""What a key does on screen, measured from the pixels: how far the view scrolls (phase correlation),
and whether it lifts the world's character.

Used by the keymap checks (does "right" scroll the view one way and "left" the other) on the
shipped weights and any bundled or player's picture, and by `eval`. Pure NumPy.
"""

from __future__ import annotations

import numpy as np

def _gray(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) float, zero mean, edges tapered so the frame border is no edge."""
    g = frame.astype(np.float64).mean(axis=-1)
    g = g - g.mean()
    return g * np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1]))


def _surface(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Phase correlation of b against a: (H, W), peaks where b looks like a moved by (row, column)."""
    cross = np.fft.fft2(_gray(b)) * np.conj(np.fft.fft2(_gray(a)))
    return np.fft.ifft2(cross / (np.abs(cross) + 1e-9)).real


def pan(a: np.ndarray, b: np.ndarray, most: int = 16) -> int:
    """The strongest sideways motion from a to b (px, + = content moved right), 0 when none stands out.

    The character stays put on screen while the view follows it, and a far backdrop hardly moves,
    so the still peak (dx = 0) is left out; a moving peak counts from 15% of its height (measured on
    the built-in world: a 4 px scroll scores 0.2-1.4 of it, a standing view under 0.1)."""
    surface = _surface(a, b)
    rows = surface[[-1, 0, 1]].max(axis=0)  # (W,) allow a pixel of vertical jitter
    moves = [(rows[dx % len(rows)], dx) for dx in range(-most, most + 1) if dx]
    best, dx = max(moves)
    return dx if best >= 0.15 * rows[0] else 0


def scroll(frames: list[np.ndarray]) -> int:
    """Total horizontal content shift over consecutive frames, in pixels; negative: the view moved right."""
    return sum(pan(a, b) for a, b in zip(frames, frames[1:]))


def hold(world, prompt, code: int, steps: int = 8) -> list[np.ndarray]:
    """The frames of holding one latent action for `steps` steps from `prompt` (the prompt first)."""
    return [world.reset(prompt)] + [world.step(code) for _ in range(steps)]


def lifts(world, prompt, code: int, steps: int = 3, rise: int = 3) -> bool | None:
    """Does holding `code` from `prompt` raise the world's character by `rise` px or more within
    `steps` steps (its place is known exactly: WorldModel.sprite)? None where it has no character."""
    world.reset(prompt)
    if world.sprite is None:
        return None
    start, top = world.sprite.y, world.sprite.y
    for _ in range(steps):
        world.step(code)
        top = min(top, world.sprite.y)
    return start - top >= rise


def take_off_code(world, prompts, codes) -> tuple[int | None, dict[int, int]]:
    """Of `codes`, the one that lifts the character from the most prompts, and each one's count
    (None where no prompt has a character or none lifts it)."""
    counts = {c: sum(bool(lifts(world, p, c)) for p in prompts) for c in codes}
    best = max(counts, key=counts.get) if counts else None
    return (best if best is not None and counts[best] else None), counts


def view_scroll(world, prompt, steps: int = 8) -> list[int]:
    """For each latent action held `steps` steps from `prompt`: how far the view moved (px, + = right)."""
    return [-scroll(hold(world, prompt, code, steps)) for code in range(world.num_actions)]
