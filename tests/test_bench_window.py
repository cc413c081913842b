"""`genie-play bench --window`: its parts everywhere, and the whole run where Xvfb is installed."""

import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import save_tiny_world
from genie_play.errors import GenieError
from genie_play.bench import window as bw
from genie_play.keymap import load_keymap

LABELLED = Path(__file__).parent / "labelled_keymap.toml"


def test_keymap_keys_become_x_keysyms():
    assert [bw.x_keysym(k) for k in ("right", "left", "up", "space", "a", "f5", "backspace")] == [
        "Right", "Left", "Up", "space", "a", "F5", "BackSpace"]
    with pytest.raises(GenieError, match="cannot type the key 'keypad enter'"):
        bw.x_keysym("keypad enter")


def test_it_presses_the_keys_labelled_right_and_left(tmp_path):
    keymap = load_keymap(LABELLED)
    right, left = bw.press_keys(keymap)
    assert keymap.label(keymap.code_for_key(right)) == "right" and keymap.label(keymap.code_for_key(left)) == "left"
    other = tmp_path / "keymap.toml"
    other.write_text("".join(f'[[action]]\ncode = {c}\nlabel = "move {c}"\nkeys = {keys}\n\n'
                             for c, keys in enumerate([["f"], ["j", "l"]] + [[]] * 6)))
    assert bw.press_keys(load_keymap(other)) == ["f", "j"]  # no right/left: the first two bound keys


def test_it_watches_the_middle_of_the_game_picture():
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from genie_play.app.view import THINKING_AFTER_S, layout  # noqa: F401  (the chip is why the middle)

    for explorer in (False, True):
        view = layout(bw.WINDOW_SIZE, explorer)["view"]
        bands = bw.watch_bands(bw.WINDOW_SIZE, explorer)
        assert len(bands) == 4
        for x, y, w, h in bands:
            assert view.contains((x, y, w, h)) and w > view.width // 3 and h == 8
            assert y > view.y + 60 and y + h < view.bottom - 40  # clear of the chip and of the first-run hint


def test_cpu_seconds_counts_this_process():
    before = bw.cpu_seconds(os.getpid())
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert bw.cpu_seconds(os.getpid()) - before >= 0.1


def test_the_table_has_both_modes_side_by_side():
    r = {"display": "Xvfb", "cpu_cores": 2, "keys": "right left"}
    for name, p50 in (("no_predict", 70.0), ("predict", 12.0)):
        r.update({f"window_{name}_ms_p50": p50, f"window_{name}_ms_p95": p50 + 10, f"window_{name}_ms_max": p50 + 20,
                  f"window_{name}_missed": 0, f"window_{name}_gap_s": 1.0, f"window_{name}_held_fps": 12.5,
                  f"window_{name}_idle_cpu_pct": 2.5, f"window_{name}_bench_cpu_pct": 1.0})
    table = bw.format_window_table(r)
    assert "quick taps" not in table  # only the modes that ran
    assert "keypress -> pixels p50" in table and "70.0 ms" in table and "12.0 ms" in table
    assert "--no-predict" in table and "predictive" in table and "12.5 FPS" in table


def test_without_xvfb_or_display_it_says_what_to_install(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GenieError, match="install Xvfb"):
        with bw.VirtualDisplay():
            pass


@pytest.mark.skipif(not __import__("importlib").util.find_spec("Xlib"), reason="needs python-xlib")
def test_a_display_that_does_not_answer_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("DISPLAY", ":4242")  # nothing listens there
    monkeypatch.setenv("XAUTHORITY", str(tmp_path / "none"))
    with pytest.raises(GenieError, match="cannot open the X display :4242"):
        bw.run_window_bench(bw.WindowBenchOptions(keymap=LABELLED, presses=1, log=lambda line: None))


needs_x = pytest.mark.skipif(shutil.which("Xvfb") is None or not __import__("importlib").util.find_spec("Xlib"),
                             reason="needs Xvfb (apt install xvfb) and python-xlib")


@needs_x
def test_the_real_window_driven_from_outside(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # its own Xvfb, even on a desktop
    weights = save_tiny_world(tmp_path / "weights")
    opts = bw.WindowBenchOptions(weights=weights, keymap=LABELLED, presses=4, gaps={"no_predict": 0.3, "predict": 0.5, "taps": 0.05},
                                 hold_s=1.0, idle_s=1.0, log=lambda line: None)
    r = bw.run_window_bench(opts)
    for name in ("no_predict", "predict"):
        assert r[f"window_{name}_missed"] == 0  # every press changed the picture
        assert 0 < r[f"window_{name}_ms_p50"] <= r[f"window_{name}_ms_max"] < 3000
        assert r[f"window_{name}_held_fps"] > 1  # a held key keeps stepping
        assert r[f"window_{name}_idle_cpu_pct"] < 30  # the idle window sleeps
    assert r["window_predict_ms_p50"] < r["window_no_predict_ms_p50"] + 50
    assert r["window_taps_missed"] == 0 and r["window_taps_ms_p50"] > 0
