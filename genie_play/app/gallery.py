"""The prompt gallery: the bundled pictures under assets/prompts/, browsable and playable.

Arrow keys or the mouse choose; Enter or a click plays the picture. Thumbnails are read once,
with the same loader as every other prompt, and a picture that fails to load says why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame

from genie_play.app import theme
from genie_play.app.intents import Close, Reset
from genie_play.errors import GenieError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}
THUMB = 160  # thumbnails are kept at this size and scaled down to fit the grid


def list_prompts(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def title(path: Path) -> str:
    """A file name as a caption: "world-night.png" -> "world night"."""
    return path.stem.replace("-", " ").replace("_", " ")


class Gallery:
    """Selection and layout of the prompt grid; `handle` returns Reset (the chosen picture), Close or None."""

    def __init__(self, folder: Path | None):
        self.paths = list_prompts(folder)
        self.selected = 0
        self.columns = 4
        self.cells: list[pygame.Rect] = []
        self._thumbs: dict[Path, np.ndarray | None] = {}

    def thumb(self, path: Path) -> np.ndarray | None:
        if path not in self._thumbs:
            from genie_play.images import fit_frame, load_image

            try:
                self._thumbs[path] = fit_frame(load_image(path), THUMB)
            except GenieError:
                self._thumbs[path] = None  # shown as a broken tile, not a crash
        return self._thumbs[path]

    def handle(self, event: pygame.event.Event):
        n = len(self.paths)
        if event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_ESCAPE, pygame.K_g):
                return Close()
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER) and n:
                return Reset(self.paths[self.selected], self.paths[self.selected].name)
            moves = {pygame.K_LEFT: -1, pygame.K_RIGHT: 1, pygame.K_UP: -self.columns, pygame.K_DOWN: self.columns}
            if event.key in moves and n:
                self.selected = min(n - 1, max(0, self.selected + moves[event.key]))
        elif event.type == pygame.MOUSEMOTION:
            hit = self._hit(event.pos)
            if hit is not None:
                self.selected = hit
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            hit = self._hit(event.pos)
            if hit is not None:
                return Reset(self.paths[hit], self.paths[hit].name)
        return None

    def _hit(self, pos) -> int | None:
        return next((i for i, rect in enumerate(self.cells) if rect.collidepoint(pos)), None)

    def draw(self, surface: pygame.Surface, area: pygame.Rect, fonts: theme.Fonts) -> None:
        theme.panel(surface, area, theme.PANEL)
        theme.text(surface, "GALLERY", (area.x + 16, area.y + 14), fonts.small, theme.ACCENT)
        theme.text(surface, "arrows or mouse to choose  ·  Enter or click to play  ·  Esc to go back",
                   (area.right - 16, area.y + 14), fonts.small, theme.DIM, anchor="topright")
        if not self.paths:
            theme.text(surface, "no bundled prompts found (assets/prompts/)", area.center, fonts.body, theme.DIM,
                       anchor="center")
            return
        pad, caption, top = 16, fonts.small.get_linesize() + 8, area.y + 44
        self.columns = max(1, min(6, (area.width - pad) // 150))
        rows = -(-len(self.paths) // self.columns)
        side = min((area.width - pad * (self.columns + 1)) // self.columns,
                   (area.bottom - top - pad * rows) // rows - caption)
        side = max(32, side)
        left = area.x + (area.width - (self.columns * (side + pad) - pad)) // 2
        self.cells = []
        for i, path in enumerate(self.paths):
            col, row = i % self.columns, i // self.columns
            rect = pygame.Rect(left + col * (side + pad), top + row * (side + caption + pad), side, side)
            self.cells.append(rect)
            thumb = self.thumb(path)
            if thumb is None:
                pygame.draw.rect(surface, theme.BG, rect)
                theme.text(surface, "unreadable", rect.center, fonts.small, theme.BAD, anchor="center")
            else:
                surface.blit(pygame.transform.smoothscale(theme.frame_surface(thumb), rect.size), rect)
            chosen = i == self.selected
            pygame.draw.rect(surface, theme.ACCENT if chosen else theme.LINE, rect.inflate(6, 6), width=3 if chosen else 1,
                             border_radius=4)
            theme.text(surface, title(path), (rect.centerx, rect.bottom + 6), fonts.small,
                       theme.TEXT if chosen else theme.DIM, anchor="midtop", max_width=side + pad)
