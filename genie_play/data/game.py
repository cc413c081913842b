"""The built-in world as a game: a CoinRun-like side-scroller whose every key shows in the next frame.

    game = Platformer(seed=0, style="pencil", size=64)
    frame = game.reset()                                # (H, W, 3) uint8
    frame, reward, done, info = game.step(ACTIONS.index("jump_right"))

Rewards: +1 per coin, +1 per enemy stomped, +10 for reaching the goal. An episode ends on falling
into a gap, touching an enemy from the side, reaching the goal, or after `max_steps`. The camera
follows the player horizontally, so walking shows up as the level scrolling past.

The world is *legible*: a latent action model learns the keys from pairs of frames, so each key
must show in the very next frame, in the air as on the ground. There is no hidden momentum: the
key sets the horizontal speed (walk 4 px, run 8 px per frame at 64 px), jump lifts the
player at once, holding jump keeps rising (and glides down), releasing it cuts the rise, down
crouches on the ground and dives in the air, and a blocked walk still animates the legs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from genie_play.data.level import BLOCK, GROUND, PLATFORM, Level, generate_level
from genie_play.data.render import Renderer
from genie_play.data.sprites import POSES
from genie_play.data.styles import FAMILIES, Style, make_style, sample_style
from genie_play.errors import GenieError

# Every action shows in the next frame on the ground and in the air (see `Platformer.advance`).
ACTIONS = ("idle", "left", "right", "jump", "jump_left", "jump_right", "down", "run_right")
_LEFT = {"left", "jump_left"}
_RIGHT = {"right", "jump_right", "run_right"}
_JUMP = {"jump", "jump_left", "jump_right"}


@dataclass(frozen=True)
class Physics:
    """Speeds in tiles per frame, accelerations in tiles per frame²; the world runs at `fps`.

    Every style draws 10 pixels per tile at 64 px, so walk and run move whole pixels per frame
    (4 and 8 px), and a key scrolls the view by the same amount in every look: a scroll never
    alternates between two speeds, and a model that learns "4 px left" has learned "left"."""

    fps: int = 15
    walk: float = 0.4
    run: float = 0.8  # below one tile per frame, so collisions never tunnel
    gravity: float = 0.12
    jump: float = 0.55  # the take-off speed: the player is 4+ px higher in the next frame
    rise_gravity: float = 0.45  # gravity factor while jump is held on the way up: higher jumps
    glide: float = 0.1  # falling speed while jump is held on the way down
    dive: float = 0.7  # falling speed while down is held in the air (below one tile: no tunnelling)
    max_fall: float = 0.5
    width: float = 0.8
    height: float = 1.0
    crouch_height: float = 0.6
    max_steps: int = 1000
    camera_lead: float = 0.42  # the player sits this fraction of the frame from the left edge


class Platformer:
    """One game: a level, the player, enemies, coins, and a renderer for the current style.

    `style` may be a Style (kept for every level), a family name (a new style of that family per
    level), or None (a new style from the training families per level).
    """

    def __init__(self, seed: int = 0, style: Style | str | None = None, size: int = 64, physics: Physics = Physics()):
        if isinstance(style, str) and style not in FAMILIES:
            raise GenieError(f"unknown style family '{style}' (choose from: {', '.join(FAMILIES)})")
        self.rng = np.random.default_rng(seed)
        self.style_spec = style
        self.size = int(size)
        self.physics = physics
        self.style: Style | None = None
        self.level: Level | None = None
        self._renderer = None
        self.levels_played = 0

    # --- episode ------------------------------------------------------------------------------

    def reset(self, render: bool = True, anywhere: bool = False, level: Level | None = None) -> np.ndarray | None:
        """Start a new level (and, unless a Style was given, a new look); returns the first frame.

        anywhere=True starts at a random safe spot instead of the level's start (data recording uses
        it so clips cover whole levels); `level` plays a given level instead of a random one."""
        spec = self.style_spec
        style = spec if isinstance(spec, Style) else make_style(spec, self.rng) if spec else sample_style(self.rng)
        if style != self.style:
            self.style, self._renderer = style, None
        rows = math.ceil(style.view_tiles)
        # A given level is copied: enemies and coins change during play, the caller's level must not.
        self.level = copy.deepcopy(level) if level is not None else generate_level(self.rng, rows)
        self.x, self.y = self._random_start() if anywhere else self.level.start
        self.vx = self.vy = 0.0
        self.facing = 1
        self.grounded, self.crouching, self.holding_jump, self.walking = True, False, False, False
        self.coins_taken = np.zeros(len(self.level.coins), bool)
        self.coins = self.stomps = 0
        self.t = 0
        self.done, self.reason = False, ""
        self.levels_played += 1
        if self._renderer is not None:
            self._renderer.set_level(self.level)
        return self.render() if render else None

    def _random_start(self) -> tuple[float, float]:
        """Feet position on flat ground, away from crates and walking enemies."""
        lv, h = self.level, self.level.heights
        walkers = [e for e in lv.enemies if not e.flying]
        ok = [c for c in range(10, lv.cols - 12)  # beyond the calm start, whose wall would show in every clip
              if h[c - 1] == h[c] == h[c + 1] > 0 and not (lv.grid[:, c - 1:c + 2] == BLOCK).any()
              and not any(e.x_min - 2 <= c <= e.x_max + 2 for e in walkers)]
        if not ok:
            return lv.start
        c = ok[int(self.rng.integers(len(ok)))]
        return c + 0.5, float(lv.rows - h[c])

    def step(self, action: int) -> tuple[np.ndarray, float, bool, dict]:
        """Apply one action for one frame: (frame, reward, done, info)."""
        reward = self.advance(action)
        return self.render(), reward, self.done, self.info()

    def info(self) -> dict:
        return {"x": self.x, "y": self.y, "vx": self.vx, "vy": self.vy, "camera_x": self.camera_x,
                "grounded": self.grounded, "crouching": self.crouching, "facing": self.facing,
                "coins": self.coins, "stomps": self.stomps, "t": self.t, "reason": self.reason,
                "level": self.levels_played, "family": self.style.family}

    @property
    def camera_x(self) -> float:
        """World x of the frame's left edge."""
        return self.x - self.physics.camera_lead * self.style.view_tiles

    @property
    def player_height(self) -> float:
        return self.physics.crouch_height if self.crouching else self.physics.height

    # --- physics ------------------------------------------------------------------------------

    def advance(self, action: int) -> float:
        """Physics for one frame without rendering (cheap); returns the reward."""
        if self.level is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode is over; call reset()")
        if not 0 <= int(action) < len(ACTIONS):
            raise ValueError(f"action must be 0..{len(ACTIONS) - 1}, got {action}")
        p, name = self.physics, ACTIONS[int(action)]
        down, jump = name == "down", name in _JUMP
        # The key sets the horizontal speed outright, in the air too: no momentum to hide it.
        self.vx = -p.walk if name in _LEFT else p.run if name == "run_right" else p.walk if name in _RIGHT else 0.0
        if self.vx:
            self.facing = 1 if self.vx > 0 else -1
        if self.grounded:
            self.vy = -p.jump if jump else p.gravity  # standing: the fall is undone by landing at once
            self.grounded = not jump
        elif down:
            self.vy = p.dive
        elif jump:  # held: a higher arc on the way up, a glide on the way down
            self.vy = self.vy + p.gravity * p.rise_gravity if self.vy < 0 else min(self.vy + p.gravity, p.glide)
        else:  # released: the rise is cut, so idle and jump differ at once in the air
            self.vy = min(max(self.vy, 0.0) + p.gravity, p.max_fall)
        self.crouching = down and self.grounded
        self.walking = bool(self.vx)  # the legs move even against a wall: a blocked walk still shows
        self.holding_jump = jump
        old_y = self.y
        self._move_x()
        self._move_y(drop=down)
        self.t += 1
        return self._interact(old_y)

    @property
    def pose(self) -> str:
        """The player's sprite for the current state (one of POSES)."""
        if self.crouching:
            return "crouch"
        if not self.grounded:
            return "jump" if self.vy < 0 else "fall"
        if self.walking:
            return ("walk1", "walk2")[self.t % 2]
        return "stand"

    def view_state(self, size: int | None = None) -> tuple[int, int, int, int, int]:
        """What the frame shows of the player, in whole pixels: (camera x, player x and y on
        screen, pose index, facing). Evaluation derives what one transition reveals from it."""
        ppt = (size or self.size) / self.style.view_tiles
        cam = round(self.camera_x * ppt)
        cam_y = round((self.level.rows - self.style.view_tiles) * ppt)
        return cam, round(self.x * ppt) - cam, round(self.y * ppt) - cam_y, POSES.index(self.pose), self.facing

    def _blocked(self, row: int, col: int) -> bool:
        """Solid from every side: ground, crates, and the walls beyond both ends of the level."""
        if col < 0 or col >= self.level.cols or row < 0:  # a ceiling just above the frame's top edge
            return True
        return row < self.level.rows and self.level.grid[row, col] in (GROUND, BLOCK)

    def _tile(self, row: int, col: int) -> int:
        if 0 <= row < self.level.rows and 0 <= col < self.level.cols:
            return int(self.level.grid[row, col])
        return 0

    def _rows(self) -> range:
        return range(math.floor(self.y - self.player_height + 1e-6), math.floor(self.y - 1e-6) + 1)

    def _cols(self) -> range:
        half = self.physics.width / 2
        return range(math.floor(self.x - half + 1e-6), math.floor(self.x + half - 1e-6) + 1)

    def _move_x(self) -> None:
        half = self.physics.width / 2
        self.x += self.vx
        if self.vx > 0:
            col = math.floor(self.x + half - 1e-6)
            if any(self._blocked(r, col) for r in self._rows()):
                self.x, self.vx = col - half, 0.0
        elif self.vx < 0:
            col = math.floor(self.x - half + 1e-6)
            if any(self._blocked(r, col) for r in self._rows()):
                self.x, self.vx = col + 1 + half, 0.0

    def _move_y(self, drop: bool) -> None:
        old_y = self.y
        self.y += self.vy
        if self.vy > 0:
            row = math.floor(self.y - 1e-6)  # the row the feet are now in
            crossed = row >= old_y - 1e-6  # its top lies between the old and new feet
            landing = crossed and any(
                self._blocked(row, c) or (self._tile(row, c) == PLATFORM and not drop) for c in self._cols())
            if landing:
                self.y, self.vy = float(row), 0.0
        elif self.vy < 0:
            row = math.floor(self.y - self.player_height + 1e-6)  # the row the head is now in
            if any(self._blocked(row, c) for c in self._cols()):
                self.y, self.vy = row + 1 + self.player_height, 0.0
        self.grounded = self.vy == 0.0 and self._supported(drop)

    def _supported(self, drop: bool) -> bool:
        row = round(self.y)
        if abs(self.y - row) > 1e-6:
            return False
        return any(self._blocked(row, c) or (self._tile(row, c) == PLATFORM and not drop) for c in self._cols())

    def _interact(self, old_y: float) -> float:
        """Enemies move; coins, stomps, deaths and the goal are resolved. Returns the reward."""
        p, lv, reward = self.physics, self.level, 0.0
        for e in lv.enemies:
            if not e.alive:
                continue
            if e.flying:
                e.y = e.y0 + 0.35 + math.sin(e.phase + 0.12 * self.t)
            else:
                e.x += e.vx
                if not e.x_min <= e.x <= e.x_max:
                    e.vx, e.x = -e.vx, min(max(e.x, e.x_min), e.x_max)
            if abs(e.x - self.x) < (p.width + 0.7) / 2 and self.y > e.y - 0.7 and self.y - self.player_height < e.y:
                if self.y > old_y and old_y <= e.y - 0.45:  # came down on its head: bounce (while jump is held)
                    e.alive, self.vy = False, -p.jump * 0.7
                    self.stomps += 1
                    reward += 1.0
                else:
                    self.done, self.reason = True, "enemy"
        if len(lv.coins):
            cy = self.y - self.player_height / 2
            hit = (~self.coins_taken) & (np.abs(lv.coins[:, 0] - self.x) < 0.7) & (np.abs(lv.coins[:, 1] - cy) < 0.75)
            if hit.any():
                self.coins_taken |= hit
                self.coins += int(hit.sum())
                reward += float(hit.sum())
        if self.x >= lv.goal_x and not self.done:
            self.done, self.reason = True, "goal"
            reward += 10.0
        elif self.y - self.player_height > lv.rows + 0.5:
            self.done, self.reason = True, "fell"
        elif self.t >= p.max_steps and not self.done:
            self.done, self.reason = True, "timeout"
        return reward

    # --- pictures -----------------------------------------------------------------------------

    def render(self, labels: bool = False):
        """The current frame (H, W, 3) uint8; with labels=True also an (H, W) map of what is where."""
        if self._renderer is None:
            self._renderer = Renderer(self.style, self.size)
            self._renderer.set_level(self.level)
        frame, label_map = self._renderer.render(self)
        return (frame, label_map) if labels else frame
