"""`genie-play play --headless` and the play command's one-line errors, through the real CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from genie_play.app import main as app_main
from genie_play.cli import main
from conftest import save_tiny_world
from genie_play.presets import PRESETS

SIZE = PRESETS["tiny"].image_size


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_tiny_world(tmp_path_factory.mktemp("tiny_weights"))


@pytest.fixture(autouse=True)
def no_saved_keymap(tmp_path, monkeypatch):
    """The user's real saved keymap must not change what the tests play."""
    monkeypatch.setattr(app_main, "user_keymap_path", lambda: tmp_path / "config" / "keymap.toml")


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "pic.webp"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (90, 60, 3), dtype=np.uint8)).save(path)
    return path


def play(*args) -> int:
    return main(["play", *map(str, args)])


def test_headless_writes_a_gif_with_one_frame_per_key_plus_the_prompt(weights, picture, tmp_path, capsys):
    out = tmp_path / "run.gif"
    assert play(picture, "--weights", weights, "--headless", "--keys", "right right*2, jump left", "--out", out) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 5 and gif.size == (SIZE, SIZE)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [s["action"] for s in meta["steps"]] == [1, 1, 1, 4] and meta["frames"] == 5
    assert meta["steps"][-1]["label"] == "jump left" and meta["seed"] == 0
    assert f"wrote {out} (5 frames" in capsys.readouterr().err


def test_headless_png_frames_are_reproducible_with_a_seed(weights, picture, tmp_path):
    def run(name, seed):
        play(picture, "--weights", weights, "--headless", "--keys", "right jump left", "--out", tmp_path / name,
             "--seed", seed, "--scale", 2)
        return [np.asarray(Image.open(tmp_path / name / f"frame_{i:05d}.png")) for i in range(4)]

    a, b, c = run("a", 7), run("b", 7), run("c", 8)
    assert a[0].shape == (SIZE * 2, SIZE * 2, 3) and (tmp_path / "a" / "actions.json").exists()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a[1:], c[1:]))


def test_headless_mp4(weights, picture, tmp_path):
    import av

    out = tmp_path / "run.mp4"
    assert play(picture, "--weights", weights, "--headless", "--keys", "left*3", "--out", out, "--scale", 4) == 0
    with av.open(str(out)) as box:
        frames = [f.to_ndarray(format="rgb24") for f in box.decode(video=0)]
    assert len(frames) == 4 and frames[0].shape == (SIZE * 4, SIZE * 4, 3)


@pytest.mark.parametrize("args, message", [
    (["--keys", "right jmup", "--out", "r.gif"], "'jmup' is not a label or key of the keymap"),
    (["--keys", "right", "--out", "r.avi"], "unknown output type '.avi'"),
    (["--keys", "right", "--out", "r.gif", "--maskgit-steps", "0"], "--maskgit-steps must be 1..100"),
    (["--keys", "right", "--out", "r.gif", "--keymap", "missing.toml"], "missing.toml: no such keymap file"),
])
def test_headless_mistakes_are_one_line(weights, picture, args, message, capsys):
    assert play(picture, "--weights", weights, "--headless", *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_missing_shipped_weights_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(app_main, "models_dir", lambda: tmp_path / "models")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err == (f"genie-play: error: {tmp_path / 'models'}: the shipped tokenizer.safetensors is missing "
                   "(restore models/ from the repository, or play a folder of weights with --weights DIR)\n")


def test_a_bad_image_or_weights_folder_is_refused_before_any_window(weights, tmp_path, capsys):
    (tmp_path / "notes.png").write_text("not a picture")
    assert play(tmp_path / "notes.png", "--weights", weights) == 2
    assert "notes.png: not an image file" in capsys.readouterr().err
    assert play("--weights", tmp_path) == 2
    assert "no tokenizer.safetensors here" in capsys.readouterr().err


@pytest.mark.parametrize("display", [{"SDL_VIDEODRIVER": "no-such-driver"}, {"DISPLAY": "", "WAYLAND_DISPLAY": ""}],
                         ids=["no video driver", "no DISPLAY"])
def test_no_display_suggests_headless(weights, tmp_path, display):
    if "DISPLAY" in display and not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs DISPLAY for a window")
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update({k: v for k, v in display.items() if v}, XDG_CONFIG_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "genie_play", "play", "--weights", str(weights)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("genie-play: error: no display available") and out.stderr.count("\n") == 1
    assert "--headless" in out.stderr
