"""No file runs code: nothing in genie_play unpickles, evals or execs, checked in the source and at run time."""

import ast
import pickle
from pathlib import Path

import torch

import genie_play
from conftest import save_tiny_world
from genie_play.cli import main
from robustness.registry import case

PACKAGE = Path(genie_play.__file__).parent
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}  # builtins that run text as code
FORBIDDEN_ATTRS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("torch", "load"),
                   ("marshal", "loads"), ("shelve", "open"), ("yaml", "load"), ("cloudpickle", "load"),
                   ("cloudpickle", "loads"), ("dill", "load"), ("dill", "loads"), ("joblib", "load")}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name):
                yield f.id, node
            elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                yield f"{f.value.id}.{f.attr}", node


@case("security", "scan every module of genie_play for unpickling, eval/exec and pickle-enabled numpy loads",
      "none found: weights are safetensors, keymaps TOML, data shards .npz without pickles")
def test_no_module_unpickles_or_evaluates_code():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for name, node in _calls(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            if name in FORBIDDEN_CALLS or tuple(name.split(".", 1)) in FORBIDDEN_ATTRS:
                found.append(f"{where} calls {name}")
            if name in ("np.load", "numpy.load") and any(
                    k.arg == "allow_pickle" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                    for k in node.keywords):
                found.append(f"{where} calls np.load with pickles allowed")
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in ("pickle", "marshal", "shelve", "dill", "cloudpickle") for n in names):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {names}")
    assert found == []


@case("security", "load weights and a keymap, play and record with pickle.load and torch.load booby-trapped",
      "nothing calls them: no file the user gives can run code")
def test_a_whole_session_never_unpickles(tmp_path, monkeypatch):
    def trap(*args, **kwargs):
        raise AssertionError("something tried to unpickle a file")

    for module, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
        monkeypatch.setattr(module, name, trap)
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    weights = save_tiny_world(tmp_path / "w")
    out = tmp_path / "run.gif"
    assert main(["play", "--weights", str(weights), "--keymap", str(weights / "keymap.toml"), "--headless",
                 "--keys", "left right jump", "--out", str(out), "--device", "cpu"]) == 0
    assert out.exists() and out.stat().st_size > 0
