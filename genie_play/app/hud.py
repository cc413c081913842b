"""What is drawn around the game: the top bar, the HUD, toasts, the help overlay and progress.

Always visible (the design's promise): current action, key-to-screen time, device, MaskGIT steps
and temperature, the frame number. Every key press gets visible feedback here.
"""

from __future__ import annotations

import time

import pygame

from genie_play.app import theme
from genie_play.keymap import Keymap

TOAST_FADE_S = 0.4  # a toast fades out over its last this-many seconds

CONTROLS = [
    ("keymap keys", "step one frame (hold to repeat)"),
    ("click a preview", "take that action"),
    ("click the picture", "that piece is the character (none: plays whole)"),
    ("Backspace", "undo (step back)"),
    ("R", "reset to the prompt"),
    ("P", "pause"),
    ("[  ]", "fewer / more MaskGIT steps"),
    ("-  =", "lower / higher temperature"),
    ("Tab", "show / hide the action explorer"),
    ("F5", "refresh the previews"),
    ("V", "crisp / smooth scaling"),
    ("G", "gallery of bundled prompts"),
    ("K", "sketch a prompt"),
    ("M", "remap keys (designer)"),
    ("F12", "screenshot"),
    ("F9  F10", "record GIF / MP4 (again: stop)"),
    ("drop a file", "a picture plays it; a .toml is a keymap"),
    ("H  F1", "this help"),
    ("Esc", "close panel · quit"),
]


def top_bar(surface: pygame.Surface, rect: pygame.Rect, fonts: theme.Fonts, title: str, badges: list) -> None:
    """App name, what is being played, and state badges (REC, PAUSED, mode) on the right."""
    pygame.draw.rect(surface, theme.PANEL, rect)
    pygame.draw.line(surface, theme.LINE, rect.bottomleft, rect.bottomright)
    name = theme.text(surface, "genie_play", (rect.x + 16, rect.centery), fonts.title, theme.ACCENT, anchor="midleft")
    theme.text(surface, title, (name.right + 14, rect.centery + 1), fonts.body, theme.DIM, anchor="midleft",
               max_width=rect.width // 2)
    x = rect.right - 14
    for label, color in badges:
        w = fonts.small.size(label)[0] + 18
        badge = pygame.Rect(x - w, rect.centery - 12, w, 24)
        pygame.draw.rect(surface, color, badge, border_radius=12)
        theme.text(surface, label, badge.center, fonts.small, theme.BG, anchor="center")
        x = badge.x - 8


def hud(surface: pygame.Surface, rect: pygame.Rect, fonts: theme.Fonts, fields: list, action: tuple) -> None:
    """The bottom bar: the current action large on the left, then labelled readouts."""
    pygame.draw.rect(surface, theme.PANEL, rect)
    pygame.draw.line(surface, theme.LINE, rect.topleft, rect.topright)
    code, label, key, lit = action
    x, top = rect.x + 16, rect.y + 10
    theme.text(surface, "ACTION", (x, top), fonts.small, theme.FAINT)
    if code is None:
        theme.text(surface, "press a key", (x, top + 20), fonts.title, theme.DIM)
        x += 190
    else:
        badge = pygame.Rect(x, top + 20, 28, 28)
        pygame.draw.rect(surface, theme.ACCENT if lit else theme.PANEL_HI, badge, border_radius=6)
        theme.text(surface, str(code), badge.center, fonts.body, theme.BG if lit else theme.ACCENT, anchor="center")
        name = theme.text(surface, label, (badge.right + 8, badge.centery), fonts.title, theme.TEXT, anchor="midleft",
                          max_width=150)
        cap = theme.keycap(surface, key, (name.right + 8, badge.centery), fonts.small, lit) if key else name
        x = max(cap.right + 24, x + 200)
    for caption, value, hint in fields:
        width = max(fonts.small.size(caption)[0], fonts.body.size(value)[0], fonts.small.size(hint or "")[0])
        if x + width > rect.right - 90:
            break  # a narrow window shows what fits, most important first
        pygame.draw.line(surface, theme.LINE, (x - 14, rect.y + 12), (x - 14, rect.bottom - 12))
        theme.text(surface, caption, (x, top), fonts.small, theme.FAINT)
        theme.text(surface, value, (x, top + 20), fonts.body, theme.TEXT)
        if hint:
            theme.text(surface, hint, (x, top + 44), fonts.small, theme.FAINT)
        x += width + 28
    theme.text(surface, "H  help", (rect.right - 16, rect.centery), fonts.small, theme.DIM, anchor="midright")


def toasts(surface: pygame.Surface, bottom: int, fonts: theme.Fonts, items: list) -> None:
    """Short messages stacked above the HUD, fading out as they expire."""
    now = time.monotonic()
    y = bottom
    for message, color, expires in reversed(items):
        if expires <= now:
            continue
        w = min(surface.get_width() - 40, fonts.body.size(message)[0] + 44)
        rect = pygame.Rect(0, 0, w, 32)
        rect.midbottom = (surface.get_width() // 2, y)
        alpha = int(235 * min(1.0, (expires - now) / TOAST_FADE_S))
        theme.panel(surface, rect, theme.PANEL_HI, 16, alpha=alpha)
        pygame.draw.circle(surface, color, (rect.x + 14, rect.centery), 4)
        theme.text(surface, message, (rect.x + 24, rect.centery), fonts.body, theme.TEXT, anchor="midleft",
                   max_width=rect.width - 32)
        y = rect.y - 6


def help_overlay(surface: pygame.Surface, fonts: theme.Fonts, keymap: Keymap) -> None:
    """Every control and the 8 codes' bindings, over a dimmed window; H, F1 or Esc closes it."""
    veil = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
    veil.fill((8, 9, 14, 200))
    surface.blit(veil, (0, 0))
    line = fonts.body.get_linesize() + 5
    w = min(880, surface.get_width() - 40)
    h = min(len(CONTROLS) * line + 90, surface.get_height() - 40)
    box = pygame.Rect(0, 0, w, h)
    box.center = surface.get_rect().center
    theme.panel(surface, box, theme.PANEL, 14, theme.LINE)
    theme.text(surface, "HOW TO PLAY", (box.x + 24, box.y + 18), fonts.small, theme.ACCENT)
    theme.text(surface, "H, F1 or Esc closes", (box.right - 24, box.y + 18), fonts.small, theme.DIM, anchor="topright")
    y = box.y + 50
    for key, what in CONTROLS:
        if y > box.bottom - line:
            break
        theme.text(surface, key, (box.x + 24, y), fonts.body, theme.ACCENT)
        theme.text(surface, what, (box.x + 160, y), fonts.body, theme.TEXT, max_width=box.width // 2 - 170)
        y += line
    x, right = box.x + box.width // 2 + 20, box.right - 24
    theme.text(surface, "KEYMAP", (x, box.y + 50), fonts.small, theme.ACCENT)
    theme.text(surface, keymap.source, (x + 70, box.y + 50), fonts.small, theme.DIM, max_width=right - x - 70)
    y = box.y + 78
    for b in keymap.bindings:
        theme.text(surface, str(b.code), (x, y), fonts.body, theme.ACCENT)
        theme.text(surface, b.label, (x + 26, y), fonts.body, theme.TEXT if b.keys else theme.DIM, max_width=130)
        kx = x + 170
        if not b.keys:
            theme.text(surface, "no key  (M to bind)", (kx, y + 2), fonts.small, theme.FAINT)
        for k in b.keys:
            kx = theme.keycap(surface, k, (kx, y + fonts.body.get_linesize() // 2), fonts.small, anchor="midleft").right + 6
        y += line + 6
    notes = ["Each key plays one of the 8 latent actions the", "model discovered from unlabeled video. The",
             "explorer shows what each one would do next."]
    for i, note in enumerate(notes):
        theme.text(surface, note, (x, y + 14 + i * 20), fonts.small, theme.DIM, max_width=right - x)


def progress(surface: pygame.Surface, box: pygame.Rect, fonts: theme.Fonts, title: str, detail: str, t: float) -> None:
    """A centred spinner with what is happening and for how long (loading, a slow first step)."""
    theme.spinner(surface, (box.centerx, box.centery - 30), 22, t)
    theme.text(surface, title, (box.centerx, box.centery + 10), fonts.body, theme.TEXT, anchor="midtop")
    theme.text(surface, detail, (box.centerx, box.centery + 36), fonts.small, theme.DIM, anchor="midtop",
               max_width=box.width - 20)
