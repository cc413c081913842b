"""Training under faults, with real processes: SIGKILL mid-checkpoint, SIGTERM/Ctrl-C, divergence, resume.

Every `genie-play train` command here runs in a process of its own, forked by a small fork server
(RUNNER, below) that imports torch once, so each command starts in milliseconds rather than
seconds. Faults are injected inside the child at an exact step or file write, never by timing.
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genie_play.io import read_weights
from genie_play.train.checkpoint import load_checkpoint
from robustness.registry import case

ROOT = Path(__file__).resolve().parents[2]

RUNNER = '''
"""Fork server: one JSON command per stdin line -> `genie-play ARGV` in a forked child, with at
most one fault injected; answers one JSON line {"code", "output"} (code < 0: killed by that signal).
Forking is safe here: this process imports torch but never computes with it."""
import json, os, signal, sys, tempfile, traceback

import torch._dynamo  # noqa: F401  (AdamW imports it on first use: once here rather than in each child)
from genie_play.cli import main
from genie_play.train import lam_training as trainer

SIGNALS = {"sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "sigkill": signal.SIGKILL}
FILES = ("weights", "state", "pointer")  # what save_checkpoint renames into place, in this order


def signal_during_step(name, step):
    """Send ourselves a signal in the middle of training step `step` (counted from 1, like the log)."""
    real = trainer.learning_rate  # called once per step, between drawing the batch and the forward pass

    def learning_rate(at, *args):
        if at + 1 == step:
            os.kill(os.getpid(), SIGNALS[name])
        return real(at, *args)

    trainer.learning_rate = learning_rate


def kill_in_checkpoint(step, file, torn):
    """SIGKILL ourselves while checkpoint `step` is written: with `file` half-written in its temp
    file (torn), or just after `file` was renamed into place."""
    real_save, real_replace = trainer.save_checkpoint, os.replace
    writing = {"step": None, "renames": 0}

    def save_checkpoint(folder, at, *args, **kwargs):
        writing.update(step=at, renames=0)
        try:
            return real_save(folder, at, *args, **kwargs)
        finally:
            writing["step"] = None

    def replace(src, dst):
        if writing["step"] == step:
            if FILES[writing["renames"]] == file:
                if torn:
                    os.truncate(src, os.path.getsize(src) // 2)
                else:
                    real_replace(src, dst)
                os.kill(os.getpid(), signal.SIGKILL)
            writing["renames"] += 1
        real_replace(src, dst)

    trainer.save_checkpoint, os.replace = save_checkpoint, replace


def child(argv, fault):
    signal.alarm(120)  # a hung command fails its test instead of hanging the session
    code = 1
    try:
        if fault and "signal" in fault:
            signal_during_step(fault["signal"], fault["step"])
        elif fault:
            kill_in_checkpoint(fault["checkpoint"], fault["file"], fault["torn"])
        code = main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


for line in sys.stdin:
    command = json.loads(line)
    with tempfile.TemporaryFile() as output:
        pid = os.fork()
        if pid == 0:
            os.dup2(output.fileno(), 1)
            os.dup2(output.fileno(), 2)
            child(command["argv"], command["fault"])
        _, status = os.waitpid(pid, 0)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    print(json.dumps({"code": os.waitstatus_to_exitcode(status), "output": text}), flush=True)
os._exit(0)  # stdin closed: done (skipping torch's slow interpreter teardown)
'''


@dataclass
class Result:
    code: int  # exit code; negative: killed by that signal
    output: str  # stdout and stderr together, progress bars included

    def lines(self) -> list[str]:
        """What a terminal ends up showing: progress-bar redraws (\\r) overwrite each other."""
        return [line.split("\r")[-1] for line in self.output.split("\n") if line.split("\r")[-1]]


@pytest.fixture(scope="module")
def genie(tmp_path_factory):
    """genie(*argv, fault=None) -> Result: one `genie-play` command in a fresh process."""
    script = tmp_path_factory.mktemp("runner") / "fork_server.py"
    script.write_text(RUNNER)
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    server = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env)

    def run(*argv, fault=None) -> Result:
        server.stdin.write(json.dumps({"argv": [str(a) for a in argv], "fault": fault}) + "\n")
        server.stdin.flush()
        reply = server.stdout.readline()
        assert reply, f"the fork server died (exit code {server.poll()})"
        return Result(**json.loads(reply))

    yield run
    server.stdin.close()
    server.wait(timeout=60)


@pytest.fixture
def train(genie, generated_data):
    """train(out, *flags, fault=None): `genie-play train lam` on the tiny preset and tiny data."""
    def run(out, *flags, fault=None) -> Result:
        return genie("train", "lam", "--data", generated_data, "--out", out, "--preset", "tiny",
                     "--sample-every", "0", "--device", "cpu", *flags, fault=fault)

    return run


def finite(tensors) -> bool:
    return all(torch.isfinite(t).all() for t in tensors if t.is_floating_point())


def same_weights(a: Path, b: Path) -> bool:
    x, y = read_weights(a).tensors, read_weights(b).tensors
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@case("training", "SIGKILL (kill -9) while a checkpoint is being written, at each of its six write stages",
      "the previous complete checkpoint still loads and resuming continues from it; the finished run "
      "equals an uninterrupted one and no temp file is left")
def test_sigkill_during_checkpoint_write(train, tmp_path):
    out, ckpts = tmp_path / "cut", tmp_path / "cut" / "checkpoints"
    flags = ["--steps", "4", "--checkpoint-every", "1"]
    assert train(tmp_path / "whole", *flags).code == 0

    # Checkpoint 2 is killed at every stage of its writing, each time resuming from checkpoint 1 ...
    stages = [(file, torn) for file in ("weights", "state", "pointer") for torn in (True, False)]
    for i, (file, torn) in enumerate(stages):
        fault = {"checkpoint": 2, "file": file, "torn": torn}
        result = train(out, *flags, *(["--resume"] if i else []), fault=fault)
        assert result.code == -9, result.output
        expected = 2 if (file, torn) == ("pointer", False) else 1  # ... until latest.json points at it
        assert load_checkpoint(ckpts).step == expected, (file, torn)
        if torn:  # the half-written temp file is really there, and ignored
            assert any(p.name.endswith(".tmp") and p.stat().st_size for p in ckpts.iterdir())

    result = train(out, *flags, "--resume")
    assert result.code == 0, result.output
    assert load_checkpoint(ckpts).step == 4
    assert same_weights(out / "lam.safetensors", tmp_path / "whole" / "lam.safetensors")
    assert sorted(p.name for p in ckpts.iterdir()) == [
        "ckpt-00000003.json", "ckpt-00000003.safetensors", "ckpt-00000004.json", "ckpt-00000004.safetensors",
        "latest.json"]


@case("training", "SIGTERM or Ctrl-C in the middle of a training step",
      "the step finishes, a checkpoint of it is saved, one line: 'stopped at step N; checkpoint saved in "
      "…/checkpoints (continue with --resume)', exit code 0")
def test_sigterm_saves_a_checkpoint_and_exits_cleanly(train, tmp_path):
    for name, step in (("sigterm", 3), ("sigint", 2)):
        out = tmp_path / name
        result = train(out, "--steps", "50", "--checkpoint-every", "100", fault={"signal": name, "step": step})
        assert result.code == 0, result.output
        message = f"genie-play: stopped at step {step}; checkpoint saved in {out / 'checkpoints'} (continue with --resume)"
        assert result.lines()[-1] == message
        checkpoint = load_checkpoint(out / "checkpoints")
        assert checkpoint.step == step and finite(checkpoint.model.values())
        assert not (out / "lam.safetensors").exists()  # not finished: nothing exported


@case("training", "a learning rate so high (--lr 1000) that training diverges to NaN",
      "one line: 'lam loss became inf at step N; stopping (the last good checkpoint (step M) is kept "
      "in …)' (or 'lam weights became nan (TENSOR)'), exit code 2; no NaN is ever written to a checkpoint or to "
      "exported weights")
def test_divergence_stops_and_keeps_the_last_good_checkpoint(train, tmp_path):
    diverging = ["--lr", "1000", "--set", "train.warmup_steps=1"]
    out = tmp_path / "every-step"
    result = train(out, "--steps", "6", "--checkpoint-every", "1", *diverging)
    assert result.code == 2, result.output
    errors = [line for line in result.lines() if line.startswith("genie-play:")]
    assert errors == result.lines()[-1:]  # one line of its own, after the progress bar
    found = re.fullmatch(r"genie-play: error: lam (?:loss|weights) became (?:nan|inf|-inf)\b.* at step (\d+); "
                         r"stopping \(the last good checkpoint \(step (\d+)\) is kept in (.+)\)", errors[0])
    assert found, errors[0]
    checkpoint = load_checkpoint(out / "checkpoints")
    assert 1 <= checkpoint.step == int(found[2]) <= int(found[1]) and found[3] == str(out / "checkpoints")
    for path in (out / "checkpoints").glob("ckpt-*.safetensors"):  # every checkpoint on disk, not just latest
        all_finite = finite(load_file(str(path)).values())
        assert all_finite, path
    assert not (out / "lam.safetensors").exists()

    # Diverging on the very last step (the same run stopped where it diverged): nothing may be exported,
    # and no checkpoint was ever good.
    out, last = tmp_path / "last-step", found[1]
    result = train(out, "--steps", last, "--checkpoint-every", "100", *diverging)
    assert result.code == 2, result.output
    assert result.lines()[-1].endswith(f"at step {last}; stopping (no checkpoint was written)")
    assert load_checkpoint(out / "checkpoints") is None and not (out / "lam.safetensors").exists()


@case("training", "resuming (--resume) a run killed during step 5, after its step-3 checkpoint",
      "training continues at step 4 (log, step counter, optimizer state, data order) and ends with the "
      "same weights as a run never interrupted")
def test_resume_continues_from_the_right_step(train, tmp_path):
    flags = ["--steps", "6", "--checkpoint-every", "3"]
    assert train(tmp_path / "whole", *flags).code == 0
    out = tmp_path / "cut"
    assert train(out, *flags, fault={"signal": "sigkill", "step": 5}).code == -9
    assert load_checkpoint(out / "checkpoints").step == 3

    result = train(out, *flags, "--resume")
    assert result.code == 0, result.output
    assert result.lines()[-1] == f"lam: 6 steps done; weights in {out / 'lam.safetensors'}"
    logged = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert logged == [1, 4]  # each run logs its first step: the resumed one starts at 4
    checkpoint = load_checkpoint(out / "checkpoints")
    assert checkpoint.step == 6
    assert {int(state["step"]) for state in checkpoint.optimizer["state"].values()} == {6}  # AdamW's own count
    assert same_weights(out / "lam.safetensors", tmp_path / "whole" / "lam.safetensors")
