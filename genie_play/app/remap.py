"""Remap mode: the designer picks a code, presses its new key, then types or picks a label.

Each change is applied at once and saved (atomically, by the app) to the user's keymap, so it is
still there after a restart. The panel shows each code's explorer preview beside its binding, so
the designer can see what a code does while naming it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pygame

from genie_play.app import theme
from genie_play.app.intents import ApplyKeymap, Close, ExportKeymap, RestoreKeymap
from genie_play.keymap import MAX_LABEL, Keymap, normalize_key
from genie_play.errors import GenieError

SUGGESTIONS = ["left", "right", "jump", "down", "up", "wait", "jump left", "jump right", "run right", "run left",
               "crouch", "attack"]


class Remap:
    """The remap panel's state machine: choose -> key -> label (and export)."""

    def __init__(self):
        self.code = 0
        self.stage = "choose"  # choose | key | label | export
        self.text = ""
        self.message = ""
        self.error = False
        self.rows: list[pygame.Rect] = []
        self._suggestion = -1
        self._swallow = ""  # the character of the key that opened a text field, which SDL also types

    def open(self) -> None:
        self.stage, self.message, self.error = "choose", "", False

    def handle(self, event: pygame.event.Event, keymap: Keymap):
        """Returns ApplyKeymap, ExportKeymap, RestoreKeymap, Close or None."""
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and self.stage == "choose":
            hit = next((i for i, r in enumerate(self.rows) if r.collidepoint(event.pos)), None)
            if hit is not None:
                self.code, self.stage, self.message = hit, "key", ""
            return None
        if event.type == pygame.TEXTINPUT and self.stage in ("label", "export"):
            if self._swallow and event.text == self._swallow:
                self._swallow = ""
                return None
            limit = MAX_LABEL if self.stage == "label" else 400
            self.text = (self.text + event.text)[:limit]
            return None
        if event.type != pygame.KEYDOWN:
            return None
        before = self.stage
        result = getattr(self, f"_{self.stage}")(event, keymap)
        opened_text = self.stage in ("label", "export") and self.stage != before
        self._swallow = getattr(event, "unicode", "") if opened_text else ""
        return result

    def _say(self, message: str, error: bool = False) -> None:
        self.message, self.error = message, error

    def _choose(self, event, keymap: Keymap):
        key, n = event.key, len(keymap.bindings)
        if key in (pygame.K_ESCAPE, pygame.K_m):
            return Close()
        if key in (pygame.K_UP, pygame.K_DOWN):
            self.code = (self.code + (1 if key == pygame.K_DOWN else -1)) % n
        elif pygame.K_0 <= key <= pygame.K_9 and key - pygame.K_0 < n:
            self.code, self.stage = key - pygame.K_0, "key"
            self._say("")
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.stage = "key"
            self._say("")
        elif key == pygame.K_l:
            self._start_label(keymap)
        elif key in (pygame.K_DELETE, pygame.K_BACKSPACE):
            bindings = tuple(dataclasses.replace(b, keys=()) if b.code == self.code else b for b in keymap.bindings)
            cleared = Keymap(bindings, keymap.source)
            self._say(f"code {self.code} has no key now")
            return ApplyKeymap(cleared)
        elif key == pygame.K_x:
            self.stage, self.text = "export", str(Path.cwd() / "keymap.toml")
            self._say("type a file path for the exported keymap, then Enter")
        elif key == pygame.K_d:
            return RestoreKeymap()
        return None

    def _key(self, event, keymap: Keymap):
        if event.key == pygame.K_ESCAPE:
            self.stage = "choose"
            self._say("kept the old key")
            return None
        name = normalize_key(pygame.key.name(event.key))
        try:
            new = keymap.rebind(self.code, key=name)
        except GenieError as e:
            self._say(str(e).replace("remap: ", ""), error=True)  # stay here: press another key
            return None
        moved = keymap.code_for_key(name)
        taken = f" (taken from code {moved})" if moved not in (None, self.code) else ""
        self._say(f"'{name}' now plays code {self.code}{taken}")
        self._start_label(new)
        return ApplyKeymap(new)

    def _start_label(self, keymap: Keymap) -> None:
        self.stage, self.text, self._suggestion = "label", keymap.label(self.code), -1
        pygame.key.start_text_input()

    def _label(self, event, keymap: Keymap):
        if event.key == pygame.K_ESCAPE:
            self.stage = "choose"
            return None
        if event.key == pygame.K_BACKSPACE:
            self.text = self.text[:-1]
        elif event.key == pygame.K_TAB:  # cycle through common labels
            self._suggestion = (self._suggestion + 1) % len(SUGGESTIONS)
            self.text = SUGGESTIONS[self._suggestion]
        elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            try:
                new = keymap.rebind(self.code, label=self.text)
            except GenieError as e:
                self._say(str(e).replace("remap: ", ""), error=True)
                return None
            self.stage = "choose"
            self._say(f"code {self.code} is now '{new.label(self.code)}'")
            return ApplyKeymap(new)
        return None

    def _export(self, event, keymap: Keymap):
        if event.key == pygame.K_ESCAPE:
            self.stage = "choose"
            return None
        if event.key == pygame.K_BACKSPACE:
            self.text = self.text[:-1]
        elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER) and self.text.strip():
            self.stage = "choose"
            return ExportKeymap(Path(self.text.strip()).expanduser())
        return None

    # --- drawing ------------------------------------------------------------------------------

    def draw(self, surface: pygame.Surface, area: pygame.Rect, fonts: theme.Fonts, keymap: Keymap,
             previews: dict, saved_to: str, t: float) -> None:
        theme.panel(surface, area)
        x = area.x + 18
        theme.text(surface, "REMAP  ·  designer mode", (x, area.y + 14), fonts.small, theme.ACCENT)
        theme.text(surface, f"saved to {saved_to}", (area.right - 18, area.y + 14), fonts.small, theme.DIM,
                   anchor="topright", max_width=area.width // 2)
        row_h = max(36, min(64, (area.height - 150) // max(1, len(keymap.bindings))))
        y = area.y + 44
        self.rows = []
        for b in keymap.bindings:
            row = pygame.Rect(x - 8, y, area.width - 20, row_h - 6)
            chosen = b.code == self.code
            theme.panel(surface, row, theme.PANEL_HI if chosen else theme.PANEL, 6, theme.ACCENT if chosen else None)
            thumb = pygame.Rect(row.x + 6, row.y + 3, row.height - 6, row.height - 6)
            if b.code in previews:
                image, where = theme.fit_image(previews[b.code], thumb)
                surface.blit(image, where)
            else:
                pygame.draw.rect(surface, theme.BG, thumb)
            theme.text(surface, f"code {b.code}", (thumb.right + 12, row.centery), fonts.body, theme.ACCENT, anchor="midleft")
            editing = chosen and self.stage == "label"
            label = self.text + ("|" if int(t * 2) % 2 else " ") if editing else b.label
            if editing:
                field = pygame.Rect(thumb.right + 92, row.y + 5, 236, row.height - 10)
                theme.panel(surface, field, theme.BG, 6, theme.ACCENT)
            theme.text(surface, label, (thumb.right + 100, row.centery), fonts.body,
                       theme.TEXT if b.keys else theme.DIM, anchor="midleft", max_width=220)
            kx = thumb.right + 340
            if chosen and self.stage == "key":
                theme.text(surface, "press the new key…", (kx, row.centery), fonts.body, theme.ACCENT, anchor="midleft")
            elif not b.keys:
                theme.text(surface, "no key", (kx, row.centery), fonts.body, theme.FAINT, anchor="midleft")
            for k in b.keys if not (chosen and self.stage == "key") else ():
                kx = theme.keycap(surface, k, (kx, row.centery), fonts.small).right + 6
            self.rows.append(row)
            y += row_h
        help_line = {
            "choose": "0-7 or click: pick a code, then press its key  ·  L label  ·  Del clear keys  ·  "
                      "X export  ·  D defaults  ·  Esc done",
            "key": "press the key for this code  ·  Esc keeps the old one",
            "label": "type a label  ·  Tab suggests  ·  Enter saves  ·  Esc keeps the old one",
            "export": "export to: " + self.text + ("|" if int(t * 2) % 2 else ""),
        }[self.stage]
        theme.text(surface, help_line, (x, area.bottom - 52), fonts.small, theme.DIM, max_width=area.width - 36)
        if self.message:
            theme.text(surface, self.message, (x, area.bottom - 28), fonts.body, theme.BAD if self.error else theme.GOOD,
                       max_width=area.width - 36)
