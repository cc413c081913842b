"""The game window: one `App` object whose `frame_once()` is the whole main loop.

    events -> handle(event)   keys, mouse and dropped files, routed by mode (play, sketch,
                              gallery, remap) and the help overlay
    collect()                 finished world jobs; a new frame is drawn at once
    tick()                    start the next step the player asked for, key repeat
    draw()                    game view, action explorer, HUD, toasts, overlays -- only when
                              something changed or an animation is due, and not while a step
                              computes the frame the player waits for (it is drawn with it)
    background()              previews and the model's leftover work, once the frame is shown
                              (collect, tick and background: the world jobs, in jobs.py)

Between turns the loop sleeps on the event queue (the workers post an event when a job ends),
so an idle window costs next to no CPU, and drawing never competes with a keypress's step. The
real loop and the tests run exactly this code: tests post pygame events and call `frame_once()`
until `idle`. The world model only ever runs on the worker thread, one job at a time: a step on
every core torch uses, background work on all but one, which the window keeps.
"""

from __future__ import annotations

import collections
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after the env var that keeps its banner quiet)

from genie_play.app import theme, view  # noqa: E402
from genie_play.app.controls import CONTROLS, Controls  # noqa: E402
from genie_play.app.explorer import Explorer  # noqa: E402
from genie_play.app.gallery import Gallery  # noqa: E402
from genie_play.app.intents import ApplyKeymap, Close, ExportKeymap, Reset, RestoreKeymap, Step, Undo  # noqa: E402
from genie_play.app.jobs import WorldJobs  # noqa: E402
from genie_play.app.recorder import Recording  # noqa: E402
from genie_play.keymap import NUM_ACTIONS, Keymap, load_keymap, normalize_key, save_keymap  # noqa: E402
from genie_play.app.remap import Remap  # noqa: E402
from genie_play.app.sketch import Sketch  # noqa: E402
from genie_play.app.worker import Job, Worker  # noqa: E402
from genie_play.errors import GenieError  # noqa: E402

JOB_DONE = pygame.event.custom_type()  # posted by the workers: wakes the sleeping loop
MAX_SLEEP_S = 0.5  # the loop wakes at least this often, whatever it waits for

@dataclass
class WindowSettings:
    """Everything the window needs; `genie_play.app.main` fills it from the command line."""

    weights: Path
    prompt: Path | np.ndarray
    keymap: Keymap
    device: str = "auto"
    seed: int = 0
    maskgit_steps: int | None = None
    temperature: float | None = None
    user_keymap: Path | None = None  # where remap saves; None = do not save
    shipped_keymap: Path | None = None  # what "restore defaults" in remap loads
    prompts: Path | None = None  # the gallery's folder
    captures: Path = Path("genie-play-captures")  # screenshots and recordings
    warning: str | None = None  # shown as a toast at start (e.g. a broken saved keymap)
    size: tuple[int, int] = (1100, 720)
    fps: int = 30  # redraws per second while something moves (a spinner); none while nothing changes
    threads: int | None = None  # torch threads for every model job; None: device.play_threads()
    repeat_delay: float = 0.3  # a held key starts repeating after this long...
    repeat_hz: float = 30.0  # ...then steps at this steady rate (or as fast as the model can)
    predictive: bool = True  # while idle, precompute every action's next frame so a keypress shows it at once
    preview_delay: float = 0.0  # previews may wait this long after a step
    # Codes per preview job; None: all eight in one pass on a GPU, where a batch costs what one does,
    # and one at a time on a CPU, where a batch of k costs k times one (~80 ms each on 2 cores):
    # a key whose preview is being computed then waits for it at most as long as for a fresh step.
    preview_batch: int | None = None


class App(Controls, WorldJobs):
    """The game: state, event handling, scheduling of world jobs, and drawing."""

    def __init__(self, settings: WindowSettings, screen: pygame.Surface):
        self.s, self.screen = settings, screen
        self.fonts = theme.Fonts.load()
        self.keymap = settings.keymap
        self.worker, self.io = Worker("genie-world", _wake), Worker("genie-io", _wake)
        self.world = None
        self.explorer = Explorer(NUM_ACTIONS)
        self.explorer.visible = settings.predictive  # --no-predict: nothing computed ahead until Tab
        self.sketch, self.remap, self.gallery = Sketch(), Remap(), Gallery(settings.prompts)
        self.mode, self.help, self.paused, self.crisp = "play", False, False, True
        self.running, self.fatal = True, None
        self.frame: np.ndarray | None = None
        self.view_rect: pygame.Rect | None = None  # where the frame is drawn (view.py): clicks on it choose the character
        self.character_box: tuple[int, int, int, int] | None = None  # (y, x, h, w) of the character found at reset
        self.prompt, self.prompt_name = settings.prompt, _name(settings.prompt)
        self.num_frames = 0
        self.version = 0  # bumps whenever the state the previews depend on changes
        # what the player asked for, in order: ("step", code, key, asked at) | ("undo",) | ("reset", image, name)
        self.intents: collections.deque = collections.deque()
        self.running_intent: Step | Undo | Reset | None = None  # the one the worker is computing now
        self.running_job: Job | None = None  # ...and its job
        self.held: dict[str, int] = {}  # action keys held down, in press order
        self.next_repeat = self.last_step_end = 0.0
        self.last_code = self.last_key = None
        self.last_press = 0.0
        self.hover = None
        self.step_seconds = 0.0  # the model's time for the last step
        self.key_to_screen: float | None = None  # the last step's, seconds
        self.draw_seconds = 0.0  # the last draw's, flip included
        self.last_precomputed = False  # the last step showed a frame made while the player was idle
        self.sampling = [settings.maskgit_steps, settings.temperature]
        self.device_label, self.device_hint = "…", None
        self.recording: Recording | None = None
        self.toasts: list = []
        self.started = time.monotonic()
        self.dirty, self.last_draw, self.draws = True, -math.inf, 0  # draws: counted for the tests
        self.new_frame = False  # a frame came back from the world and is not on screen yet
        self.intent_started = 0.0  # when the running intent went to the worker
        self.cancel_preview = threading.Event()  # a keypress pre-empts the preview computing now
        self.threads = (1, 1)  # the model's torch threads (for steps, for background work), set at load
        if settings.warning:
            self.toast(settings.warning, theme.BAD, 8)
        self.worker.submit("load", self._load)

    # --- the loop -----------------------------------------------------------------------------

    def frame_once(self) -> None:
        """One turn of the main loop: wait for something, handle it, draw if the picture changed."""
        for event in self._events():
            self.handle(event)
        self.collect()
        if self.new_frame:
            self._draw()  # the player is waiting for exactly this (work beside it slowed it 5-12 ms)
        self.tick()
        if time.monotonic() >= self._draw_due():
            self._draw()
        self.background()

    def _draw(self) -> None:
        start = time.monotonic()
        self.screen = pygame.display.get_surface() or self.screen  # follows window resizes
        self.draw()
        pygame.display.flip()
        self.dirty = self.new_frame = False
        self.last_draw, self.draws = time.monotonic(), self.draws + 1
        self.draw_seconds = self.last_draw - start

    def _events(self) -> list:
        """Pending events; with none and nothing due, sleep on the queue until one comes or work is due."""
        events = pygame.event.get()
        if events:
            return events
        timeout = min(self._draw_due(), self._next_job_due()) - time.monotonic()
        if timeout <= 0.001:
            return events
        job = self.running_job
        if job is not None and not job.done.is_set():
            # Nothing can happen before this frame comes: keys pressed meanwhile only queue behind it.
            # So wait on the job itself; pygame's event wait wakes every millisecond to poll, and on
            # a small machine every wake-up slows the model's threads.
            job.done.wait(min(timeout, MAX_SLEEP_S))
            return pygame.event.get()
        first = pygame.event.wait(max(1, int(1000 * min(timeout, MAX_SLEEP_S))))
        return [first, *pygame.event.get()] if first.type != pygame.NOEVENT else []

    def _draw_due(self) -> float:
        """When to draw next: now if something changed, else when an animation moves; but while a step
        computes the frame the player asked for, not before it comes or the thinking chip is due."""
        due = -math.inf if self.dirty else view.redraw_due(self, self.last_draw, 1.0 / self.s.fps)
        if self.running_intent is not None:
            due = max(due, self.intent_started + view.THINKING_AFTER_S)
        return due

    def _next_job_due(self) -> float:
        """When the idle worker gets its next job without any event: a held key's repeat, delayed previews."""
        if self.world is None or self.worker.busy:
            return math.inf  # a finished job posts JOB_DONE
        if self.held and not self.paused and self.mode == "play":
            return self.next_repeat
        if self._wants_previews():
            return self.last_step_end + self.s.preview_delay
        return math.inf

    @property
    def idle(self) -> bool:
        """Nothing left to compute or save (tests wait for this)."""
        previews_done = not self._previewing or self.explorer.complete or self.mode != "play"
        return (self.world is not None and not self.worker.busy and not self.io.busy and not self.intents
                and previews_done)

    def close(self) -> None:
        if self.recording is not None and self.recording.frames:
            self.recording.save()  # never lose a recording to a closed window
        self.worker.close()
        self.io.close()

    # --- events -------------------------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> None:
        if event.type == JOB_DONE:
            return  # it only woke the loop; tick() collects the job
        if event.type != pygame.MOUSEMOTION or self.mode == "sketch":
            self.dirty = True
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.DROPFILE:
            self._dropped(Path(event.file))
        elif event.type in (pygame.WINDOWFOCUSLOST, pygame.WINDOWMINIMIZED):
            self.held.clear()  # a key released in another window would otherwise repeat forever
        elif event.type == pygame.KEYUP:
            self.held.pop(normalize_key(pygame.key.name(event.key)), None)
        elif self.help:
            if event.type == pygame.KEYDOWN and event.key in (pygame.K_h, pygame.K_F1, pygame.K_ESCAPE):
                self.help = False
        elif self.mode in ("sketch", "gallery"):
            outcome = (self.sketch if self.mode == "sketch" else self.gallery).handle(event)
            if outcome is not None:  # Reset or Close: back to the game
                self.mode = "play"
            if isinstance(outcome, Reset):
                self._reset_to(outcome)
        elif self.mode == "remap":
            self._remapped(self.remap.handle(event, self.keymap))
        elif event.type == pygame.KEYDOWN:
            self._play_key(event)
        elif event.type == pygame.MOUSEMOTION:
            hover = self.explorer.hit(event.pos) if self.explorer.visible else None
            self.dirty = self.dirty or hover != self.hover
            self.hover = hover
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            code = self.explorer.hit(event.pos) if self.explorer.visible else None
            if code is not None:
                self.press(code, "click", hold=False)
            elif self.view_rect is not None and self.view_rect.collidepoint(event.pos):
                self._choose_character(event.pos)

    def _play_key(self, event) -> None:
        name = normalize_key(pygame.key.name(event.key))
        if event.mod & pygame.KMOD_CTRL and name == "z":
            name = "backspace"  # Ctrl+Z undoes too
        control = CONTROLS.get(name)
        if control is not None:
            control(self)
            return
        code = self.keymap.code_for_key(name)
        if code is not None:
            self.press(code, name)
        else:
            self.toast(f"'{name}' plays nothing  ·  M to remap  ·  H for help", theme.DIM, 2.5)

    def press(self, code: int, key: str, hold: bool = True) -> None:
        """An action key or a preview click: queue one step (and repeat while the key is held)."""
        self.last_press, self.last_key = time.monotonic(), key
        if self.world is None:
            return self.toast("still loading the model…", theme.DIM)
        if self.paused:
            return self.toast("paused  ·  P to resume", theme.ACCENT)
        if code >= self.world.num_actions:
            return self.toast(f"code {code} does not exist in this model", theme.BAD)
        if hold:
            self.held.pop(key, None)
            self.held[key] = code
            self.next_repeat = time.monotonic() + self.s.repeat_delay
        if sum(isinstance(i, Step) for i in self.intents) < 2:  # a short queue: taps count, holds never pile up
            self._ask(Step(code, key, time.monotonic()))

    def frames_when_done(self) -> int:
        """The history length once the running and queued intents are done (undo needs it)."""
        n = self.num_frames
        for intent in [self.running_intent, *self.intents]:
            if intent is not None:
                n = n + 1 if isinstance(intent, Step) else max(1, n - 1) if isinstance(intent, Undo) else 1
        return n

    def _choose_character(self, pos: tuple[int, int]) -> None:
        """A click on the picture: play on from the frame on screen with the piece clicked as the
        character (or none, where no piece is)."""
        if self.world is None or self.world.character is None or self.frame is None:
            self.toast("this world has no character to choose", theme.DIM)
            return
        size, box = len(self.frame), self.view_rect
        at = ((pos[1] - box.y) * size // box.height, (pos[0] - box.x) * size // box.width)
        self._reset_to(Reset(self.frame.copy(), self.prompt_name, at))

    def _reset_to(self, reset: Reset) -> None:
        self.intents.clear()
        self._ask(reset)

    def _dropped(self, path: Path) -> None:
        if path.suffix.lower() == ".toml":
            try:
                self._use_keymap(load_keymap(path), save=False)
                self.toast(f"keymap loaded from {path.name}", theme.GOOD)
            except GenieError as e:
                self.toast(f"{e}  ·  kept the previous keymap", theme.BAD, 8)
            return
        if self.mode != "play":
            self.mode, self.help = "play", False
        self._reset_to(Reset(path, path.name))
        self.toast(f"playing {path.name}", theme.INFO)

    def _remapped(self, outcome) -> None:
        if outcome is None:
            return
        if isinstance(outcome, Close):
            self.mode = "play"
        elif isinstance(outcome, ApplyKeymap):
            self._use_keymap(outcome.keymap, save=True)
        elif isinstance(outcome, ExportKeymap):
            self._save_keymap(outcome.path, "exported")
        elif isinstance(outcome, RestoreKeymap) and self.s.shipped_keymap is not None:
            try:
                self._use_keymap(load_keymap(self.s.shipped_keymap), save=True)
                self.remap._say("restored the shipped keymap")
            except GenieError as e:
                self.remap._say(str(e), error=True)

    def _use_keymap(self, keymap: Keymap, save: bool) -> None:
        self.keymap = keymap
        self.held.clear()
        if save and self.s.user_keymap is not None:
            if self._save_keymap(self.s.user_keymap, "saved"):
                self.keymap = Keymap(keymap.bindings, str(self.s.user_keymap))

    def _save_keymap(self, path: Path, verb: str) -> bool:
        try:
            save_keymap(self.keymap, path)  # tiny and atomic: done at once, so a restart always sees it
        except GenieError as e:
            self.toast(str(e), theme.BAD, 6)
            return False
        self.toast(f"keymap {verb} to {path}", theme.GOOD, 4)
        return True

    def toast(self, message: str, color=theme.TEXT, seconds: float = 3.0) -> None:
        now = time.monotonic()
        self.toasts = [t for t in self.toasts if t[2] > now][-3:] + [(message, color, now + seconds)]
        self.dirty = True

    # --- drawing ------------------------------------------------------------------------------

    def draw(self) -> None:
        view.draw_app(self)


def _wake() -> None:
    """Called on a worker thread when its job ends: wake the loop (SDL's event queue is thread-safe)."""
    try:
        pygame.event.post(pygame.event.Event(JOB_DONE))
    except pygame.error:  # the window is already closed
        pass


def _name(prompt) -> str:
    return Path(prompt).name if isinstance(prompt, (str, os.PathLike)) else "picture"


NO_DISPLAY = ("play without a window with --headless, e.g. "
              "genie-play play IMAGE --headless --keys 'right right jump' --out run.gif")


def open_window(size: tuple[int, int]) -> pygame.Surface:
    """Open the resizable window, or explain in one line that there is no display."""
    import sys

    asked = os.environ.get("SDL_VIDEODRIVER", "").lower()
    has_screen = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not asked and not has_screen:
        raise GenieError(f"no display available (DISPLAY is not set); {NO_DISPLAY}")
    try:
        pygame.display.init()
        # SDL quietly falls back to an invisible window when there is no screen; only tests ask for one.
        if pygame.display.get_driver() in ("offscreen", "dummy") and asked != pygame.display.get_driver():
            pygame.display.quit()
            raise pygame.error("only an invisible window could be opened")
        screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    except pygame.error as e:
        raise GenieError(f"no display available ({e}); {NO_DISPLAY}") from None
    pygame.font.init()
    pygame.key.set_repeat()  # our own steady repeat drives held keys, not the OS's
    return screen


def run_window(settings: WindowSettings) -> int:
    """Play in a window until it is closed; a model that fails to load is a one-line error."""
    screen = open_window(settings.size)
    pygame.display.set_caption(f"genie_play — {_name(settings.prompt)}")
    app = App(settings, screen)
    try:
        while app.running:
            app.frame_once()
    finally:
        app.close()
        pygame.quit()
    if app.fatal is not None:
        raise app.fatal
    return 0
