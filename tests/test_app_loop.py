"""The real app loop, driven by posted key and mouse events under SDL's dummy drivers.

Each test builds the window's `App` on random `tiny` weights and runs `frame_once()` (the main
loop's body) until the app is idle, exactly as the real loop runs it.
"""

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from genie_play.keymap import RESERVED, load_keymap, resolve_keymap  # noqa: E402
from genie_play.paths import prompts_dir  # noqa: E402
from genie_play.app.controls import CONTROLS  # noqa: E402
from genie_play.app.window import App, WindowSettings, open_window  # noqa: E402
from genie_play.app import view  # noqa: E402
from genie_play.app.intents import Step  # noqa: E402
from conftest import save_tiny_world  # noqa: E402
from genie_play.presets import PRESETS  # noqa: E402
from genie_play.images import fit_frame, load_image  # noqa: E402
from genie_play.paths import models_dir  # noqa: E402

SHIPPED = Path(__file__).parent / "labelled_keymap.toml"  # stable labels (the shipped ones follow the model)
SIZE = PRESETS["tiny"].image_size


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_tiny_world(tmp_path_factory.mktemp("tiny_weights"))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny models gain nothing from a thread pool, and a busy 2-core machine makes it stall.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def prompt(tmp_path):
    from PIL import Image

    path = tmp_path / "prompt.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (48, 80, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def make_app(weights, prompt, tmp_path):
    apps = []

    def make(keymap=None, **overrides) -> App:
        options = dict(weights=weights, prompt=prompt, keymap=keymap or load_keymap(SHIPPED), device="cpu",
                       user_keymap=tmp_path / "config" / "keymap.toml", shipped_keymap=SHIPPED, prompts=prompts_dir(),
                       captures=tmp_path / "captures", preview_delay=0.0, size=(1000, 660))
        options.update(overrides)
        app = App(WindowSettings(**options), open_window(options["size"]))
        apps.append(app)
        settle(app)
        return app

    yield make
    for app in apps:
        app.close()
    pygame.quit()


def settle(app: App, timeout: float = 30.0) -> None:
    """Run the main loop until every queued event, step, preview and save is done."""
    deadline = time.monotonic() + timeout
    app.frame_once()
    while not app.idle:
        assert app.running, app.fatal
        assert time.monotonic() < deadline, "the app did not settle"
        app.frame_once()


def post(kind, **attrs):
    pygame.event.post(pygame.event.Event(kind, **attrs))


def tap(app, key, mod=0, text=""):
    post(pygame.KEYDOWN, key=key, mod=mod, unicode=text, scancode=0)
    post(pygame.KEYUP, key=key, mod=mod, unicode=text, scancode=0)
    settle(app)


def click(app, pos, button=1):
    post(pygame.MOUSEBUTTONDOWN, pos=pos, button=button)
    post(pygame.MOUSEBUTTONUP, pos=pos, button=button)
    settle(app)


def test_mapped_key_advances_exactly_one_frame_and_changes_it(make_app):
    app = make_app()
    before = app.frame.copy()
    assert app.num_frames == 1 and app.world.num_frames == 1
    tap(app, pygame.K_RIGHT)
    assert app.world.num_frames == 2 and app.num_frames == 2
    assert app.last_code == 1 and not np.array_equal(app.frame, before)
    assert np.array_equal(app.frame, app.world.frame)


def test_undo_restores_the_previous_frame_exactly_and_reset_the_prompt(make_app, prompt):
    app = make_app()
    first = app.frame.copy()
    assert np.array_equal(first, fit_frame(load_image(prompt), SIZE))  # the prompt, cropped and resized
    tap(app, pygame.K_d)
    after_one = app.frame.copy()
    tap(app, pygame.K_SPACE)
    tap(app, pygame.K_BACKSPACE)
    assert app.world.num_frames == 2 and np.array_equal(app.frame, after_one)
    tap(app, pygame.K_z, mod=pygame.KMOD_CTRL)  # Ctrl+Z undoes too
    assert app.world.num_frames == 1 and np.array_equal(app.frame, first)
    tap(app, pygame.K_LEFT)
    tap(app, pygame.K_LEFT)
    tap(app, pygame.K_r)
    assert app.world.num_frames == 1 and np.array_equal(app.frame, first) and app.last_code is None


def test_undo_pressed_while_a_step_computes_takes_that_step_back(make_app):
    app = make_app()
    first = app.frame.copy()
    post(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    post(pygame.KEYUP, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    app.frame_once()  # the step is now on the worker, not yet shown
    assert isinstance(app.running_intent, Step) and app.running_intent.code == 1 and app.num_frames == 1
    tap(app, pygame.K_BACKSPACE)
    assert app.world.num_frames == 1 and np.array_equal(app.frame, first)


def test_holding_a_key_repeats_at_a_steady_rate_until_released(make_app):
    app = make_app(repeat_delay=0.05, repeat_hz=40.0)
    post(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        app.frame_once()
    post(pygame.KEYUP, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    settle(app)
    held = app.world.num_frames
    assert held >= 4  # one press, then repeats while held
    settle(app)
    time.sleep(0.1)
    settle(app)
    assert app.world.num_frames == held  # released: no more steps


def test_unbound_keys_and_pause_never_step(make_app):
    app = make_app()
    tap(app, pygame.K_y)
    assert app.world.num_frames == 1 and "'y' plays nothing" in app.toasts[-1][0]
    tap(app, pygame.K_p)
    tap(app, pygame.K_RIGHT)
    assert app.world.num_frames == 1 and app.paused
    tap(app, pygame.K_p)
    tap(app, pygame.K_RIGHT)
    assert app.world.num_frames == 2


def test_explorer_previews_do_not_change_the_real_state_and_a_click_takes_the_action(make_app):
    app = make_app()
    tap(app, pygame.K_RIGHT)
    frame, frames = app.world.frame.copy(), app.world.num_frames
    assert app.explorer.complete and len(app.explorer.frames) == 8  # settle waits for all 8 previews
    assert app.world.num_frames == frames and np.array_equal(app.world.frame, frame) and np.array_equal(app.frame, frame)
    previews = {code: f.copy() for code, f in app.explorer.frames.items()}
    tap(app, pygame.K_F5)  # refresh: recomputed from the same state, so the same frames
    assert all(np.array_equal(previews[c], app.explorer.frames[c]) for c in range(8))
    assert app.world.num_frames == frames
    click(app, app.explorer.cells[5].center)
    assert app.world.num_frames == frames + 1 and app.last_code == 5
    assert np.array_equal(app.frame, previews[5])  # exactly the frame the thumbnail showed


def test_previews_compute_one_by_one_or_batched_with_the_same_result(make_app):
    one = make_app()
    batched = make_app(preview_batch=8)
    assert all(np.array_equal(one.explorer.frames[c], batched.explorer.frames[c]) for c in range(8))


def test_remap_then_restart_keeps_the_new_binding(make_app, tmp_path):
    app = make_app()
    tap(app, pygame.K_m)
    assert app.mode == "remap"
    tap(app, pygame.K_3, text="3")  # pick code 3
    tap(app, pygame.K_j, text="j")  # its new key
    post(pygame.TEXTINPUT, text="j")  # SDL types the key too; the label field must not take it
    for _ in "down":
        tap(app, pygame.K_BACKSPACE)
    post(pygame.TEXTINPUT, text="hop")
    tap(app, pygame.K_RETURN)
    tap(app, pygame.K_ESCAPE)
    assert app.mode == "play" and app.keymap.code_for_key("j") == 3 and app.keymap.label(3) == "hop"
    tap(app, pygame.K_j)
    assert app.last_code == 3 and app.world.num_frames == 2  # applied at once
    saved = tmp_path / "config" / "keymap.toml"
    assert saved.exists() and not list(saved.parent.glob("*.tmp"))
    app.close()

    keymap, warning = resolve_keymap(None, saved, SHIPPED)  # what `genie-play` does at start
    again = make_app(keymap=keymap)
    assert warning is None and again.keymap.label(3) == "hop"
    tap(again, pygame.K_j)
    assert again.last_code == 3
    tap(again, pygame.K_s)  # the old key of code 3 plays nothing now
    assert again.world.num_frames == 2


def test_remap_refuses_reserved_keys_and_exports(make_app, tmp_path):
    app = make_app()
    tap(app, pygame.K_m)
    tap(app, pygame.K_RETURN)
    tap(app, pygame.K_p)
    assert app.remap.error and "reserved" in app.remap.message and app.remap.stage == "key"
    tap(app, pygame.K_ESCAPE)
    tap(app, pygame.K_x, text="x")
    app.remap.text = ""
    post(pygame.TEXTINPUT, text=str(tmp_path / "exported.toml"))
    tap(app, pygame.K_RETURN)
    assert load_keymap(tmp_path / "exported.toml").bindings == app.keymap.bindings


def test_a_bad_keymap_shows_its_error_and_the_previous_map_stays(make_app, tmp_path):
    app = make_app()
    before = app.keymap
    bad = tmp_path / "bad.toml"
    bad.write_text('[[action]]\ncode = 0\nkeys = ["a"]\n[[action]]\ncode = 1\nkeys = ["a"]\n')
    post(pygame.DROPFILE, file=str(bad))
    settle(app)
    assert app.running and app.keymap == before
    assert "key 'a' is bound twice" in app.toasts[-1][0] and "kept the previous keymap" in app.toasts[-1][0]
    tap(app, pygame.K_RIGHT)
    assert app.world.num_frames == 2  # still playing with the previous map
    good = tmp_path / "good.toml"
    good.write_text('[[action]]\ncode = 6\nlabel = "dash"\nkeys = ["right"]\n')
    post(pygame.DROPFILE, file=str(good))
    tap(app, pygame.K_RIGHT)
    assert app.last_code == 6 and app.keymap.label(6) == "dash"


def test_sketch_strokes_become_the_prompt(make_app):
    app = make_app()
    tap(app, pygame.K_k)
    assert app.mode == "sketch"
    canvas = app.sketch.canvas
    click(app, app.sketch.buttons["size2"].center)  # bold brush
    post(pygame.MOUSEBUTTONDOWN, pos=(canvas.x + 10, canvas.centery), button=1)
    for x in range(canvas.x + 10, canvas.right - 10, 20):
        post(pygame.MOUSEMOTION, pos=(x, canvas.centery), rel=(20, 0), buttons=(1, 0, 0))
    post(pygame.MOUSEBUTTONUP, pos=(canvas.right - 10, canvas.centery), button=1)
    settle(app)
    drawing = app.sketch.to_array()
    assert drawing.min() < 60 and drawing.max() > 200  # ink on paper
    tap(app, pygame.K_RETURN)
    assert app.mode == "play" and app.prompt_name == "your sketch" and app.world.num_frames == 1
    expected = fit_frame(drawing, SIZE)
    assert np.array_equal(app.frame, expected) and np.array_equal(app.world.frame, expected)
    middle = app.frame[SIZE // 2 - 1:SIZE // 2 + 1].mean()
    assert middle < app.frame[:2].mean() - 60  # the stroke across the middle is there
    tap(app, pygame.K_RIGHT)
    tap(app, pygame.K_r)
    assert np.array_equal(app.frame, expected)  # reset goes back to the sketch


def test_sketch_tools_undo_fill_and_clear(make_app):
    app = make_app()
    tap(app, pygame.K_k)
    blank = app.sketch.to_array()
    tap(app, pygame.K_3, text="3")  # red
    tap(app, pygame.K_f)
    assert (app.sketch.to_array()[..., 0] > 200).all() and not np.array_equal(app.sketch.to_array(), blank)
    tap(app, pygame.K_BACKSPACE)
    assert np.array_equal(app.sketch.to_array(), blank)
    click(app, app.sketch.canvas.center)
    assert not np.array_equal(app.sketch.to_array(), blank)
    tap(app, pygame.K_c)
    assert np.array_equal(app.sketch.to_array(), blank)
    tap(app, pygame.K_ESCAPE)
    assert app.mode == "play" and app.world.num_frames == 1


def test_gallery_and_dropped_images_restart_the_world(make_app, tmp_path):
    app = make_app()
    tap(app, pygame.K_g)
    assert app.mode == "gallery" and len(app.gallery.paths) >= 6
    tap(app, pygame.K_RIGHT)
    tap(app, pygame.K_RETURN)
    chosen = app.gallery.paths[1]
    assert app.mode == "play" and app.prompt_name == chosen.name
    assert np.array_equal(app.frame, fit_frame(load_image(chosen), SIZE))
    from PIL import Image

    dropped = tmp_path / "photo.jpg"
    Image.fromarray(np.full((30, 50, 3), (10, 200, 30), np.uint8)).save(dropped)
    tap(app, pygame.K_RIGHT)
    post(pygame.DROPFILE, file=str(dropped))
    settle(app)
    assert app.prompt_name == "photo.jpg" and app.world.num_frames == 1
    assert abs(app.frame.astype(int) - (10, 200, 30)).max() < 8  # JPEG, so nearly
    post(pygame.DROPFILE, file=str(tmp_path / "nothing.png"))
    settle(app)
    assert app.running and "no such file" in app.toasts[-1][0] and app.prompt_name == "photo.jpg"


def test_recording_writes_gif_and_mp4_with_the_actions_beside(make_app, tmp_path):
    import av
    from PIL import Image

    app = make_app()
    tap(app, pygame.K_F9)
    assert app.recording is not None
    for key in (pygame.K_RIGHT, pygame.K_SPACE, pygame.K_BACKSPACE):
        tap(app, key)
    tap(app, pygame.K_F9)
    gif = next((tmp_path / "captures").glob("*.gif"))
    with Image.open(gif) as im:
        assert im.n_frames == 4 and im.size == (SIZE * 4, SIZE * 4)
    steps = json.loads(gif.with_suffix(".json").read_text())["steps"]
    assert [s["do"] for s in steps] == ["step", "step", "undo"] and steps[0]["label"] == "right"
    tap(app, pygame.K_F10)
    tap(app, pygame.K_LEFT)
    tap(app, pygame.K_F10)
    mp4 = next((tmp_path / "captures").glob("*.mp4"))
    with av.open(str(mp4)) as box:
        assert sum(1 for _ in box.decode(video=0)) == 2


def test_screenshot_help_scaling_and_sampling_keys(make_app, tmp_path):
    app = make_app()
    tap(app, pygame.K_F12)
    shot = next((tmp_path / "captures").glob("screenshot-*.png"))
    assert load_image(shot).shape == (660, 1000, 3)
    tap(app, pygame.K_h)
    assert app.help
    tap(app, pygame.K_RIGHT)  # keys are for the overlay while it is open
    assert app.world.num_frames == 1
    tap(app, pygame.K_ESCAPE)
    assert not app.help and app.running
    steps, temperature = app.world.sampler.maskgit_steps, app.world.sampler.temperature
    tap(app, pygame.K_RIGHTBRACKET)
    tap(app, pygame.K_EQUALS)
    assert app.world.sampler.maskgit_steps > steps and app.world.sampler.temperature == temperature + 0.25
    tap(app, pygame.K_v)
    tap(app, pygame.K_TAB)
    assert not app.crisp and not app.explorer.visible
    pygame.display.set_mode((640, 400), pygame.RESIZABLE)  # what a resize does
    tap(app, pygame.K_RIGHT)
    assert app.world.num_frames == 2 and app.screen.get_size() == (640, 400)
    tap(app, pygame.K_ESCAPE)
    assert not app.running


def test_every_reserved_key_has_a_control():
    assert set(RESERVED) == set(CONTROLS)


def test_a_model_that_fails_to_load_ends_the_loop_with_its_error(make_app, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tokenizer.safetensors").write_bytes(b"not weights at all")
    (broken / "dynamics.safetensors").write_bytes(b"")
    app = App(WindowSettings(weights=broken, prompt=prompts_dir() / "default.png", keymap=load_keymap(SHIPPED),
                             device="cpu"), open_window((800, 500)))
    try:
        deadline = time.monotonic() + 20
        while app.running and time.monotonic() < deadline:
            app.frame_once()  # draws the loading screen meanwhile
        assert not app.running and "tokenizer.safetensors" in str(app.fatal)
    finally:
        app.close()


def test_predictive_rendering_shows_a_precomputed_frame_even_with_the_explorer_hidden(make_app):
    app = make_app()
    if app.explorer.visible:
        tap(app, pygame.K_TAB)
    tap(app, pygame.K_RIGHT)  # settles: the previews of all eight actions are made while idle
    assert not app.explorer.visible and app.explorer.complete
    shown = app.explorer.frames[app.keymap.code_for_key("left")].copy()
    tap(app, pygame.K_LEFT)
    assert app.last_precomputed and np.array_equal(app.frame, shown)
    assert "precomputed" in [detail for _, _, detail in view._fields(app)]


def test_without_predictive_rendering_nothing_is_computed_ahead(make_app):
    app = make_app(predictive=False)
    if app.explorer.visible:
        tap(app, pygame.K_TAB)
    tap(app, pygame.K_RIGHT)  # may use the previews the visible explorer made at start
    assert not app.explorer.complete  # but nothing is computed ahead of the new frame
    tap(app, pygame.K_LEFT)
    assert not app.last_precomputed


def test_an_idle_window_sleeps_on_its_event_queue_and_draws_nothing(make_app):
    app = make_app()
    tap(app, pygame.K_RIGHT)
    time.sleep(0.3)  # the key's flash in the HUD ends: one last redraw
    app.frame_once()
    draws, cpu, wall = app.draws, time.process_time(), time.monotonic()
    for _ in range(3):
        app.frame_once()
    assert app.draws == draws  # nothing changed, nothing drawn
    assert time.monotonic() - wall >= 1.0 and time.process_time() - cpu < 0.2  # it slept, it did not spin


def test_a_key_wakes_the_sleeping_loop_at_once(make_app):
    import threading

    app = make_app()
    time.sleep(0.3)
    app.frame_once()
    threading.Timer(0.1, post, (pygame.KEYDOWN,), dict(key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)).start()
    start = time.monotonic()
    app.frame_once()  # asleep until the key comes
    assert 0.05 < time.monotonic() - start < 0.4 and app.running_intent is not None
    post(pygame.KEYUP, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    settle(app)
    assert app.world.num_frames == 2


def test_while_a_step_computes_the_window_waits_for_its_frame_and_draws_once(make_app, monkeypatch):
    app = make_app(predictive=False)
    real, steps = app.world.step, []

    def slow_step(*a, **k):
        time.sleep(0.05)
        steps.append(a)
        return real(*a, **k)

    monkeypatch.setattr(app.world, "step", slow_step)
    draws = app.draws
    post(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    post(pygame.KEYUP, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    deadline = time.monotonic() + 10
    while app.num_frames < 2:
        assert time.monotonic() < deadline
        app.frame_once()
    assert app.draws == draws + 1  # the key's feedback waited for the frame: drawn once, together
    settle(app)
    assert steps == [(1,)] and np.array_equal(app.frame, app.world.frame)  # one step, and it is on screen


def test_a_keypress_preempts_the_preview_being_computed(make_app, monkeypatch):
    import threading

    app = make_app()
    running = threading.Event()

    def slow_preview(codes, cancelled):
        running.set()
        end = time.monotonic() + 5
        while not cancelled() and time.monotonic() < end:
            time.sleep(0.005)
        return None  # as WorldModel.preview does when cancelled

    monkeypatch.setattr(app.world, "preview", slow_preview)
    tap_start = time.monotonic()
    app.do_refresh()  # every preview is stale: the loop starts computing them again
    while not running.is_set():
        assert time.monotonic() - tap_start < 5
        app.frame_once()
    start = time.monotonic()
    post(pygame.KEYDOWN, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    post(pygame.KEYUP, key=pygame.K_RIGHT, mod=0, unicode="", scancode=0)
    while app.num_frames < 2:
        app.frame_once()
    assert time.monotonic() - start < 2  # not the 5 s the preview would have taken
    monkeypatch.undo()
    app.cancel_preview.set()  # the loop may have started another slow preview after the step
    settle(app)
    assert app.explorer.complete  # the pre-empted codes were asked for again


def test_the_hud_shows_the_key_to_screen_time_and_the_thread_budget(make_app):
    app = make_app()
    assert "thread" in app.device_label  # e.g. "cpu (1 thread)"
    shown = {caption: (value, hint) for caption, value, hint in view._fields(app)}
    assert shown["DEVICE"][0] == app.device_label and shown["KEY TO SCREEN"][0] == "—"
    assert shown["FRAME"] == ("0", None)  # the prompt: nothing to undo
    tap(app, pygame.K_RIGHT)
    shown = {caption: (v, h) for caption, v, h in view._fields(app)}
    assert shown["FRAME"] == ("1", "Bksp undoes")
    value, hint = shown["KEY TO SCREEN"]
    assert value.endswith(" ms") and 0 < int(value[:-3]) < 5000
    assert hint == "precomputed" or hint.startswith("model ")


def test_a_key_whose_preview_is_being_computed_waits_for_it_and_shows_it(make_app, monkeypatch):
    import threading

    app = make_app()
    running, real = threading.Event(), app.world.preview

    def slow_preview(codes, cancelled):
        running.set()
        time.sleep(0.2)
        return None if cancelled() else real(codes, cancelled)

    monkeypatch.setattr(app.world, "preview", slow_preview)
    app.do_refresh()
    while not running.is_set():
        app.frame_once()
    code = app.worker.current.tag[1][0]  # one code per preview job on a CPU
    key = app.keymap.bindings[code].keys[0]
    post(pygame.KEYDOWN, key=pygame.key.key_code(key), mod=0, unicode="", scancode=0)
    post(pygame.KEYUP, key=pygame.key.key_code(key), mod=0, unicode="", scancode=0)
    while app.num_frames < 2:
        app.frame_once()
    assert not app.cancel_preview.is_set() and app.last_precomputed and app.last_code == code
    monkeypatch.undo()
    settle(app)


def test_a_click_on_the_picture_chooses_the_character_and_plays_on_from_that_frame(make_app, tmp_path):
    from PIL import Image

    path = tmp_path / "square.png"
    picture = np.zeros((SIZE, SIZE, 3), np.uint8)
    picture[SIZE - 4:] = 90
    picture[6:10, 2:5] = (230, 30, 30)
    Image.fromarray(picture).save(path)
    app = make_app(prompt=path)
    assert app.world.character is None
    tap(app, pygame.K_d)
    box = app.view_rect
    click(app, (box.x + 3 * box.width // SIZE, box.y + 7 * box.height // SIZE))
    assert app.world.num_frames == 2 and "no character to choose" in app.toasts[-1][0]  # a world without one
    from genie_play.world.character import CharacterNetworks

    class RedPixels(torch.nn.Module):
        def forward(self, frames):
            return torch.where(frames[..., 0] > 200, 10.0, -10.0)

    app.world.character = CharacterNetworks(PRESETS["tiny"]).eval()
    app.world.character.detector = RedPixels()
    tap(app, pygame.K_r)  # back to the prompt: the detector finds the square, and the view outlines it
    from genie_play.app import theme, view

    def accent_in_view():
        view.draw_app(app)
        pixels = pygame.surfarray.pixels3d(app.screen)[box.left:box.right, box.top:box.bottom]
        return np.argwhere((pixels == theme.ACCENT).all(-1))

    assert app.character_box == (6, 2, 4, 3)
    outline = accent_in_view()
    sx = box.width / SIZE
    assert len(outline) and abs(outline[:, 0].min() - (2 * sx - 3)) <= 2  # its left edge, in view pixels
    tap(app, pygame.K_d)
    assert not len(accent_in_view())  # gone once play starts
    shown = app.frame.copy()
    click(app, (box.x + box.width // 2, box.y + 1))  # the top of the sky: no piece there
    assert app.world.num_frames == 1 and app.world.sprite is None and np.array_equal(app.frame, shown)
    assert "plays whole" in app.toasts[-1][0]
    ys, xs = np.nonzero((shown[..., 0] > 200))
    click(app, (box.x + int(xs.mean()) * box.width // SIZE, box.y + int(ys.mean()) * box.height // SIZE))
    assert app.world.sprite is not None and "the piece you clicked" in app.toasts[-1][0]
    tap(app, pygame.K_r)
    assert np.array_equal(app.frame, picture)  # R still goes back to the picture loaded
