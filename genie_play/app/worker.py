"""A background thread that runs slow work (loading, sampling, saving) one job at a time.

The window keeps drawing and answering events while a job runs, so loading the model or a slow
first step shows a progress spinner instead of a frozen window. Results come back through
`poll()`, called from the main loop, so all app state is only ever touched on the main thread;
`notify` (called on the worker thread when a job ends) lets a loop that sleeps on events wake up.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Job:
    """One piece of work, with the tag the app uses to route its result."""

    kind: str
    fn: Callable[[], Any]
    tag: Any = None
    started: float = 0.0
    seconds: float = 0.0
    result: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Worker:
    """Runs jobs in submission order on one daemon thread; at most one runs at a time."""

    def __init__(self, name: str, notify: Callable[[], None] | None = None):
        self._notify = notify
        self._todo: queue.Queue[Job | None] = queue.Queue()
        self._done: queue.Queue[Job] = queue.Queue()
        self._pending = 0  # submitted and not yet polled; only the main thread changes it
        self.current: Job | None = None  # the running job, for progress display
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def submit(self, kind: str, fn: Callable[[], Any], tag: Any = None) -> Job:
        job = Job(kind, fn, tag)
        self._pending += 1
        self._todo.put(job)
        return job

    def poll(self) -> list[Job]:
        """Finished jobs since the last poll, in order."""
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                break
        self._pending -= len(out)
        return out

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the running job (queued ones are dropped)."""
        while True:
            try:
                self._todo.get_nowait()
                self._pending -= 1
            except queue.Empty:
                break
        self._todo.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (job := self._todo.get()) is not None:
            job.started = time.perf_counter()
            self.current = job
            try:
                job.result = job.fn()
            except BaseException as e:  # handed to the main thread, which decides what it means
                job.error = e
            job.seconds = time.perf_counter() - job.started
            self.current = None
            job.done.set()
            self._done.put(job)
            if self._notify is not None:
                self._notify()
