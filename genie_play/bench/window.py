"""`genie-play bench --window`: what the player feels, measured from outside the program.

The game runs as its own process in a real window on an X display (a virtual one from Xvfb when
DISPLAY is unset). Keys are sent as X events through XTest, as a keyboard sends them, and a
keypress counts as shown when the pixels of the game view change on the X server: the X server
reports each drawing into the window (the DAMAGE extension), and the bench then reads the pixels
back (GetImage). It never polls, so it takes next to no CPU from the game it measures. The number
includes everything the player waits for: the event queue, the app's loop, the world model,
drawing and the copy to the screen. Per mode (predictive rendering off, then on, then quick taps
50 ms apart): keypress -> pixels p50/p95/max, a held key's frame rate, and the app's CPU use
while nothing happens (from /proc). Needs Linux with X11: Xvfb (or a running X server) and
python-xlib (the `window` extra).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genie_play.errors import GenieError

WINDOW_SIZE = (1100, 720)  # the app's default window (WindowSettings.size)
SCREEN = "1280x800x24"
X_KEYSYMS = {"right": "Right", "left": "Left", "up": "Up", "down": "Down", "space": "space", "return": "Return",
             "escape": "Escape", "backspace": "BackSpace", "tab": "Tab"}


@dataclass
class WindowBenchOptions:
    weights: Path | None = None  # None: the shipped models/
    prompt: Path | None = None
    keymap: Path | None = None  # None: the weights' keymap (never the user's saved one, so runs compare)
    presses: int = 30  # timed keypresses per mode
    # idle seconds before each press: without prediction, with it, and quick taps with it
    gaps: dict = field(default_factory=lambda: {"no_predict": 0.3, "predict": 1.0, "taps": 0.05})
    hold_s: float = 3.0  # how long the key is held for the held-key frame rate
    idle_s: float = 5.0  # how long idle CPU is sampled, after the previews are done
    timeout_s: float = 3.0  # a press whose frame never shows counts as missed
    ready_timeout_s: float = 180.0  # loading the model, first frame
    extra_args: tuple[str, ...] = ()  # more `genie-play play` arguments for both modes
    log: object = field(default=print, repr=False)


def x_keysym(key: str) -> str:
    """A keymap key name (pygame's, lower case) -> the X keysym name that types it."""
    if key in X_KEYSYMS:
        return X_KEYSYMS[key]
    if len(key) > 1 and key[0] == "f" and key[1:].isdigit():
        return key.upper()
    if len(key) == 1:
        return key
    raise GenieError(f"bench --window cannot type the key '{key}' as an X event")


def press_keys(keymap) -> list[str]:
    """Keys to alternate: the ones labelled right and left (so the view moves), else the first two bound."""
    by_label = {b.label.strip().lower(): b.keys[0] for b in keymap.bindings if b.keys}
    if "right" in by_label and "left" in by_label:
        return [by_label["right"], by_label["left"]]
    keys = [b.keys[0] for b in keymap.bindings if b.keys]
    if not keys:
        raise GenieError(f"{keymap.source}: no key is bound, so bench --window has nothing to press")
    return (keys * 2)[:2]


def watch_bands(size: tuple[int, int], explorer: bool) -> list[tuple[int, int, int, int]]:
    """Four thin horizontal bands (x, y, w, h) across the game picture, from the middle down to
    the ground: a scroll shows there even where the sky is flat.

    Not the top or the very bottom: the "thinking" chip sits in the picture's top-left corner and
    the first-run hint under it, and neither is a new frame."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from genie_play.app.view import layout

    view = layout(size, explorer)["view"]
    half = max(8, min(view.width, view.height) // 2 - 40)
    return [(view.centerx - half, view.centery + dy - 4, 2 * half, 8) for dy in (-half // 2, 0, half // 2, half - 12)]


def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    a = np.asarray(ms)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "max": float(a.max())}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class VirtualDisplay:
    """Xvfb on a free display number, for as long as the `with` block runs."""

    def __enter__(self) -> str:
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise GenieError("bench --window needs an X display: set DISPLAY, or install Xvfb "
                             "(Debian/Ubuntu: apt install xvfb)")
        read, write = os.pipe()
        self.proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                                     pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()  # Xvfb writes its display number here once it accepts clients
        if not number:
            self.proc.kill()
            raise GenieError("bench --window: Xvfb did not start (try running `Xvfb :99` by hand to see why)")
        return f":{number}"

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class XClient:
    """The little of X11 the bench needs: find the game's window, type into it, read its pixels."""

    def __init__(self, name: str):
        try:
            from Xlib import X, XK, display
            from Xlib.ext import damage, xtest
        except ImportError:
            raise GenieError("bench --window needs python-xlib: pip install 'genie_play[window]'") from None
        from Xlib.error import DisplayError

        self.X, self.XK, self.xtest, self.damage_ext = X, XK, xtest, damage
        try:
            self.display = display.Display(name)
        except DisplayError as e:
            raise GenieError(f"bench --window: cannot open the X display {name} ({e}); unset DISPLAY to use "
                             "a virtual one (Xvfb)") from None
        if not self.display.has_extension("DAMAGE") or not self.display.has_extension("XTEST"):
            raise GenieError(f"bench --window: the X server {name} lacks the DAMAGE or XTEST extension")
        self.display.damage_query_version()
        self.root = self.display.screen().root
        self.window = self.damage = None

    def find_window(self, pid: int):
        """The mapped top-level window whose _NET_WM_PID is `pid`, or None."""
        atom = self.display.intern_atom("_NET_WM_PID")
        for w in self.root.query_tree().children:
            try:
                prop = w.get_full_property(atom, self.X.AnyPropertyType)
                if prop is not None and int(prop.value[0]) == pid and w.get_attributes().map_state == self.X.IsViewable:
                    return w
            except Exception:  # a window that vanished meanwhile
                continue
        return None

    def attach(self, window) -> tuple[int, int] | None:
        """Type into `window` from now on, and be told whenever it is drawn to; None if it is gone."""
        from Xlib.error import XError

        try:
            window.set_input_focus(self.X.RevertToParent, self.X.CurrentTime)
            g = window.get_geometry()
        except XError:
            return None
        self.window = window
        self.damage = window.damage_create(self.damage_ext.DamageReportNonEmpty)
        self.display.sync()
        return g.width, g.height

    def forget_damage(self) -> None:
        """Drop what was drawn so far: the next wait_drawn() waits for new drawing."""
        while self.display.pending_events():
            self.display.next_event()
        self.display.damage_subtract(self.damage)
        self.display.sync()

    def wait_drawn(self, until: float) -> float | None:
        """Block until the window is drawn to (perf_counter time), or None at `until`; no polling."""
        while True:
            while self.display.pending_events():
                # python-xlib registers a copy of the event class per display: compare names
                if type(self.display.next_event()).__name__ == "DamageNotify":
                    drawn = time.perf_counter()
                    self.display.damage_subtract(self.damage)  # re-arms the next notification
                    self.display.flush()
                    return drawn
            left = until - time.perf_counter()
            if left <= 0:
                return None
            select.select([self.display], [], [], left)

    def key(self, keysym_name: str, down: bool) -> None:
        code = self.display.keysym_to_keycode(self.XK.string_to_keysym(keysym_name))
        self.xtest.fake_input(self.display, self.X.KeyPress if down else self.X.KeyRelease, code)
        self.display.sync()

    def grab(self, bands: list[tuple[int, int, int, int]]) -> bytes:
        return b"".join(self.window.get_image(x, y, w, h, self.X.ZPixmap, 0xFFFFFFFF).data for x, y, w, h in bands)

    def close(self) -> None:
        self.display.close()


def _launch(opts: WindowBenchOptions, display: str, predictive: bool, log_file) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "genie_play", "play"]
    if opts.prompt:
        cmd.append(str(opts.prompt))
    if opts.weights:
        cmd += ["--weights", str(opts.weights)]
    if opts.keymap:
        cmd += ["--keymap", str(opts.keymap)]
    if not predictive:
        cmd.append("--no-predict")
    cmd += list(opts.extra_args)
    env = {**os.environ, "DISPLAY": display, "SDL_VIDEODRIVER": "x11", "SDL_AUDIODRIVER": "dummy"}
    return subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def _wait_ready(x: XClient, proc: subprocess.Popen, opts: WindowBenchOptions, log_path: Path, predictive: bool):
    """Wait for the window, then for its game view to hold still (the loading screen never does)."""
    deadline = time.monotonic() + opts.ready_timeout_s
    size, seen = None, None
    while size is None:
        if proc.poll() is not None:
            last = (log_path.read_text(errors="replace").strip().splitlines() or ["(no output)"])[-1]
            raise GenieError(f"bench --window: the game exited before its window opened: {last}")
        if time.monotonic() > deadline:
            raise GenieError("bench --window: no game window appeared in time")
        window = x.find_window(proc.pid)
        # SDL may replace the first window it maps: take one only once it is seen twice, 0.3 s apart
        if window is not None and seen is not None and window.id == seen:
            size = x.attach(window)
        seen = window.id if window is not None else None
        time.sleep(0.3)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from genie_play.app.view import layout

    view = layout(size, predictive)["view"]
    whole = [(view.x, view.y, view.width, view.height)]
    last, still_since = None, time.monotonic()
    while time.monotonic() - still_since < 2.0:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise GenieError("bench --window: the game did not finish loading in time")
        now = x.grab(whole)
        if now != last:
            last, still_since = now, time.monotonic()
        time.sleep(0.25)
    return size


def _wait_change(x: XClient, bands, before: bytes, start: float, opts: WindowBenchOptions,
                 release: str) -> float | None:
    """Seconds from `start` until a drawing changes the bands from `before`; the key goes up after 50 ms
    (a tap), or at once if the frame came sooner."""
    released, seconds = False, None
    while seconds is None:
        wake = start + (0.05 if not released else opts.timeout_s)
        drawn = x.wait_drawn(wake)
        if drawn is None:  # no drawing until `wake`
            if released:
                return None
            x.key(release, False)
            released = True
        elif x.grab(bands) != before:
            seconds = drawn - start
    if not released:
        x.key(release, False)
    return seconds


def _presses(x: XClient, bands, opts: WindowBenchOptions, keys: list[str], name: str) -> dict:
    """Timed taps, each after `gap` seconds: keypress -> pixels percentiles and the misses."""
    gap = opts.gaps[name]
    latencies, missed = [], 0
    for i in range(opts.presses):
        time.sleep(gap)
        keysym = x_keysym(keys[i % len(keys)])
        x.forget_damage()
        before = x.grab(bands)
        start = time.perf_counter()
        x.key(keysym, True)
        seconds = _wait_change(x, bands, before, start, opts, release=keysym)
        if seconds is None:
            missed += 1
        else:
            latencies.append(1000 * seconds)
    opts.log(f"bench --window: {name}: {len(latencies)} presses shown, {missed} missed")
    r = {f"window_{name}_ms_{k}": v for k, v in percentiles(latencies).items()}
    r.update({f"window_{name}_missed": missed, f"window_{name}_gap_s": gap})
    return r


def measure_mode(x: XClient, proc: subprocess.Popen, opts: WindowBenchOptions, keys: list[str], predictive: bool,
                 log_path: Path) -> dict:
    """One run of the game: idle CPU, timed presses, a held key, and (predictive) quick taps."""
    name = "predict" if predictive else "no_predict"
    size = _wait_ready(x, proc, opts, log_path, predictive)
    bands = watch_bands(size, predictive)
    time.sleep(3.0)  # previews of the first frame finish
    cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(opts.idle_s)
    idle = 100 * (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)

    own0, t0 = time.process_time(), time.monotonic()
    r = _presses(x, bands, opts, keys, name)
    own = 100 * (time.process_time() - own0) / (time.monotonic() - t0)  # what watching the pixels cost
    gap = opts.gaps[name]

    time.sleep(gap)
    keysym = x_keysym(keys[0])
    x.forget_damage()
    changes, last = [], x.grab(bands)
    start = time.perf_counter()
    x.key(keysym, True)
    while (drawn := x.wait_drawn(start + opts.hold_s)) is not None:
        now = x.grab(bands)
        if now != last:
            changes.append(drawn)
            last = now
    x.key(keysym, False)
    # the steady rate: from the second frame on, as the first waits out the key-repeat delay (0.3 s)
    held = (len(changes) - 2) / (changes[-1] - changes[1]) if len(changes) > 3 else 0.0

    r.update({f"window_{name}_idle_cpu_pct": idle, f"window_{name}_held_fps": held,
              f"window_{name}_bench_cpu_pct": own})
    if predictive:
        time.sleep(3.0)  # the previews catch up after the held key
        r.update(_presses(x, bands, opts, keys, "taps"))
    return r


def run_window_bench(opts: WindowBenchOptions) -> dict:
    """Both modes, each in a fresh game process; flat results ready for JSON."""
    from genie_play.keymap import load_keymap, weights_keymap
    from genie_play.paths import models_dir

    if not sys.platform.startswith("linux"):
        raise GenieError("bench --window needs Linux with X11 (Xvfb); on other systems use genie-play bench")
    if opts.presses < 1:
        raise GenieError("bench --window needs --steps of at least 1 (keypresses per mode)")
    weights = Path(opts.weights) if opts.weights else models_dir()
    keymap_path = Path(opts.keymap) if opts.keymap else weights_keymap(weights)
    opts.keymap = keymap_path
    keys = press_keys(load_keymap(keymap_path))
    result: dict = {"cpu_cores": os.cpu_count(), "presses": opts.presses, "keys": " ".join(keys),
                    "extra_args": " ".join(opts.extra_args)}
    with _display() as display, tempfile.TemporaryDirectory() as tmp:
        result["display"] = "Xvfb" if not os.environ.get("DISPLAY") else display
        x = XClient(display)
        try:
            for predictive in (False, True):
                log_path = Path(tmp) / f"play-{predictive}.log"
                with open(log_path, "w") as log_file:
                    proc = _launch(opts, display, predictive, log_file)
                    try:
                        opts.log(f"bench --window: {'predictive rendering' if predictive else '--no-predict'}: "
                                 f"{opts.presses} presses of {' / '.join(keys)}")
                        result.update(measure_mode(x, proc, opts, keys, predictive, log_path))
                    finally:
                        _stop(proc)
        finally:
            x.close()
    return result


def _display():
    """The display to use: DISPLAY if set, else a fresh Xvfb."""
    if os.environ.get("DISPLAY"):
        import contextlib

        return contextlib.nullcontext(os.environ["DISPLAY"])
    return VirtualDisplay()


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


WINDOW_TABLE = [  # (label, key suffix, unit)
    ("keypress -> pixels p50", "ms_p50", "ms"), ("keypress -> pixels p95", "ms_p95", "ms"),
    ("keypress -> pixels max", "ms_max", "ms"), ("presses never shown", "missed", ""),
    ("held key", "held_fps", "FPS"), ("idle CPU (one core = 100)", "idle_cpu_pct", "%"),
    ("this bench's own CPU meanwhile", "bench_cpu_pct", "%"),
]


def format_window_table(r: dict) -> str:
    names = [n for n in ("no_predict", "predict", "taps") if f"window_{n}_gap_s" in r]
    heads = {"no_predict": "--no-predict", "predict": "predictive", "taps": "quick taps"}
    lines = [f"real window on {r['display']}, {r['cpu_cores']} cores, keys {r['keys']}, pixels read when drawn"
             + (f", {r['extra_args']}" if r.get("extra_args") else ""),
             f"{'':30s} " + " ".join(f"{heads[n]:>14s}" for n in names),
             f"{'idle before each press':30s} " + " ".join(f"{r[f'window_{n}_gap_s']:>12.2f} s" for n in names)]
    for label, suffix, unit in WINDOW_TABLE:
        cells = []
        for name in names:
            value = r.get(f"window_{name}_{suffix}")
            cells.append(f"{'—':>14s}" if value is None else f"{value:>12.1f} {unit:1s}" if unit else f"{value:>14d}")
        lines.append(f"{label:30s} {' '.join(cells)}")
    return "\n".join(lines)
