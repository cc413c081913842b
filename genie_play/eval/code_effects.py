"""What each latent action code does on screen, read from the pixels of held-out footage: no labels.

For every real transition the LAM names, three numbers: the view's move (the shift of the whole
frame that copies it best), the move on screen of what the view's move does not explain (the largest moving
thing: a sprite), and the share of the frame that changed. Per code, their means, taken
relative to the footage's resting code (the one that moves least: River Raid's view scrolls
even then), name it ("scroll right", "sprite up", "idle") and propose its keys: arrows for the
four directions, space for the code that lifts a sprite. Pure NumPy apart from the LAM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genie_play.keymap import Binding, Keymap, MAX_LABEL

MOST_VIEW = 8  # px a step searched for the view's move (the built-in world runs 8)
MOST_SPRITE = 6  # px a step searched for a sprite's move
CHANGED = 24  # a pixel changed when a channel moved by more than this (of 255): not codec noise
MOVES = 1.0  # px a step: a code moves the view or a sprite when its median move is at least this
CUT = 0.25  # a transition whose best view move leaves over this share of the frame changed is a cut
# (a new life, a new level: River Raid's 39-43%, a scroll's 0-4%): a move read across it is noise
RARE = 0.02  # a code naming under this share of the held-out transitions is "rare": a handful of
# transitions cannot say what it does, and the dynamics model saw as few, so no key promises a move
KEYS = {"right": ("right", "d"), "left": ("left", "a"), "up": ("up", "w"), "down": ("down", "s")}


def view_move(a: np.ndarray, b: np.ndarray, most: int = MOST_VIEW) -> tuple[int, int]:
    """The camera's move from frame a to b in px, (x, y), + = right / down (the content moves the other way).

    The move whose copy of a matches b at the most of b's textured pixels: flat sky matches any
    move, and a parallax backdrop is smoother than the ground the player walks on, so the ground
    wins. Standing still wins ties."""
    a, b = a.astype(np.int16), b.astype(np.int16)
    inner = (slice(most, -most), slice(most, -most))
    edges = np.zeros(b.shape[:2], bool)
    edges[:, :-1] |= np.abs(np.diff(b, axis=1)).max(axis=-1) > CHANGED
    edges[:-1] |= np.abs(np.diff(b, axis=0)).max(axis=-1) > CHANGED
    textured = edges[inner]
    if textured.sum() < 16:
        return (0, 0)
    target = b[inner][textured]  # (P, 3)
    best, move = -1, (0, 0)
    for dy, dx in sorted(((dy, dx) for dy in range(-most, most + 1) for dx in range(-most, most + 1)),
                         key=lambda m: abs(m[0]) + abs(m[1])):
        matched = int((np.abs(target - _shifted(a, dx, dy)[inner][textured]).max(axis=-1) <= CHANGED).sum())
        if matched > best:
            best, move = matched, (-dx, -dy)
    return move


def _shifted(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """`frame` with its content moved by (dx, dy) px (wrapping: callers ignore the border)."""
    return np.roll(frame, (dy, dx), axis=(0, 1))


def sprite_move(a: np.ndarray, b: np.ndarray, view: tuple[int, int], most: int = MOST_SPRITE) -> tuple[tuple[int, int], float]:
    """((x, y) move on screen of what changed beyond the view's move, share of the frame that changed).

    The changed pixels are those the moved frame a does not explain; the sprite's move is the
    on-screen shift of a that explains most of them, (0, 0) unless it explains at least 40% more
    than standing still (an animation that stays in place is not a move)."""
    a, b = a.astype(np.int16), b.astype(np.int16)
    border = most + max(abs(view[0]), abs(view[1]))
    inner = (slice(border, -border or None), slice(border, -border or None))
    moved = _shifted(a, -view[0], -view[1])  # the content moves against the camera
    changed = (np.abs(b - moved).max(axis=-1) > CHANGED)[inner]
    share = float(changed.mean()) if changed.size else 0.0
    if changed.sum() < 4:
        return (0, 0), share
    target = b[inner][changed]  # (P, 3)
    errors = {}
    for dy in range(-most, most + 1):
        for dx in range(-most, most + 1):
            errors[dx, dy] = np.abs(target - _shifted(a, dx, dy)[inner][changed]).mean()
    best = min(errors, key=errors.get)
    return (best if errors[best] <= 0.6 * errors[0, 0] else (0, 0)), share


@dataclass(frozen=True)
class CodeEffect:
    """Means over the transitions the LAM gave one code (px a step; + = right / down)."""

    code: int
    transitions: int
    view: tuple[float, float]
    sprite: tuple[float, float]
    changed: float  # mean share of the frame's pixels that changed beyond the view's move
    cuts: float = 0.0  # share of its transitions that are cuts (their moves are left out of view and sprite)


def _trimmed_mean(moves: list[tuple[int, int]], cut: float = 0.1) -> tuple[float, float]:
    """Per axis, the mean without the top and bottom `cut`: a jump moves the sprite in a few of a
    code's transitions (a median says 0), a wrong match now and then must not swing it."""
    if not moves:
        return (0.0, 0.0)
    xs = np.sort(np.asarray(moves, float), axis=0)
    k = int(len(xs) * cut)
    return tuple(float(v) for v in xs[k:len(xs) - k].mean(axis=0))


def measure(frames: np.ndarray, codes: np.ndarray, num_codes: int, most_per_code: int = 200) -> list[CodeEffect]:
    """Per code, the effect of the (at most `most_per_code`, spread) real transitions it names.

    frames (C, T, H, W, 3) uint8, codes (C, T-1) the LAM's code of each transition."""
    effects = []
    for c in range(num_codes):
        where = np.argwhere(codes == c)
        where = where[np.linspace(0, len(where) - 1, min(len(where), most_per_code)).astype(int)] if len(where) else where
        views, sprites, shares = [], [], []
        for clip, t in where:
            a, b = frames[clip, t], frames[clip, t + 1]
            view = view_move(a, b)
            sprite, share = sprite_move(a, b, view)
            shares.append(share)
            if share <= CUT:
                views.append(view), sprites.append(sprite)
        effects.append(CodeEffect(c, int((codes == c).sum()), _trimmed_mean(views), _trimmed_mean(sprites),
                                  float(np.mean(shares)) if shares else 0.0,
                                  float(np.mean(np.asarray(shares) > CUT)) if shares else 0.0))
    return effects


def rare(effect: CodeEffect, effects: list[CodeEffect]) -> bool:
    """Does the LAM name too few of the held-out transitions with this code to say what it does?"""
    return effect.transitions < RARE * sum(e.transitions for e in effects)


def cut(effect: CodeEffect) -> bool:
    """Does the LAM give this code mostly to cuts (a new life, a new level), not to a move?"""
    return effect.cuts > 0.5


def resting_code(effects: list[CodeEffect]) -> int:
    """The code that moves least (the view and a sprite together, to the pixel), then changes least,
    among codes the LAM uses (and not rarely, and not for cuts)."""
    used = [e for e in effects if e.transitions and not rare(e, effects) and not cut(e)] or effects
    return min(used, key=lambda e: (round(np.hypot(*e.view) + np.hypot(*e.sprite)), e.changed)).code


def _direction(vector: np.ndarray) -> str | None:
    """"right", "left", "up" or "down" along the larger axis, None below MOVES px."""
    if np.abs(vector).max() < MOVES:
        return None
    if abs(vector[0]) >= abs(vector[1]):
        return "right" if vector[0] > 0 else "left"
    return "down" if vector[1] > 0 else "up"


def relative(effect: CodeEffect, rest: CodeEffect) -> tuple[np.ndarray, np.ndarray]:
    """(view, sprite) moves of `effect` beyond those of the resting code."""
    return np.subtract(effect.view, rest.view), np.subtract(effect.sprite, rest.sprite)


def name(effect: CodeEffect, rest: CodeEffect, effects: list[CodeEffect]) -> str:
    """A label from the code's moves beyond the resting code's: "scroll right", "sprite up",
    "right + sprite up", "idle" (the resting code), "other" (changes the frame some other way),
    "cut" (mostly a new life or level) or "rare" (too few transitions to tell)."""
    if effect.code == rest.code:
        return "idle"
    if not effect.transitions:
        return f"code {effect.code} (unused)"
    if rare(effect, effects):
        return "rare"
    if cut(effect):
        return "cut"
    view, sprite = map(_direction, relative(effect, rest))
    if view and sprite:
        return f"{view} + sprite {sprite}"
    if view:
        return f"scroll {view}"
    if sprite:
        return f"sprite {sprite}"
    return "other"  # its note says what changes


def directions(effect: CodeEffect, rest: CodeEffect) -> set[str]:
    """The directions a code travels beyond the resting code: the view's and the sprite's."""
    return {d for d in map(_direction, relative(effect, rest)) if d}


def note(effect: CodeEffect) -> str:
    """How a code was named, for the keymap file."""
    return (f"{effect.transitions} held-out transitions: view {effect.view[0]:+.0f},{effect.view[1]:+.0f} px, "
            f"sprite {effect.sprite[0]:+.0f},{effect.sprite[1]:+.0f} px, {effect.changed:.0%} of the frame changed"
            + (f", {effect.cuts:.0%} of them cuts" if effect.cuts else ""))


def propose_keymap(effects: list[CodeEffect]) -> Keymap:
    """Labels from `name`; each arrow key (and its WASD twin) to the most used code whose name
    travels that way and no other (`directions`: the same numbers the label reads), else whose view
    moves that way; space to the code that lifts a sprite the most; the rest get their digit key."""
    rest = effects[resting_code(effects)]
    named = [e for e in effects if e.transitions and not rare(e, effects) and not cut(e)]
    keys: dict[int, list[str]] = {e.code: [] for e in effects}
    used = {e.code: e.transitions for e in effects}
    moving = [e for e in named if e.code != rest.code]
    for d in KEYS:  # right, left, up, down
        pure = [e.code for e in moving if directions(e, rest) == {d}]
        # Defender: flying right scrolls the view right while the ship drifts back on screen, so no
        # code goes only right; the view's move is what a player reads as the direction.
        viewed = [e.code for e in moving if _direction(relative(e, rest)[0]) == d]
        if pure or viewed:  # the footage's usual way of going there, not the fastest (a run is a digit key)
            keys[max(pure or viewed, key=used.get)] += KEYS[d]
    lift = {e.code: rest.sprite[1] - e.sprite[1] for e in named if e.code != rest.code}
    if lift and max(lift.values()) >= MOVES:
        keys[max(lift, key=lift.get)].append("space")
    names = [name(e, rest, effects) for e in effects]
    labels = list(names)
    for e in effects:  # the same move twice: tell them apart by how far they go
        if names.count(names[e.code]) > 1 and names[e.code] not in ("other", "rare", "cut"):
            view, sprite = relative(e, rest)  # how far the move the name says goes
            px = float(np.hypot(*(view if names[e.code].startswith("scroll") else
                                  sprite if names[e.code].startswith("sprite") else view + sprite)))
            labels[e.code] = f"{labels[e.code]} {px:.0f}px"[:MAX_LABEL] if len(labels[e.code]) + 5 <= MAX_LABEL \
                else f"{labels[e.code][:MAX_LABEL - 3]} {e.code + 1}"
    bindings = tuple(Binding(e.code, labels[e.code], tuple(keys[e.code]) or (str(e.code + 1),), note(e)) for e in effects)
    return Keymap(bindings, "proposed from what each code does on screen")


def whole_move(a: np.ndarray, b: np.ndarray, view: tuple[int, int]) -> tuple[int, int]:
    """sprite_move from a to b, kept only when b's piece also moves back onto a's by the opposite
    move: a piece moved whole does, a torn or stretched one (a comb grown from a car that stays) does not."""
    move, _ = sprite_move(a, b, view)
    if move == (0, 0):
        return move
    back, _ = sprite_move(b, a, (-view[0], -view[1]))
    return move if abs(back[0] + move[0]) <= 1 and abs(back[1] + move[1]) <= 1 else (0, 0)


def travel(frames: list[np.ndarray]) -> np.ndarray:
    """Total (x, y) px over consecutive frames of the view's move plus a whole sprite's move on screen."""
    total = np.zeros(2)
    for a, b in zip(frames, frames[1:]):
        view = view_move(a, b)
        total += np.add(view, whole_move(a, b, view))
    return total


# Key pairs whose codes should travel opposite ways: (key, its opposite, the axis: 0 = x, 1 = y).
OPPOSITES = (("right", "left", 0), ("down", "up", 1))


def opposite_keys(world, keymap, prompts: list[np.ndarray], steps: int = 8) -> dict:
    """Per pair of opposite arrow keys the keymap binds, the share of `prompts` from which holding
    each `steps` steps travels opposite ways (beyond holding the idle code, by 2 px or more)."""
    from genie_play.eval.motion import hold

    rest = next((b.code for b in keymap.bindings if b.label == "idle"), None)
    out = {}
    for key, other, axis in OPPOSITES:
        a, b = keymap.code_for_key(key), keymap.code_for_key(other)
        if a is None or b is None:
            continue
        hits = 0
        for prompt in prompts:
            base = travel(hold(world, prompt, rest, steps))[axis] if rest is not None else 0.0
            ahead = travel(hold(world, prompt, a, steps))[axis] - base
            back = travel(hold(world, prompt, b, steps))[axis] - base
            hits += ahead >= 2 and back <= -2
        out[f"opposite_{key}_{other}"] = hits / len(prompts)
    return out
