"""The robustness case list: every test in tests/robustness/ registers what it tries and what the
user sees, and the Reliability table of docs/reliability.md is generated from this list (table.py), never by hand.

    @case("images", "a truncated PNG", "one line naming the file: cannot read image")
    def test_truncated_png(tmp_path): ...

For parametrized tests, register each parameter with `register(...)` and parametrize over the
returned Case objects (their `id` is a stable test id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AREAS = ("images", "keymaps", "weights", "videos", "CLI", "training", "play", "security")


@dataclass(frozen=True)
class Case:
    area: str  # one of AREAS: the table's grouping
    tried: str  # what the test does to the program, in the user's words
    sees: str  # what the user sees (message, exit code, what survives)

    @property
    def id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.tried.lower()).strip("-")[:60]


CASES: list[Case] = []


def register(area: str, tried: str, sees: str) -> Case:
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r}; add it to AREAS")
    c = Case(area, tried, sees)
    if any(existing.tried == tried and existing.area == area for existing in CASES):
        raise ValueError(f"case registered twice: {area}: {tried}")
    CASES.append(c)
    return c


def case(area: str, tried: str, sees: str):
    """Decorator: register one test function as one row of the table."""
    register(area, tried, sees)

    def wrap(fn):
        return fn

    return wrap
