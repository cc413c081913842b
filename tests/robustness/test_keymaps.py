"""Hand-edited keymaps: every mistake is one line naming the file and what to fix."""

import re

import pytest

from genie_play.keymap import MAX_KEYMAP_BYTES, load_keymap
from genie_play.cli import main
from genie_play.errors import GenieError
from robustness.registry import register

ONE = '[[action]]\ncode = 0\nlabel = "left"\nkeys = ["left"]\n'

CASES = [  # (case, file content, the message after "PATH: ")
    (register("keymaps", "malformed TOML", "one line naming the file: not valid TOML (with line and column)"),
     "[[action]\ncode = 1", r"not valid TOML \(.*line 1, column \d+\)"),
    (register("keymaps", "an unknown key name", "one line: unknown key name, with a suggestion"),
     '[[action]]\ncode = 0\nkeys = ["lefty"]', r"code 0: unknown key name 'lefty' \(did you mean 'left'\?\)"),
    (register("keymaps", "a key bound twice", "one line: which key, and the two codes"),
     '[[action]]\ncode = 0\nkeys = ["a"]\n[[action]]\ncode = 1\nkeys = ["a"]', r"key 'a' is bound twice \(codes 0 and 1\)"),
    (register("keymaps", "codes out of range (8, -1)", "one line: code N is out of range 0..7"),
     "[[action]]\ncode = 8", r"action #1: code 8 is out of range 0..7"),
    (None, "[[action]]\ncode = -1", r"action #1: code -1 is out of range 0..7"),
    (register("keymaps", "wrong types (code as text, keys as a number, label as a number)", "one line per field: what it must be"),
     '[[action]]\ncode = "1"', r"action #1: 'code' must be a whole number 0..7"),
    (None, "[[action]]\ncode = 1\nkeys = 5", r"action #1: 'keys' must be a list of key names"),
    (None, "[[action]]\ncode = 1\nlabel = 5", r"action #1: code 1 needs a non-empty text label"),
    (register("keymaps", "an empty file", "one line: the keymap is empty and would bind no keys"),
     "", r"no \[\[action\]\] tables: the keymap is empty"),
    (register("keymaps", "a huge file (20 MB)", f"refused before reading: over the {MAX_KEYMAP_BYTES:,}-byte limit"),
     "# " + "x" * (20 * 2**20), rf"keymap is [\d,]+ bytes, over the {MAX_KEYMAP_BYTES:,}-byte limit"),
    (register("keymaps", "binary garbage", "one line: not UTF-8 text"),
     b"\xff\xfe\x00garbage", r"cannot read keymap \(not UTF-8 text\)"),
]


@pytest.mark.parametrize("case, content, message", CASES, ids=[f"{i}" for i in range(len(CASES))])
def test_bad_keymaps_are_refused_in_one_line_naming_the_file(tmp_path, case, content, message):
    path = tmp_path / "keys.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(GenieError) as e:
        load_keymap(path)
    text = str(e.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and re.search(message, text), text


CLI_CASE = register("keymaps", "a bad keymap given to `genie-play play --keymap`",
                    "exit 2 with `genie-play: error: PATH: problem`; no window opens")


def test_the_cli_refuses_a_bad_keymap_before_opening_a_window(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    path = tmp_path / "keys.toml"
    path.write_text(ONE + '[[action]]\ncode = 1\nkeys = ["left"]\n')
    assert main(["play", "--keymap", str(path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err == f"genie-play: error: {path}: key 'left' is bound twice (codes 0 and 1)\n"
