"""The look of the app: colours, fonts and the few drawing helpers every panel shares.

One dark theme with an amber accent; text uses a common system sans font when present, else
pygame's bundled one, so the window works on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

BG = (16, 18, 26)
PANEL = (28, 31, 44)
PANEL_HI = (40, 44, 62)
LINE = (58, 63, 86)
TEXT = (232, 234, 242)
DIM = (150, 156, 178)
FAINT = (96, 102, 126)
ACCENT = (255, 190, 70)
GOOD = (110, 220, 150)
BAD = (255, 96, 96)
REC = (240, 60, 70)
INFO = (120, 180, 255)


@dataclass
class Fonts:
    """The three text sizes of the UI (built after pygame.font.init)."""

    small: pygame.font.Font
    body: pygame.font.Font
    title: pygame.font.Font

    @classmethod
    def load(cls) -> Fonts:
        # A common system sans when there is one (crisper at small sizes), else pygame's bundled font.
        path = pygame.font.match_font("dejavusans,freesans,helveticaneue,helvetica,arial,segoeui")
        bold = pygame.font.match_font("dejavusans,freesans,helveticaneue,helvetica,arial,segoeui", bold=True)
        k = 0.72 if path else 1.0  # pygame's own font renders smaller at the same size

        def make(px: int, heavy: bool = False) -> pygame.font.Font:
            return pygame.font.Font((bold if heavy else path) or None, round(px * k))

        return cls(make(18), make(22), make(30, heavy=True))


def text(surface: pygame.Surface, s: str, pos, font: pygame.font.Font, color=TEXT, anchor: str = "topleft",
         max_width: int | None = None) -> pygame.Rect:
    """Draw one line of text; `anchor` is any pygame.Rect position name. Too-long text is cut with '…'."""
    if max_width is not None and font.size(s)[0] > max_width:
        while s and font.size(s + "…")[0] > max_width:
            s = s[:-1]
        s += "…"
    image = font.render(s, True, color)
    rect = image.get_rect(**{anchor: pos})
    surface.blit(image, rect)
    return rect


def panel(surface: pygame.Surface, rect, color=PANEL, radius: int = 10, border=None, alpha: int | None = None) -> None:
    """A rounded panel, optionally translucent (for overlays over the game view)."""
    rect = pygame.Rect(rect)
    if alpha is None:
        pygame.draw.rect(surface, color, rect, border_radius=radius)
    else:
        layer = pygame.Surface(rect.size, pygame.SRCALPHA)
        pygame.draw.rect(layer, (*color, alpha), layer.get_rect(), border_radius=radius)
        surface.blit(layer, rect)
    if border is not None:
        pygame.draw.rect(surface, border, rect, width=1, border_radius=radius)


def keycap(surface: pygame.Surface, label: str, pos, font: pygame.font.Font, lit: bool = False,
           anchor: str = "midleft") -> pygame.Rect:
    """A key drawn like a keyboard key; `lit` when it is pressed or just used."""
    w, h = font.size(label)
    rect = pygame.Rect(0, 0, max(w + 12, h + 8), h + 8)
    setattr(rect, anchor, pos)
    pygame.draw.rect(surface, ACCENT if lit else PANEL_HI, rect, border_radius=5)
    pygame.draw.rect(surface, ACCENT if lit else LINE, rect, width=1, border_radius=5)
    text(surface, label, rect.center, font, BG if lit else TEXT, anchor="center")
    return rect


def frame_surface(rgb: np.ndarray) -> pygame.Surface:
    """An RGB uint8 (H, W, 3) array as a pygame surface."""
    return pygame.image.frombuffer(np.ascontiguousarray(rgb).tobytes(), (rgb.shape[1], rgb.shape[0]), "RGB")


def fit_image(rgb: np.ndarray, box: pygame.Rect, crisp: bool = True,
              whole_pixels: bool = True) -> tuple[pygame.Surface, pygame.Rect]:
    """Scale a frame into `box` keeping its aspect: whole-pixel steps when crisp, smooth otherwise.

    whole_pixels=False fills the box with nearest-neighbour pixels (for small thumbnails, where a
    whole-pixel step would leave a wide margin)."""
    h, w = rgb.shape[:2]
    source = frame_surface(rgb)
    fit = min(box.width / w, box.height / h)
    if crisp and whole_pixels and fit >= 1:
        k = int(fit)  # integer scaling: every model pixel is a k x k square, no blur, no uneven pixels
        image = pygame.transform.scale(source, (w * k, h * k))
    else:
        size = (max(1, int(w * fit)), max(1, int(h * fit)))
        image = pygame.transform.smoothscale(source, size) if not crisp else pygame.transform.scale(source, size)
    return image, image.get_rect(center=box.center)


def spinner(surface: pygame.Surface, center, radius: int, t: float, color=ACCENT) -> None:
    """A rotating arc: something is being computed."""
    import math

    rect = pygame.Rect(0, 0, radius * 2, radius * 2)
    rect.center = center
    start = (t * 5.0) % (2 * math.pi)
    pygame.draw.arc(surface, LINE, rect, 0, 2 * math.pi, 3)
    pygame.draw.arc(surface, color, rect, start, start + 1.8, 3)
