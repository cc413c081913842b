"""Damaged, foreign or mismatched weights: refused in one line naming the file, before any code runs."""

import json
import pickle
import re
import shutil
import struct

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from conftest import save_tiny_world
from genie_play.cli import main
from genie_play.config import apply_overrides
from genie_play.presets import PRESETS
from genie_play.errors import GenieError
from genie_play.io import MAX_HEADER_BYTES, read_weights, save_weights
from genie_play.world.dynamics import Dynamics
from genie_play.world.world_model import WorldModel
from robustness.registry import register

DYN = "dynamics.safetensors"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return save_tiny_world(tmp_path_factory.mktemp("good"))


def _retensor(path, edit):
    """Rewrite a weights file with its tensors edited and its metadata kept."""
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = dict(read_weights(path).tensors)
    edit(tensors)
    save_file(tensors, str(path), metadata=meta)


def _first_float(tensors):
    return next(name for name, t in tensors.items() if t.is_floating_point())


def _poison(value):
    def edit(tensors):
        name = _first_float(tensors)
        tensors[name] = tensors[name].clone()
        tensors[name].view(-1)[0] = value
    return edit


def _truncate(f):
    data = (f / DYN).read_bytes()
    (f / DYN).write_bytes(data[: len(data) // 2])


def _other_tokenizer(f):
    config = apply_overrides(PRESETS["tiny"], ["tokenizer.reach_x=3"])
    save_weights(f / DYN, "dynamics", Dynamics(config), config)


def _token_world(f):
    """The dynamics file as genie_play 0.1 wrote a token world's: weights format 1, no change section."""
    with safe_open(str(f / DYN), "pt") as file:
        meta = file.metadata()
    old = {"world": "tokens", "image_size": 16, "tokenizer": {"patch_size": 4, "codebook_size": 32}}
    meta.update({"genie_play.format_version": "1", "genie_play.config": json.dumps(old), "genie_play.version": "0.1.0"})
    save_file(dict(read_weights(f / DYN).tensors), str(f / DYN), metadata=meta)


def _header(f, length, body=b"{}"):
    (f / DYN).write_bytes(struct.pack("<Q", length) + body)


CASES = [  # (case, how to damage a copy of a good weights folder, the message after "FILE: ")
    (register("weights", "a truncated weights file", "one line naming the file: truncated, which tensor, how many bytes"),
     _truncate, r"truncated: tensor '.+' ends at byte \d+ of the data, file holds \d+"),
    (register("weights", "the wrong network's file (LAM weights as dynamics.safetensors)", "one line: holds lam weights, but dynamics weights are needed"),
     lambda f: shutil.copy(f / "lam.safetensors", f / DYN), r"holds lam weights, but dynamics weights are needed here"),
    (register("weights", "a dynamics model trained on another tokenizer", "one line naming the tokenizer file: its blocks "
              "and moves are not the ones the dynamics model was trained on"),
     _other_tokenizer, r"^.*/tokenizer.safetensors: its blocks and moves are not the ones the dynamics model was trained on$"),
    (register("weights", "a token-world file of genie_play 0.1 (weights format 1)", "one line: it is a token-world "
              "dynamics that genie_play 0.1 plays; `pip install 'genie_play<0.2'` or train a world"),
     _token_world, r"is a token-world dynamics \(weights format 1\), which genie_play 0.1 plays .*pip install 'genie_play<0.2'"),
    (register("weights", "a missing tensor", "one line: how many and which tensors are missing"),
     lambda f: _retensor(f / DYN, lambda t: t.pop("action_embed.weight")), r"missing 1 tensor\(s\) the dynamics needs: action_embed.weight"),
    (register("weights", "an extra tensor", "one line: which tensors the network does not use"),
     lambda f: _retensor(f / DYN, lambda t: t.__setitem__("bogus", torch.zeros(2))), r"has 1 tensor\(s\) the dynamics does not use: bogus"),
    (register("weights", "a tensor of the wrong dtype", "one line: tensor name, its dtype and the expected one"),
     lambda f: _retensor(f / DYN, lambda t: t.__setitem__("action_embed.weight", t["action_embed.weight"].double())),
     r"tensor 'action_embed.weight' is torch.float64, the dynamics expects torch.float32"),
    (register("weights", "a tensor of the wrong shape", "one line: tensor name, its shape and the expected one"),
     lambda f: _retensor(f / DYN, lambda t: t.__setitem__("action_embed.weight", torch.zeros(3, 3))),
     r"tensor 'action_embed.weight' has shape \(3, 3\), the dynamics expects \(8, 32\)"),
    (register("weights", "NaN or Inf values in a tensor", "one line: which tensor contains NaN or Inf"),
     lambda f: _retensor(f / DYN, _poison(float("nan"))), r"tensor '.+' contains NaN or Inf values"),
    (None, lambda f: _retensor(f / DYN, _poison(float("inf"))), r"tensor '.+' contains NaN or Inf values"),
    (register("weights", "an oversized safetensors header (claims 10^12 bytes, or a real 3 MB one)",
              f"refused before parsing: header exceeds the {MAX_HEADER_BYTES:,}-byte (1 MB) limit"),
     lambda f: _header(f, 10**12), rf"header of 1000000000000 bytes exceeds the {MAX_HEADER_BYTES}-byte limit"),
    (None, lambda f: _header(f, 3 * 2**20, b"{" + b" " * (3 * 2**20 - 2) + b"}"), r"exceeds the \d+-byte limit"),
    (register("weights", "a pickle / torch.save checkpoint renamed to .safetensors", "one line: genie_play never unpickles files"),
     lambda f: torch.save({"a": torch.zeros(2)}, f / DYN), r"is a pickle/PyTorch checkpoint, not safetensors; genie_play never unpickles files"),
    (None, lambda f: (f / DYN).write_bytes(pickle.dumps({"a": 1})), r"genie_play never unpickles files"),
    (register("weights", "an empty or missing weights file", "one line: only 0 bytes / no such file"),
     lambda f: (f / DYN).write_bytes(b""), r"not a safetensors weights file \(only 0 bytes\)"),
    (None, lambda f: (f / DYN).unlink(), r"no such file"),
    (register("weights", "a header that is not JSON, or offsets past the end", "one line: not a valid safetensors file / truncated"),
     lambda f: _header(f, 4, b"\xff\xfe{}" + b"\0" * 8), r"not a valid safetensors file \(header is not JSON\)"),
    (None, lambda f: _header(f, 84, json.dumps({"a": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}).encode().ljust(84) + b"\0" * 8),
     r"truncated: tensor 'a' ends at byte 4000 of the data, file holds 8"),
]


@pytest.mark.parametrize("case, damage, message", CASES, ids=[str(i) for i in range(len(CASES))])
def test_bad_weights_are_refused_in_one_line_naming_the_file(good, tmp_path, case, damage, message):
    folder = shutil.copytree(good, tmp_path / "w")
    damage(folder)
    with pytest.raises(GenieError) as e:
        WorldModel.load(folder, device="cpu")
    text = str(e.value)
    named = folder / ("tokenizer.safetensors" if damage is _other_tokenizer else DYN)  # the file that does not fit
    assert text.startswith(f"{named}: ") and "\n" not in text and re.search(message, text), text


CLI_CASE = register("weights", "bad weights given to `genie-play play --weights`", "exit 2 with one line naming the file; no traceback")


def test_the_cli_reports_bad_weights_in_one_line(good, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    folder = shutil.copytree(good, tmp_path / "w")
    torch.save({"a": torch.zeros(2)}, folder / DYN)
    assert main(["play", "--weights", str(folder), "--headless", "--keys", "left", "--out", str(tmp_path / "o.gif"),
                 "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"genie-play: error: {folder / DYN}: is a pickle")
    assert err.count("error") == 1 and "Traceback" not in err
    assert not (tmp_path / "o.gif").exists()
