"""Keymaps: the shipped map, validation messages, saving, which map is used, and --keys parsing."""

import os
from pathlib import Path

import pytest

from genie_play.app.headless import parse_keys
from genie_play.keymap import KEY_NAMES, RESERVED, load_keymap, parse_keymap, resolve_keymap, save_keymap
from genie_play.errors import GenieError

SHIPPED = Path(__file__).parent / "labelled_keymap.toml"  # stable labels; models/keymap.toml: test_shipped_model


def entry(code, keys, label="x"):
    keys = ", ".join(f'"{k}"' for k in keys)
    return f'[[action]]\ncode = {code}\nlabel = "{label}"\nkeys = [{keys}]\n'


def test_shipped_keymap_binds_all_eight_codes():
    keymap = load_keymap(SHIPPED)
    assert [b.code for b in keymap.bindings] == list(range(8))
    assert not keymap.unbound and keymap.code_for_key("right") == 1 and keymap.label(2) == "jump"
    assert not {k for b in keymap.bindings for k in b.keys} & set(RESERVED)


def test_every_key_name_is_one_pygame_knows():
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    pygame.display.init()
    try:
        for name in KEY_NAMES:
            assert pygame.key.name(pygame.key.key_code(name)) == name
    finally:
        pygame.display.quit()


@pytest.mark.parametrize("text, message", [
    (entry(0, ["spce"]), "unknown key name 'spce' (did you mean 'space'?)"),
    (entry(0, ["a"]) + entry(1, ["a"]), "key 'a' is bound twice (codes 0 and 1)"),
    (entry(8, ["a"]), "code 8 is out of range 0..7"),
    (entry(0, ["h"]), "key 'h' is reserved for the app (help)"),
    (entry(0, ["a"]) + entry(0, ["b"]), "code 0 appears twice"),
    ("[[action]]\ncode = 'one'\n", "'code' must be a whole number 0..7"),
    ("[[action]\n", "not valid TOML"),
    ("speed = 3\n", "unknown setting 'speed'"),
    (entry(0, ["a"], label=""), "code 0 needs a non-empty text label"),
])
def test_bad_keymaps_say_what_is_wrong_in_one_line(text, message):
    with pytest.raises(GenieError, match=".*") as e:
        parse_keymap(text, "my.toml")
    assert message in str(e.value) and str(e.value).startswith("my.toml") and "\n" not in str(e.value)


def test_codes_without_keys_are_allowed_and_listed():
    keymap = parse_keymap(entry(0, ["left"], "left") + entry(3, [], "mystery"), "m.toml")
    assert keymap.unbound == [1, 2, 3, 4, 5, 6, 7]
    assert keymap.label(3) == "mystery" and keymap.label(5) == "code 5" and keymap.keys_text(3) == "no key"


def test_save_then_load_round_trips(tmp_path):
    keymap = load_keymap(SHIPPED).rebind(3, key="j", label='say "hop"')
    path = save_keymap(keymap, tmp_path / "sub" / "keymap.toml")
    again = load_keymap(path)
    assert again.bindings == keymap.bindings
    assert again.code_for_key("j") == 3 and again.code_for_key("s") is None  # the new key replaces the old


def test_rebind_moves_a_key_from_its_old_code():
    keymap = load_keymap(SHIPPED).rebind(6, key="a")
    assert keymap.code_for_key("a") == 6 and keymap.bindings[0].keys == ("left",)
    with pytest.raises(GenieError, match="reserved"):
        keymap.rebind(0, key="p")


def test_explicit_then_saved_then_shipped(tmp_path):
    user = tmp_path / "user.toml"
    explicit = tmp_path / "explicit.toml"
    explicit.write_text(entry(0, ["left"], "explicit"))
    assert resolve_keymap(explicit, user, SHIPPED)[0].label(0) == "explicit"
    assert resolve_keymap(None, user, SHIPPED) == (load_keymap(SHIPPED), None)  # nothing saved yet
    user.write_text(entry(0, ["left"], "saved"))
    assert resolve_keymap(None, user, SHIPPED)[0].label(0) == "saved"
    user.write_text(entry(0, ["nokey"]))  # a broken saved map falls back, with a warning
    keymap, warning = resolve_keymap(None, user, SHIPPED)
    assert keymap.label(0) == "left" and "saved keymap ignored" in warning and "nokey" in warning
    explicit.write_text(entry(0, ["nokey"]))  # an explicit --keymap that fails is an error
    with pytest.raises(GenieError, match="unknown key name 'nokey'"):
        resolve_keymap(explicit, user, SHIPPED)


def test_a_weights_folder_plays_with_its_own_keymap_else_the_shipped_one(tmp_path):
    from genie_play.keymap import weights_keymap
    from genie_play.paths import models_dir

    assert weights_keymap(tmp_path) == models_dir() / "keymap.toml"  # a folder without one
    (tmp_path / "keymap.toml").write_text(entry(0, ["left"], "its own"))
    assert weights_keymap(tmp_path) == tmp_path / "keymap.toml"
    assert load_keymap(weights_keymap(tmp_path)).label(0) == "its own"


def test_headless_key_sequences():
    keymap = load_keymap(SHIPPED)
    assert parse_keys("right right jump", keymap) == [1, 1, 2]
    assert parse_keys("right*3, jump left", keymap) == [1, 1, 1, 4]
    assert parse_keys("jump_left space code:7 LEFT", keymap) == [4, 2, 7, 0]
    assert parse_keys("right right, jump", keymap) == [1, 1, 2]
    with pytest.raises(GenieError, match="'jmup' is not a label or key.*did you mean 'jump'"):
        parse_keys("right jmup", keymap)
    with pytest.raises(GenieError, match="--keys is empty"):
        parse_keys(" , ", keymap)
    with pytest.raises(GenieError, match="repeats 0 times"):
        parse_keys("right*0", keymap)


ACTIONS = ["idle", "left", "right", "jump", "jump_left", "jump_right", "down", "run_right"]


def test_a_keymap_proposed_from_the_code_action_table_gives_each_action_its_keys_once():
    from genie_play.keymap import parse_keymap, propose_keymap

    # The shipped LAM's table on held-out levels (rows: codes; columns: ACTIONS).
    counts = [[0, 12, 16, 0, 4, 0, 0, 286], [0, 0, 90, 0, 0, 29, 0, 146], [1, 44, 0, 0, 61, 1, 5, 1],
              [0, 154, 0, 3, 179, 0, 0, 7], [0, 0, 352, 0, 0, 220, 0, 3], [169, 1, 16, 141, 4, 1, 146, 11],
              [0, 0, 82, 7, 0, 339, 1, 4], [72, 2, 20, 197, 5, 23, 122, 4]]
    keymap = propose_keymap(counts, ACTIONS)
    # Code 3 is mostly "jump left" but holds 72% of the left transitions: it gets left's keys.
    assert keymap.code_for_key("left") == 3 and keymap.label(3) == "left"
    assert keymap.label(2) == "jump left" and keymap.code_for_key("q") == 2
    assert keymap.code_for_key("right") == 4 and keymap.code_for_key("space") == 7 and keymap.label(6) == "jump right"
    assert keymap.label(1) == "run right (also)" and keymap.code_for_key("2") == 1  # run right is code 0's
    assert keymap.label(5) == "idle" and "down" not in [b.label for b in keymap.bindings]  # its codes went first
    again = parse_keymap(keymap.to_toml(), "proposed.toml")  # it is a valid keymap file
    assert again.bindings == keymap.bindings
    # A code never used, and an action that is too small a part of any code to name it.
    small = propose_keymap([[50, 0, 10], [0, 0, 0], [40, 30, 5]], ["idle", "left", "down"])
    assert [b.label for b in small.bindings] == ["idle", "code 1 (unused)", "left"]
