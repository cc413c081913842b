"""What the app's own keys do in play mode (keymap.RESERVED names them; a test keeps both in step).

A mixin of `App` (window.py): these methods only change app state or queue world jobs, so each
is one line of feedback away from the player.
"""

from __future__ import annotations

import numpy as np
import pygame

from genie_play.app import theme
from genie_play.app.intents import Reset, Undo
from genie_play.app.recorder import Recording, capture_name, write_png

STEP_CHOICES = (1, 2, 3, 4, 6, 8, 12, 16, 20, 25, 32, 50)  # MaskGIT steps offered by [ and ]
TEMPERATURE_STEP, MAX_TEMPERATURE = 0.25, 4.0


class Controls:
    """The play-mode controls of the App."""

    def do_help(self):
        self.help = True

    def do_quit(self):
        self.running = False

    def do_undo(self):
        if self.frames_when_done() <= 1:  # counts a step still computing: undo then takes it back
            return self.toast("at the prompt already: nothing to undo", theme.DIM)
        self._ask(Undo())

    def do_reset(self):
        self._reset_to(Reset(self.prompt, self.prompt_name))
        self.toast("back to the prompt", theme.INFO)

    def do_pause(self):
        self.paused = not self.paused
        self.held.clear()
        self.toast("paused" if self.paused else "playing", theme.ACCENT)

    def do_explorer(self):
        self.explorer.visible = not self.explorer.visible

    def do_refresh(self):
        self._changed()  # recompute all eight previews (e.g. to see another sample)
        self.explorer.frames.clear()

    def do_steps(self, direction: int):
        if self.sampling[0] is None:
            return
        options = sorted(set(STEP_CHOICES) | {self.sampling[0]})
        i = options.index(self.sampling[0]) + direction
        self.sampling[0] = options[max(0, min(len(options) - 1, i))]
        self._changed()
        self.toast(f"MaskGIT steps: {self.sampling[0]}", theme.INFO)

    def do_temperature(self, direction: int):
        if self.sampling[1] is None:
            return
        self.sampling[1] = round(max(0.0, min(MAX_TEMPERATURE, self.sampling[1] + direction * TEMPERATURE_STEP)), 2)
        self._changed()
        self.toast(f"temperature: {self.sampling[1]:.2f}", theme.INFO)

    def do_scaling(self):
        self.crisp = not self.crisp
        self.toast("crisp pixels" if self.crisp else "smooth scaling", theme.INFO)

    def do_mode(self, mode: str):
        self.mode, self.held = mode, {}
        if mode == "remap":
            self.remap.open()

    def do_screenshot(self):
        rgb = np.frombuffer(pygame.image.tobytes(self.screen, "RGB"), np.uint8).reshape(
            self.screen.get_height(), self.screen.get_width(), 3).copy()
        path = capture_name(self.s.captures, "screenshot", ".png")
        self.io.submit("save", lambda: write_png(path, rgb))
        self.toast("screenshot…", theme.INFO, 1.5)

    def do_record(self, suffix: str):
        if self.recording is not None:
            recording, self.recording = self.recording, None
            self.io.submit("save", recording.save)
            return self.toast(f"saving {recording.path.name} ({len(recording.frames)} frames)…", theme.INFO)
        if self.frame is None:
            return
        meta = {"prompt": self.prompt_name, "weights": str(self.s.weights), "keymap": self.keymap.source,
                "seed": self.s.seed, "maskgit_steps": self.sampling[0], "temperature": self.sampling[1]}
        self.recording = Recording(capture_name(self.s.captures, "genie", suffix), meta)
        self.recording.add(self.frame)
        self.toast(f"recording {suffix[1:].upper()}  ·  press again to stop", theme.REC)


CONTROLS = {
    "h": Controls.do_help, "f1": Controls.do_help, "escape": Controls.do_quit,
    "backspace": Controls.do_undo, "r": Controls.do_reset, "p": Controls.do_pause,
    "tab": Controls.do_explorer, "f5": Controls.do_refresh, "v": Controls.do_scaling,
    "[": lambda app: app.do_steps(-1), "]": lambda app: app.do_steps(1),
    "-": lambda app: app.do_temperature(-1), "=": lambda app: app.do_temperature(1),
    "g": lambda app: app.do_mode("gallery"), "k": lambda app: app.do_mode("sketch"),
    "m": lambda app: app.do_mode("remap"), "f12": Controls.do_screenshot,
    "f9": lambda app: app.do_record(".gif"), "f10": lambda app: app.do_record(".mp4"),
}
