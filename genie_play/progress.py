"""A progress bar: tqdm when it is installed, else a plain line every few seconds (and at the end)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, desc: str, unit: str = "clips", initial: int = 0, quiet: bool = False):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.quiet = quiet
        self.postfix = ""
        self._bar = None
        self._last = 0.0
        if quiet:
            return
        try:
            from tqdm import tqdm  # optional: a bare training machine may not have it
        except ImportError:
            return
        self._bar = tqdm(total=total, initial=initial, desc=desc, unit=f" {unit}", file=sys.stderr,
                         dynamic_ncols=True, leave=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif not self.quiet and (time.monotonic() - self._last > 5 or self.n >= self.total):
            self._last = time.monotonic()
            print(f"{self.desc}: {self.n}/{self.total} {self.unit} ({100 * self.n // max(self.total, 1)}%) {self.postfix}",
                  file=sys.stderr, flush=True)

    def set_total(self, total: int) -> None:
        """The run's length changed (a time budget measured its speed)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def set_postfix(self, **values) -> None:
        """Numbers shown after the bar (loss, throughput); the plain fallback prints them too."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix(values, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
