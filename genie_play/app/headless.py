"""Headless play: a scripted key sequence through the world model, written as GIF/MP4/PNG frames.

For machines without a display, for tests and for sharing. Keys are keymap labels ("jump",
"jump_left"), key names ("space") or "code:N", separated by spaces or commas; "right*5" repeats.
With the same weights, prompt, keys, sampling settings and --seed, the output is the same.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from genie_play.keymap import Keymap
from genie_play.app.recorder import check_output, sidecar_path, write_frames
from genie_play.errors import GenieError
from genie_play.io import write_json

MAX_REPEAT = 10_000  # "right*N": bounds a typo like right*1000000 before it runs for hours


def parse_keys(text: str, keymap: Keymap) -> list[int]:
    """A --keys sequence -> latent action codes; unknown words are errors that name the word."""
    # With commas, each item may be one label with spaces ("jump left"); an item that is not one
    # label, and a sequence without commas, is read word by word.
    items = [w.strip() for w in text.split(",")] if "," in text else [text]
    if not any(items):
        raise GenieError("--keys is empty; give a sequence like 'right right jump'")
    codes = []
    for item in filter(None, items):
        if "," in text:
            try:
                codes += _item(item, keymap)
                continue
            except GenieError:
                pass
        codes += _words(item.split(), keymap)
    return codes


def _words(words: list[str], keymap: Keymap, longest: int = 3) -> list[int]:
    """Words -> codes, each time reading the shortest run of words that is one label or key name:
    "right jump left" is three keys, but "jump right" is one when no label or key is "jump"."""
    codes, i = [], 0
    while i < len(words):
        for n in range(1, min(longest, len(words) - i) + 1):
            try:
                codes += _item(" ".join(words[i:i + n]), keymap)
                i += n
                break
            except GenieError as e:
                first_error = e if n == 1 else first_error
        else:
            raise first_error
    return codes


def _item(word: str, keymap: Keymap) -> list[int]:
    match = re.fullmatch(r"(.+?)\s*\*\s*(\d+)", word)
    name, times = (match.group(1), int(match.group(2))) if match else (word, 1)
    if not 1 <= times <= MAX_REPEAT:
        raise GenieError(f"--keys: '{word}' repeats {times} times; use 1..{MAX_REPEAT}")
    return [keymap.resolve(name)] * times


def run_headless(world, prompt, codes: list[int], keymap: Keymap, out: str | Path, scale: int = 1,
                 meta: dict | None = None, quiet: bool = False) -> Path:
    """Reset `world` on `prompt`, step through `codes`, write 1 + len(codes) frames to `out`."""
    out = check_output(out)
    say = (lambda *a: None) if quiet else (lambda msg: print(f"genie-play: {msg}", file=sys.stderr, flush=True))
    frames = [world.reset(prompt)]
    start = time.perf_counter()
    for i, code in enumerate(codes, 1):
        frames.append(world.step(code))
        if not quiet and (i % 25 == 0 or i == len(codes)):  # progress without flooding the terminal
            say(f"step {i}/{len(codes)}")
    seconds = time.perf_counter() - start
    write_frames(out, frames, scale=scale)
    steps = [{"frame": i, "action": c, "label": keymap.label(c)} for i, c in enumerate(codes, 1)]
    write_json(sidecar_path(out), {**(meta or {}), "frames": len(frames), "scale": scale, "steps": steps})
    rate = f", {len(codes) / seconds:.1f} steps/s" if seconds > 0 and codes else ""
    say(f"wrote {out} ({len(frames)} frames{rate}) and {sidecar_path(out).name}")
    return out
