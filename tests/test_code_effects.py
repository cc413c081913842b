"""Naming the latent actions without labels: moves read from pixels, a keymap by convention, and on
the built-in world the names agree with the true actions."""

import numpy as np

from genie_play.eval import code_effects as fx


def _texture(seed=0, h=48, w=96):
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, 255, (h // 4, w // 4, 3)), np.ones((4, 4, 1))).astype(np.uint8)


def test_a_scroll_is_the_views_move_and_a_sprite_its_own():
    world = _texture()
    a, b = world[:, 10:58], world[:, 13:61]  # the camera moved 3 px right: the content 3 px left
    assert fx.view_move(a, b) == (3, 0)
    assert fx.view_move(a, a) == (0, 0)
    still = world[:, :48]
    a, b = still.copy(), still.copy()
    a[20:28, 20:26] = 250  # a sprite rises 4 px on a still backdrop
    b[16:24, 20:26] = 250
    move, changed = fx.sprite_move(a, b, fx.view_move(a, b))
    assert move == (0, -4) and 0 < changed < 0.1


def _effect(code, view, sprite, n=100, changed=0.1):
    return fx.CodeEffect(code, n, view, sprite, changed)


def test_keys_go_to_the_usual_code_of_each_direction_and_space_lifts():
    effects = [_effect(0, (0, 0), (0, 0), changed=0.02), _effect(1, (4, 0), (0, 0), n=300), _effect(2, (8, 0), (0, 0)),
               _effect(3, (-4, 0), (0, 0)), _effect(4, (0, 0), (0, -3)), _effect(5, (4, 0), (0, -3)),
               _effect(6, (0, 0), (0, 0), n=0), _effect(7, (0.2, 0), (0, 0.3), changed=0.3)]
    keymap = fx.propose_keymap(effects)
    labels = [b.label for b in keymap.bindings]
    assert labels == ["idle", "scroll right 4px", "scroll right 8px", "scroll left", "sprite up", "right + sprite up",
                      "code 6 (unused)", "other"]
    assert keymap.code_for_key("right") == 1  # the most used right, not the run
    assert keymap.code_for_key("left") == 3 and keymap.code_for_key("up") == 4 and keymap.code_for_key("space") == 4
    assert keymap.code_for_key("down") is None and keymap.code_for_key("8") == 7
    assert "300 held-out transitions: view +4,+0 px" in keymap.to_toml()  # how each was named, as a comment


def test_a_code_seen_a_handful_of_times_is_rare_and_promises_no_move():
    # BattleZone: the LAM gave "sprite down" to 4 of 424 held-out transitions; the world, which saw
    # as few, left the frame as it was on half the presses of the key bound to it.
    effects = [_effect(0, (0, 0), (0, 0), n=120), _effect(1, (2, 0), (0, 0)), _effect(2, (-2, 0), (0, 0)),
               _effect(3, (0, 0), (0, 3), n=4), _effect(4, (0, 0), (0, -4), n=3)]
    keymap = fx.propose_keymap(effects)
    assert [b.label for b in keymap.bindings][3:] == ["rare", "rare"]
    assert keymap.code_for_key("down") is None and keymap.code_for_key("space") is None
    assert keymap.code_for_key("4") == 3 and keymap.code_for_key("right") == 1
    assert fx.resting_code([_effect(0, (0, 0), (0, 0), n=3), _effect(1, (1, 0), (0, 0), n=200)]) == 1


def test_the_key_reads_the_same_moves_as_the_label():
    # Chopper Command: two codes scroll the view 1.2 and 1.0 px right while the helicopter drifts
    # 0.3 px back; named "scroll right", they got no key when the key read view + sprite (0.9 px).
    effects = [_effect(0, (0, 0), (0, 0), n=120), _effect(1, (1.2, 0), (-0.3, 0), n=90), _effect(2, (1.0, 0), (-0.3, 0)),
               _effect(3, (-2, 0), (0, 0))]
    keymap = fx.propose_keymap(effects)
    assert [b.label for b in keymap.bindings][1:3] == ["scroll right 1px", "scroll right 1px"]
    assert keymap.code_for_key("right") == 2 and keymap.code_for_key("left") == 3  # the most used of the two
    # Its next world: a "scroll right" code moving the view 1.7 px while the helicopter drifts back
    # was labelled 1px (view + sprite) beside a note saying view +2 px; the label gives the view's.
    effects[1] = _effect(1, (1.7, 0), (-0.6, 0.3), n=90)
    assert [b.label for b in fx.propose_keymap(effects).bindings][1:3] == ["scroll right 2px", "scroll right 1px"]


def test_with_no_code_that_only_scrolls_the_arrow_goes_to_the_one_that_moves_the_view():
    # Defender: the view scrolls right under two codes while the ship drifts 1-2 px back on screen;
    # named "right + sprite left", neither got the right arrow and the world had no right key.
    effects = [_effect(0, (0, 0), (0, 0), n=120), _effect(1, (3, 0), (-1.5, 0), n=150), _effect(2, (2, 0), (-1, 0)),
               _effect(3, (-3, 0), (0, 0))]
    keymap = fx.propose_keymap(effects)
    assert all(b.label.startswith("right + sprite left") for b in keymap.bindings[1:3])
    assert keymap.code_for_key("right") == 1 and keymap.code_for_key("d") == 1  # the more used of the two
    assert keymap.code_for_key("left") == 3
    effects.append(_effect(4, (0, 0), (2, 0), n=60))  # a code that goes right and nowhere else comes first
    assert fx.propose_keymap(effects).code_for_key("right") == 4


def test_a_view_that_always_scrolls_names_the_codes_by_what_they_add():
    # River Raid: the river scrolls even when no key is pressed; the keys steer the plane or speed up.
    effects = [_effect(c, (0, -2), (0, 0)) for c in range(8)]
    effects[1] = _effect(1, (0, -2), (3, 0))
    effects[2] = _effect(2, (0, -2), (-3, 0))
    effects[3] = _effect(3, (0, -5), (0, 0))
    keymap = fx.propose_keymap(effects)
    assert keymap.bindings[0].label == "idle"
    assert (keymap.code_for_key("right"), keymap.code_for_key("left"), keymap.code_for_key("up")) == (1, 2, 3)
    assert keymap.bindings[1].label == "sprite right" and keymap.bindings[3].label == "scroll up"



def test_a_code_given_to_cuts_is_named_cut_and_gets_no_arrow():
    # River Raid, random play: the LAM gave one code to the jumps to a new plane (39-43% of the
    # frame changed), read as the view 8 px left and a sprite 6 px up; the code got left and space.
    scenes = [_texture(seed)[:, :48] for seed in range(4)]
    world = _texture(9)
    clips = np.stack([[world[:, 10:58], world[:, 12:60], scenes[1], world[:, 14:62]],
                      [world[:, 20:68], world[:, 22:70], world[:, 24:72], scenes[3]]])  # (C=2, T=4, H, W, 3)
    codes = np.array([[1, 0, 0], [1, 2, 2]])  # 0: two cuts; 1: 2 px scrolls; 2: a scroll and a cut
    effects = fx.measure(clips, codes, 3)
    assert effects[0].cuts == 1.0 and effects[1].cuts == 0.0 and effects[1].view == (2.0, 0.0)
    assert effects[2].cuts == 0.5 and effects[2].view == (2.0, 0.0)  # the cut is left out of its move
    # Over the footage: code 3 is mostly cuts, beside a resting code, a scroll and a steer.
    effects = [_effect(0, (0, -2), (0, 0)), _effect(1, (0, -2), (-3, 0)), _effect(2, (0, -5), (0, 0)),
               fx.CodeEffect(3, 100, (0, 0), (0, 0), 0.3, cuts=0.7)]
    keymap = fx.propose_keymap(effects)
    assert [b.label for b in keymap.bindings] == ["idle", "sprite left", "scroll up", "cut"]
    assert keymap.code_for_key("left") == 1 and keymap.code_for_key("4") == 3 and keymap.code_for_key("space") is None
    assert "70% of them cuts" in keymap.to_toml()
    assert fx.resting_code([fx.CodeEffect(0, 300, (0, 0), (0, 0), 0.4, cuts=0.9), _effect(1, (2, 0), (0, 0))]) == 1


# What each true action of the built-in world should read as: (the view's way, does a sprite rise).
EXPECTED = {"idle": (None, False), "left": ("left", False), "right": ("right", False), "run_right": ("right", False),
            "jump": (None, True), "jump_left": ("left", True), "jump_right": ("right", True), "down": (None, False)}


def test_names_from_pixels_agree_with_the_true_actions_on_six_of_eight_codes(tmp_path):
    """The shipped LAM on fresh held-out levels: a code agrees when its view goes the true action's
    way and a sprite rises exactly when the action jumps (a fall happens under any action)."""
    import torch

    from genie_play.cli import main
    from genie_play.eval.evaluate import held_out_clips
    from genie_play.eval.lam_metrics import infer_codes
    from genie_play.io import load_network
    from genie_play.paths import models_dir
    from genie_play.world.lam import LatentActionModel

    assert main(["data", "generate", "--out", str(tmp_path), "--episodes", "64", "--seed", "777"]) == 0
    lam = load_network(models_dir() / "lam.safetensors", "lam", LatentActionModel)[0].eval()
    frames, true, _, names = held_out_clips(tmp_path, lam.config, 64, 0)
    with torch.inference_mode():
        codes = infer_codes(lam, frames, "cpu")
    effects = fx.measure(frames.numpy(), codes.numpy(), 8)
    rest = effects[fx.resting_code(effects)]
    agree = 0
    for e in effects:
        actions = true[codes == e.code]
        actions = actions[actions >= 0]  # -1: no action across a new level
        top = names[int(np.bincount(actions.numpy(), minlength=len(names)).argmax())]
        view, sprite = (fx._direction(v) for v in fx.relative(e, rest))
        agree += (view if view in ("left", "right") else None, sprite == "up") == EXPECTED[top]
    assert agree >= 6


def _street_with_car(car_x: int, stripes: int = 0) -> np.ndarray:
    """A still street under textured houses, a car at column car_x and `stripes` black stripes grown from its back."""
    frame = np.full((64, 64, 3), 160, np.uint8)
    frame[4:24] = _texture(1, 20, 64)
    frame[40:] = 90
    frame[30:38, car_x:car_x + 8] = 20
    frame[32:34, car_x + 2:car_x + 6] = (200, 30, 30)
    for j in range(stripes):
        frame[30:38, car_x + 8 + 2 * j] = 20
    return frame


def test_a_piece_travels_only_when_it_moves_whole():
    # Private Eye on a world whose token head tore the car: right grew a comb of stripes from a
    # car that stayed, which the per-step sprite move read as a car driving right.
    driving = [_street_with_car(20 + 2 * k) for k in range(5)]
    assert fx.travel(driving).tolist() == [8.0, 0.0]
    comb = [_street_with_car(20, stripes=k) for k in range(5)]
    assert [fx.sprite_move(a, b, (0, 0))[0] for a, b in zip(comb[1:], comb[2:])] == [(2, 0)] * 3  # read as a move
    assert fx.travel(comb).tolist() == [0.0, 0.0]
