"""Files dropped on the running game: the game keeps running, says what was wrong, and the world
the player built (frames, undo history) is untouched."""

import numpy as np
import pytest
from PIL import Image

from genie_play.images import MAX_IMAGE_PIXELS
from robustness.registry import register
from test_app_loop import make_app, one_thread, post, prompt, pygame, settle, tap, weights  # noqa: F401 (fixtures)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _truncated_png(path):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path)
    return _write(path, path.read_bytes()[:200])


def _bomb(path):
    Image.new("1", (int(MAX_IMAGE_PIXELS ** 0.5) + 1000,) * 2).save(path)
    return path


DROPS = [  # (case, file name, how to make it, words the toast must contain)
    (register("play", "dropping a file that is not an image on the window", "a red toast naming the file: not an image file; play goes on"),
     "notes.png", lambda p: _write(p, b"hello"), "not an image file"),
    (register("play", "dropping a truncated PNG", "a toast: cannot read image (truncated); the world is unchanged"),
     "cut.png", _truncated_png, "truncated"),
    (register("play", "dropping a decompression bomb", "a toast: over the pixel limit (refused before decoding)"),
     "bomb.png", _bomb, "pixel limit"),
    (register("play", "dropping a folder", "a toast: is a directory"),
     "folder", lambda p: p.mkdir() or p, "is a directory"),
    (register("play", "dropping a broken keymap (.toml)", "a toast with the keymap's error; the previous keymap stays"),
     "keys.toml", lambda p: _write(p, b"[[action]]\ncode = 99\n"), "kept the previous keymap"),
    (register("play", "dropping a weights file", "a toast: not an image file; the loaded model stays"),
     "dynamics.safetensors", lambda p: _write(p, b"\x08\x00\x00\x00\x00\x00\x00\x00{}"), "not an image file"),
]


@pytest.mark.parametrize("case, name, make, words", DROPS, ids=[name for _, name, *_ in DROPS])
def test_a_bad_drop_leaves_the_game_running_and_the_world_intact(make_app, tmp_path, case, name, make, words):
    app = make_app()
    tap(app, pygame.K_RIGHT)
    tap(app, pygame.K_RIGHT)
    frames, frame, keymap = app.world.num_frames, app.frame.copy(), app.keymap
    path = make(tmp_path / name)
    post(pygame.DROPFILE, file=str(path))
    settle(app)
    assert app.running and app.fatal is None
    message = app.toasts[-1][0]
    assert name in message and words in message, message
    assert app.world.num_frames == frames and np.array_equal(app.frame, frame) and app.keymap == keymap
    tap(app, pygame.K_RIGHT)  # and play goes on
    assert app.world.num_frames == frames + 1
