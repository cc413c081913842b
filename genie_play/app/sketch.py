"""Sketch mode: a canvas the player draws on with the mouse, then plays as the prompt.

Strokes are kept as resolution-free operations (points in 0..1 canvas units), so the drawing
survives window resizes and undo simply redraws the remaining operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pygame

from genie_play.app import theme
from genie_play.app.intents import Close, Reset

PALETTE = [(32, 32, 40), (250, 248, 240), (222, 64, 60), (246, 152, 40), (250, 214, 60),
           (72, 172, 84), (124, 192, 240), (52, 92, 204), (144, 84, 192), (132, 92, 56)]
BRUSHES = [("fine", 1 / 110), ("medium", 1 / 50), ("bold", 1 / 22)]  # radius as a fraction of the canvas
PAPER = PALETTE[1]


@dataclass
class Op:
    """One undoable drawing operation: a stroke (color None = eraser) or a background fill."""

    kind: str  # "stroke" | "fill"
    color: tuple | None
    radius: float = 0.0
    points: list = field(default_factory=list)


class Sketch:
    """The canvas, its tools, and the toolbar buttons; `handle` returns Reset (the drawing) or Close when done."""

    def __init__(self):
        self.ops: list[Op] = []
        self.color = PALETTE[0]
        self.brush = 1
        self.eraser = False
        self.canvas = pygame.Rect(0, 0, 1, 1)
        self.buttons: dict[str, pygame.Rect] = {}
        self._surface: pygame.Surface | None = None
        self._drawing: Op | None = None

    # --- state --------------------------------------------------------------------------------

    @property
    def background(self) -> tuple:
        fills = [op.color for op in self.ops if op.kind == "fill"]
        return fills[-1] if fills else PAPER

    def to_array(self) -> np.ndarray:
        """The drawing as RGB uint8 (H, W, 3) at the canvas's size on screen."""
        surface = self._render(self.canvas.size)
        w, h = surface.get_size()
        return np.frombuffer(pygame.image.tobytes(surface, "RGB"), np.uint8).reshape(h, w, 3).copy()

    def _render(self, size) -> pygame.Surface:
        surface = pygame.Surface(size)
        surface.fill(self.background)
        for op in self.ops:
            if op.kind == "stroke":
                self._stroke(surface, op, op.points)
        return surface

    def _stroke(self, surface: pygame.Surface, op: Op, points: list) -> None:
        w, h = surface.get_size()
        r = max(1, round(op.radius * w))
        color = op.color if op.color is not None else self.background
        xy = [(u * w, v * h) for u, v in points]
        for a, b in zip(xy, xy[1:]):
            pygame.draw.line(surface, color, a, b, r * 2)
        for p in xy:  # round caps and joints
            pygame.draw.circle(surface, color, p, r)

    def _refresh(self) -> None:
        self._surface = self._render(self.canvas.size)

    # --- events -------------------------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> str | None:
        if event.type == pygame.KEYDOWN:
            return self._key(event)
        if event.type == pygame.MOUSEBUTTONDOWN and event.button in (1, 3):
            for name, rect in self.buttons.items():
                if rect.collidepoint(event.pos):
                    return self._button(name)
            if self.canvas.collidepoint(event.pos):
                eraser = self.eraser or event.button == 3  # right button erases without switching tools
                self._drawing = Op("stroke", None if eraser else self.color, BRUSHES[self.brush][1], [self._uv(event.pos)])
                self.ops.append(self._drawing)
                self._stroke(self._surface or self._render(self.canvas.size), self._drawing, self._drawing.points)
        elif event.type == pygame.MOUSEMOTION and self._drawing is not None:
            self._drawing.points.append(self._uv(event.pos))
            if self._surface is not None:
                self._stroke(self._surface, self._drawing, self._drawing.points[-2:])
        elif event.type == pygame.MOUSEBUTTONUP and self._drawing is not None:
            self._drawing = None
        return None

    def _key(self, event) -> Reset | Close | None:
        key = event.key
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            return self._button("play")
        if key == pygame.K_ESCAPE:
            return self._button("close")
        if key == pygame.K_BACKSPACE or (key == pygame.K_z and event.mod & pygame.KMOD_CTRL):
            return self._button("undo")
        names = {pygame.K_e: "eraser", pygame.K_f: "fill", pygame.K_c: "clear", pygame.K_b: "brush"}
        if key in names:
            return self._button(names[key])
        if key in (pygame.K_LEFTBRACKET, pygame.K_RIGHTBRACKET):
            self.brush = max(0, min(len(BRUSHES) - 1, self.brush + (1 if key == pygame.K_RIGHTBRACKET else -1)))
        elif pygame.K_0 <= key <= pygame.K_9:
            index = (key - pygame.K_1) % 10  # keys 1..9, 0 pick swatches 1..10
            self.color, self.eraser = PALETTE[index], False
        return None

    def _button(self, name: str) -> Reset | Close | None:
        if name.startswith("color"):
            self.color, self.eraser = PALETTE[int(name[5:])], False
        elif name.startswith("size"):
            self.brush = int(name[4:])
        elif name == "brush":
            self.brush = (self.brush + 1) % len(BRUSHES)
        elif name == "eraser":
            self.eraser = not self.eraser
        elif name == "fill":
            self.ops.append(Op("fill", self.color))
        elif name == "clear":
            self.ops.clear()
        elif name == "undo" and self.ops:
            self.ops.pop()
        elif name == "play":
            return Reset(self.to_array(), "your sketch")
        elif name == "close":
            return Close()
        self._refresh()
        return None

    def _uv(self, pos) -> tuple[float, float]:
        return ((pos[0] - self.canvas.x) / self.canvas.width, (pos[1] - self.canvas.y) / self.canvas.height)

    # --- drawing ------------------------------------------------------------------------------

    def layout(self, area: pygame.Rect) -> None:
        """A square canvas as large as fits beside a 220-px toolbar."""
        side = max(64, min(area.width - 240, area.height))
        canvas = pygame.Rect(area.x, area.y, side, side)
        canvas.centery = area.centery
        if canvas.size != self.canvas.size:
            self.canvas = canvas
            self._refresh()
        self.canvas = canvas

    def draw(self, surface: pygame.Surface, area: pygame.Rect, fonts: theme.Fonts) -> None:
        self.layout(area)
        if self._surface is None:
            self._refresh()
        surface.blit(self._surface, self.canvas)
        pygame.draw.rect(surface, theme.LINE, self.canvas.inflate(4, 4), width=2, border_radius=2)
        bar = pygame.Rect(self.canvas.right + 20, area.y, area.right - self.canvas.right - 20, area.height)
        theme.panel(surface, bar)
        x, y = bar.x + 14, bar.y + 12
        theme.text(surface, "SKETCH", (x, y), fonts.small, theme.ACCENT)
        theme.text(surface, "draw with the mouse", (x, y + 20), fonts.small, theme.FAINT)
        self.buttons = {}
        y += 48
        for i, color in enumerate(PALETTE):  # two rows of five swatches
            rect = pygame.Rect(x + (i % 5) * 38, y + (i // 5) * 38, 32, 32)
            pygame.draw.rect(surface, color, rect, border_radius=6)
            chosen = color == self.color and not self.eraser
            pygame.draw.rect(surface, theme.ACCENT if chosen else theme.LINE, rect.inflate(4, 4), width=2, border_radius=8)
            self.buttons[f"color{i}"] = rect
        y += 88
        for i, (name, radius) in enumerate(BRUSHES):
            rect = pygame.Rect(x + i * 62, y, 56, 40)
            theme.panel(surface, rect, theme.PANEL_HI, 6, theme.ACCENT if i == self.brush else theme.LINE)
            pygame.draw.circle(surface, theme.TEXT, rect.center, max(1, min(17, round(radius * self.canvas.width))))
            self.buttons[f"size{i}"] = rect
        y += 54
        tools = [("eraser", "Eraser  E"), ("fill", "Fill background  F"), ("clear", "Clear  C"),
                 ("undo", "Undo stroke  Bksp"), ("play", "Play it!  Enter"), ("close", "Back  Esc")]
        for name, label in tools:
            rect = pygame.Rect(x, y, bar.width - 28, 34)
            lit = (name == "eraser" and self.eraser) or name == "play"
            theme.panel(surface, rect, theme.ACCENT if name == "play" else theme.PANEL_HI, 6,
                        theme.ACCENT if lit else theme.LINE)
            theme.text(surface, label, rect.center, fonts.body, theme.BG if name == "play" else theme.TEXT, anchor="center")
            self.buttons[name] = rect
            y += 42
