"""The action explorer: 8 thumbnails of the frame each latent code would produce from here.

Previews come from `WorldModel.preview`, which works on a copy of the world state, so looking
never changes the game; clicking a thumbnail takes that action (and the world then returns exactly
the previewed frame). This is how a designer learns what code 3 does before naming it.
"""

from __future__ import annotations

import numpy as np
import pygame

from genie_play.app import theme
from genie_play.keymap import Keymap


class Explorer:
    """Which previews are known for which world state, and where their thumbnails are drawn."""

    def __init__(self, num_actions: int):
        self.num_actions = num_actions
        self.visible = True
        self.version = -1  # the world-state version the previews belong to
        self.frames: dict[int, np.ndarray] = {}  # code -> previewed frame (maybe from an older state)
        self.fresh: set[int] = set()  # codes whose preview belongs to `version`
        self.requested: set[int] = set()  # codes being computed now
        self.cells: list[pygame.Rect] = []  # thumbnail rectangles from the last draw, for clicks

    def invalidate(self, version: int) -> None:
        """The world moved on: keep the old thumbnails (drawn dimmed) until new ones arrive."""
        self.version = version
        self.fresh.clear()
        self.requested.clear()

    def missing(self) -> list[int]:
        return [c for c in range(self.num_actions) if c not in self.fresh and c not in self.requested]

    @property
    def complete(self) -> bool:
        return len(self.fresh) == self.num_actions

    def receive(self, version: int, codes: list[int], frames: list[np.ndarray]) -> bool:
        """Store previews computed for `version`; stale ones (the world moved meanwhile) are dropped."""
        self.requested.difference_update(codes)
        if version != self.version:
            return False
        for code, frame in zip(codes, frames):
            self.frames[code] = frame
            self.fresh.add(code)
        return True

    def hit(self, pos) -> int | None:
        """The code whose thumbnail is under the mouse, if any."""
        return next((code for code, rect in enumerate(self.cells) if rect.collidepoint(pos)), None)

    def draw(self, surface: pygame.Surface, box: pygame.Rect, fonts: theme.Fonts, keymap: Keymap,
             last_code: int | None, hover: int | None, t: float, crisp: bool) -> None:
        theme.panel(surface, box, theme.PANEL)
        theme.text(surface, "ACTION EXPLORER", (box.x + 14, box.y + 12), fonts.small, theme.ACCENT)
        status = "up to date" if self.complete else f"previewing {len(self.fresh)}/{self.num_actions}"
        theme.text(surface, status, (box.right - 14, box.y + 12), fonts.small,
                   theme.DIM if self.complete else theme.ACCENT, anchor="topright")
        theme.text(surface, "what each code does next  ·  click one to take it", (box.x + 14, box.y + 30),
                   fonts.small, theme.FAINT, max_width=box.width - 28)
        cols, rows, pad, caption = 2, (self.num_actions + 1) // 2, 12, fonts.small.get_linesize() + 10
        top = box.y + 54
        cell_w = (box.width - pad * (cols + 1)) // cols
        side = max(16, min(cell_w, (box.bottom - top - pad - rows * (caption + pad)) // rows))
        self.cells = []
        for code in range(self.num_actions):
            col, row = code % cols, code // cols
            x = box.x + pad + col * (cell_w + pad) + (cell_w - side) // 2
            y = top + row * (side + caption + pad)
            rect = pygame.Rect(x, y, side, side)
            self.cells.append(rect)
            self._thumb(surface, rect, code, fonts, keymap, code == last_code, code == hover, t, crisp)

    def _thumb(self, surface, rect, code, fonts, keymap, last, hover, t, crisp) -> None:
        pygame.draw.rect(surface, theme.BG, rect)
        frame = self.frames.get(code)
        if frame is not None:
            image, where = theme.fit_image(frame, rect, crisp, whole_pixels=False)
            surface.blit(image, where)
            if code not in self.fresh:  # an older state's preview: dim it while the new one computes
                veil = pygame.Surface(rect.size, pygame.SRCALPHA)
                veil.fill((16, 18, 26, 150))
                surface.blit(veil, rect)
        if code not in self.fresh:
            theme.spinner(surface, rect.center, max(6, rect.width // 8), t + code * 0.3)
        border = theme.ACCENT if hover else (theme.GOOD if last else theme.LINE)
        pygame.draw.rect(surface, border, rect.inflate(4, 4), width=2, border_radius=3)
        badge = pygame.Rect(rect.x - 7, rect.y - 7, 22, 22)  # on the corner, covering no pixels that matter
        pygame.draw.rect(surface, theme.BG, badge, border_radius=11)
        pygame.draw.rect(surface, border, badge, width=2, border_radius=11)
        theme.text(surface, str(code), badge.center, fonts.small, theme.ACCENT, anchor="center")
        keys = keymap.bindings[code].keys if code < len(keymap.bindings) else ()
        y = rect.bottom + 6 + fonts.small.get_linesize() // 2
        name = fonts.small.size(keymap.label(code))[0]
        caps = list(keys[:1])  # a second key only when it fits under the thumbnail
        if len(keys) > 1 and name + 2 * fonts.small.size(keys[1])[0] + 60 < rect.width + 30:
            caps.append(keys[1])
        width = name + (sum(fonts.small.size(k)[0] + 18 for k in caps) if caps else fonts.small.size("no key")[0] + 8)
        x = rect.centerx - width // 2
        x = theme.text(surface, keymap.label(code), (x, y), fonts.small, theme.TEXT if keys else theme.DIM,
                       anchor="midleft").right + 6
        if not caps:
            theme.text(surface, "no key", (x, y), fonts.small, theme.FAINT, anchor="midleft")
        for k in caps:
            x = theme.keycap(surface, k, (x, y), fonts.small).right + 4
