"""A scripted explorer that plays the platformer the way a curious person would, mixed with
random keys held for a few frames.

Purposeful play heads right, walking or running, jumping over gaps, walls, crates and enemies
(holding the jump for a varying time, so jumps differ in height); sometimes it turns back, stands
still, crouches or hops in place. That alone ties actions to states (jumps happen before gaps), so
at 60% of its decisions it instead holds a key drawn uniformly, whatever the state, for 1-6 frames
(about a quarter of the steps, as those spells are short): a latent action model then sees every
action in every kind of state, and each action gets 8-19% of the steps, while the purposeful play
still carries the player through whole levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genie_play.data.game import ACTIONS, Platformer
from genie_play.data.level import BLOCK, GROUND, PLATFORM

A = {name: i for i, name in enumerate(ACTIONS)}


@dataclass(frozen=True)
class PolicyConfig:
    """Mode weights and durations (in steps) of the explorer."""

    modes: tuple[str, ...] = ("forward", "back", "idle", "hop", "random")
    weights: tuple[float, ...] = (0.16, 0.08, 0.12, 0.04, 0.6)
    forward_steps: tuple[int, int] = (8, 30)
    other_steps: tuple[int, int] = (3, 12)
    random_steps: tuple[int, int] = (1, 7)  # a random key is held this long (upper bound exclusive)
    run_chance: float = 0.5  # per gait change: run instead of walk
    spontaneous_jump: tuple[float, float] = (0.05, 0.3)  # per grounded step, going right / left: jump for fun
    crouch_chance: float = 0.45  # an idle spell is spent crouching


class ExplorerPolicy:
    """Chooses actions from the game state; deterministic given its random generator."""

    def __init__(self, rng: np.random.Generator, config: PolicyConfig = PolicyConfig()):
        self.rng, self.cfg = rng, config
        self.mode, self.steps_left = "forward", 0
        self.gait = A["right"]
        self.hold = 0  # steps to keep holding the current jump
        self.held = A["idle"]
        self.random_action = A["idle"]
        self.idle_action = A["idle"]

    def act(self, game: Platformer) -> int:
        rng, cfg = self.rng, self.cfg
        if self.hold > 0 and not game.grounded:  # keep the jump going for a higher arc
            self.hold -= 1
            return self.held
        self.hold = 0
        if self.steps_left <= 0:
            self._new_mode(game)
        self.steps_left -= 1
        if self.mode == "random":
            return self.random_action
        if self.mode == "idle":
            return self.idle_action
        if self.mode == "hop":
            return self._jump(A["jump"], rng.integers(0, 8))
        direction = 1 if self.mode == "forward" else -1
        if direction < 0 and game.x < 1.5:  # the wall at the level's start: turn around
            self.mode, self.steps_left = "forward", int(rng.integers(*cfg.forward_steps))
            direction = 1
        move = self.gait if direction > 0 else A["left"]
        jump = A["jump_right"] if direction > 0 else A["jump_left"]
        if game.grounded:
            if _hazard_ahead(game, direction) or rng.random() < cfg.spontaneous_jump[direction < 0]:
                return self._jump(jump, rng.integers(3, 11))
            return move
        return A["down"] if game.vy > 0 and rng.random() < 0.08 and _ground_below(game) else move

    def _jump(self, action: int, hold: int) -> int:
        self.held, self.hold = action, int(hold)
        return action

    def _new_mode(self, game: Platformer) -> None:
        rng, cfg = self.rng, self.cfg
        p = np.asarray(cfg.weights) / sum(cfg.weights)
        self.mode = cfg.modes[int(rng.choice(len(cfg.modes), p=p))]
        span = {"forward": cfg.forward_steps, "random": cfg.random_steps}.get(self.mode, cfg.other_steps)
        self.steps_left = int(rng.integers(*span))
        if self.mode == "forward":
            self.gait = A["run_right"] if rng.random() < cfg.run_chance else A["right"]
        elif self.mode == "idle":
            self.idle_action = A["down"] if rng.random() < cfg.crouch_chance else A["idle"]
        elif self.mode == "random":
            self.random_action = int(rng.integers(len(ACTIONS)))


def _solid(game: Platformer, row: int, col: int, platforms: bool = True) -> bool:
    lv = game.level
    if col < 0 or col >= lv.cols:
        return True
    if not 0 <= row < lv.rows:
        return False
    tile = lv.grid[row, col]
    return tile in (GROUND, BLOCK) or (platforms and tile == PLATFORM)


def _hazard_ahead(game: Platformer, d: int) -> bool:
    """A gap, a wall or crate, or an enemy just ahead in direction d (+1 right, -1 left)."""
    x, y, feet = game.x, game.y, round(game.y)
    reach = 0.5 + 2.5 * abs(game.vx)
    probe = math.floor(x + d * (game.physics.width / 2 + reach))
    if not any(_solid(game, r, probe) for r in range(feet, feet + 3)):
        return True  # a gap or a drop
    if _solid(game, feet - 1, probe, platforms=False):
        return True  # a step up, a crate, or the end wall
    for e in game.level.enemies:
        if e.alive and 0 < d * (e.x - x) < 1.5 + 6 * abs(game.vx) and abs(e.y - y) < 2.5:
            return True
    return False


def _ground_below(game: Platformer) -> bool:
    col = math.floor(game.x)
    return any(_solid(game, r, col) for r in range(max(math.floor(game.y), 0), game.level.rows))
