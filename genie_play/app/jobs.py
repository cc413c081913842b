"""The world jobs of the App: what the worker thread computes, in which order, and with how many threads.

A mixin of `App` (window.py), like `Controls`. The player's intents (app/intents.py: steps, undo,
reset) go first, one at a time; a new frame is drawn before anything else starts; then background
work: previews, which a keypress pre-empts. Only the worker thread runs the model; these methods
run on the main thread and only submit and collect.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pygame

from genie_play.app import theme
from genie_play.app.explorer import Explorer
from genie_play.app.intents import Reset, Step, Undo
from genie_play.app.worker import Job
from genie_play.errors import GenieError
from genie_play.keymap import NUM_ACTIONS


class WorldJobs:
    """Scheduling and routing of the App's world jobs."""

    def _load(self):
        import torch

        from genie_play.device import describe_device, play_threads, select_device
        from genie_play.world.world_model import WorldModel

        device = select_device(self.s.device)
        self.threads = (self.s.threads,) * 2 if self.s.threads else play_threads()  # (steps, background)
        step, background = self.threads
        torch.set_num_threads(step)  # on this thread, where the model runs; describe_device reports it
        world = WorldModel.load(self.s.weights, device=device, maskgit_steps=self.s.maskgit_steps,
                                temperature=self.s.temperature, seed=self.s.seed)
        world.reset(self.prompt)
        hint = f"previews {background} of {os.cpu_count()} cores" if device.type == "cpu" and background < step else None
        return world, describe_device(device), hint

    def collect(self) -> None:
        """Route the jobs that finished since the last turn."""
        for job in self.worker.poll() + self.io.poll():
            self._finished(job)
            self.dirty = True

    def tick(self) -> None:
        """Give the idle worker what the player asked for: an intent, or a held key's repeat."""
        now = time.monotonic()
        if self.world is None or self.worker.busy:
            return
        steps, temperature = self.sampling
        self.world.sampler.maskgit_steps, self.world.sampler.temperature = steps, temperature  # only between jobs
        if not self.intents and self.held and not self.paused and self.mode == "play" and now >= self.next_repeat:
            key, code = list(self.held.items())[-1]  # the most recently pressed key wins
            self.intents.append(Step(code, key, now))
            self.next_repeat = now + 1.0 / self.s.repeat_hz
        if self.intents:
            self._start(self.intents.popleft())

    def background(self) -> None:
        """Work nobody waits for, started only once the newest frame is on screen: previews, on the
        background thread budget."""
        if self.world is None or self.worker.busy or self.intents:
            return
        if self._wants_previews() and time.monotonic() - self.last_step_end >= self.s.preview_delay:
            batch = self.s.preview_batch or (NUM_ACTIONS if self.world.device.type == "cuda" else 1)
            missing = self.explorer.missing()  # the action just taken first: players repeat themselves
            codes = sorted(missing, key=lambda c: c != self.last_code)[:batch]
            self.explorer.requested.update(codes)
            self.cancel_preview.clear()
            world, cancelled = self.world, self.cancel_preview.is_set
            self.worker.submit("preview", self._on_threads(1, lambda: world.preview(codes, cancelled)),
                               (self.version, codes))

    def _on_threads(self, which: int, fn):
        """fn, run with the model's thread budget for steps (0) or for background work (1)."""
        import torch

        def run():
            torch.set_num_threads(self.threads[which])  # cheap; set on the worker, where fn runs
            return fn()

        return run

    def _wants_previews(self) -> bool:
        return (self.mode in ("play", "remap") and self._previewing and not self.held
                and bool(self.explorer.missing()))

    def _ask(self, intent: Step | Undo | Reset) -> None:
        """Queue what the player asked for; a preview computing now gives way to it, unless it is the
        very frame asked for, which is then shown as soon as it is ready."""
        self.intents.append(intent)
        job = self.worker.current
        if job is not None and job.kind == "preview":
            version, codes = job.tag
            if not (isinstance(intent, Step) and intent.code in codes and version == self.version and len(self.intents) == 1):
                self.cancel_preview.set()

    @property
    def _previewing(self) -> bool:
        """Previews are computed for predictive rendering, or to fill the visible explorer."""
        return self.s.predictive or self.explorer.visible

    def _start(self, intent: Step | Undo | Reset) -> None:
        world = self.world
        self.running_intent, self.intent_started = intent, time.monotonic()
        if isinstance(intent, Step):
            self.running_job = self.worker.submit("step", self._on_threads(0, lambda: (
                world.step(intent.code), world.last_step_precomputed)), intent)
        elif isinstance(intent, Undo):
            self.running_job = self.worker.submit("undo", self._on_threads(0, world.undo), intent)
        else:
            self.running_job = self.worker.submit("reset", self._on_threads(0, lambda: world.reset(
                intent.prompt, character_at=intent.character_at)), intent)

    def _finished(self, job: Job) -> None:
        if job.kind in ("step", "undo", "reset"):
            self.running_intent = self.running_job = None
        if job.error is not None:
            if not isinstance(job.error, GenieError):
                raise job.error  # a bug: keep its traceback
            if job.kind == "load":
                self.fatal, self.running = job.error, False
            else:
                self.toast(str(job.error), theme.BAD, 6)
            return
        if job.kind == "load":
            self.world, self.device_label, self.device_hint = job.result
            self.sampling = [self.world.sampler.maskgit_steps, self.world.sampler.temperature]
            visible, self.explorer = self.explorer.visible, Explorer(self.world.num_actions)
            self.explorer.visible = visible
            self._show(self.world.frame, {"do": "reset", "prompt": self.prompt_name})
        elif job.kind == "step":
            code, key, asked = job.tag.code, job.tag.key, job.tag.asked
            frame, self.last_precomputed = job.result
            self.step_seconds = job.seconds
            # what the player waits for: from the key to this frame on screen (drawn next, as long as the last)
            self.key_to_screen = time.monotonic() - asked + self.draw_seconds
            self.last_code = code
            self._show(frame, {"do": "step", "action": code, "label": self.keymap.label(code), "key": key})
        elif job.kind == "undo":
            self._show(job.result, {"do": "undo"})
        elif job.kind == "reset" and job.tag.character_at is not None:  # the player chose the character
            self.last_code = None
            sprite = self.world.sprite
            self.toast("the character: the piece you clicked" if sprite is not None else
                       "no character there: the picture plays whole", theme.INFO)
            self._show(job.result, {"do": "reset", "prompt": self.prompt_name, "character_at": list(job.tag.character_at)})
        elif job.kind == "reset":
            self.prompt, self.prompt_name = job.tag.prompt, job.tag.name
            pygame.display.set_caption(f"genie_play — {self.prompt_name}")
            self.last_code = None
            self._show(job.result, {"do": "reset", "prompt": self.prompt_name})
        elif job.kind == "preview":
            version, codes = job.tag
            if job.result is None:  # pre-empted by a keypress: asked for again later
                self.explorer.requested.difference_update(codes)
            else:
                self.explorer.receive(version, codes, job.result)
        elif job.kind == "save":
            self.toast(f"saved {job.result}", theme.GOOD, 5)

    def _show(self, frame: np.ndarray, step: dict) -> None:
        """A new frame is on screen: the previews are stale and a recording gets the frame."""
        self.frame, self.new_frame = frame, True
        if step["do"] == "reset":  # outlined on the first frame, so a wrong pick is seen (and clicked away)
            sprite = self.world.sprite
            self.character_box = None if sprite is None else (sprite.y, sprite.x, *sprite.mask.shape)
        self.num_frames = self.world.num_frames
        self.last_step_end = time.monotonic()
        self._changed()
        if self.recording is not None:
            self.recording.add(frame, step)

    def _changed(self) -> None:
        self.version += 1
        self.explorer.invalidate(self.version)
