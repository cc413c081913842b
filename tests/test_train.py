"""The trainer: learning-rate schedule, exact resume, checkpoints on SIGTERM, NaN stops, export."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from conftest import moving_squares
from genie_play.presets import resolve_config
from genie_play.errors import GenieError
from genie_play.io import read_weights
from genie_play.train import objectives
from genie_play.train import trainer
from genie_play.train.checkpoint import load_checkpoint, save_checkpoint
from genie_play.train.trainer import RunOptions, learning_rate, train

ROOT = Path(__file__).resolve().parent.parent


def clips(n=8, frames=4, size=16):
    return list(moving_squares(n, frames, size))


def config(steps=6, *extra):
    sizes = [f"train.{n}_{k}={v}" for n in ("tokenizer", "lam", "dynamics") for k, v in (("steps", steps), ("batch", 4))]
    return resolve_config("tiny", [*sizes, "train.warmup_steps=2", *extra])


def run(network, out, steps=6, resume=False, **options):
    opts = RunOptions(network, Path("clips"), out, device="cpu", resume=resume, quiet=True, log_every=1, **options)
    return train(config(steps), opts, clips())


def losses(out):
    return {r["step"]: r["loss"] for r in map(json.loads, (out / "log.jsonl").read_text().splitlines())}


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    cfg = resolve_config("tiny", ["train.lr=1.0", "train.warmup_steps=10", "train.lam_steps=110"])
    assert learning_rate(0, cfg, "lam") == pytest.approx(0.1) and learning_rate(9, cfg, "lam") == pytest.approx(1.0)
    assert learning_rate(60, cfg, "lam") == pytest.approx(0.55)
    assert learning_rate(110, cfg, "lam") == pytest.approx(0.1) and learning_rate(500, cfg, "lam") == pytest.approx(0.1)


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no handler sees it."""


def test_resume_after_a_kill_continues_exactly(tmp_path, monkeypatch):
    whole = run("tokenizer", tmp_path / "whole", steps=6, checkpoint_every=3)

    def save_then_die(folder, step, *args, **kwargs):
        save_checkpoint(folder, step, *args, **kwargs)
        if step == 3:
            raise Killed

    monkeypatch.setattr(trainer, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        run("tokenizer", tmp_path / "cut", steps=6, checkpoint_every=3)
    monkeypatch.undo()
    resumed = run("tokenizer", tmp_path / "cut", steps=6, resume=True, checkpoint_every=3)
    assert losses(tmp_path / "cut")[4] == losses(tmp_path / "whole")[4]  # identical next-step loss
    a, b = read_weights(whole).tensors, read_weights(resumed).tensors
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_second_run_into_the_same_folder_needs_resume(tmp_path):
    run("lam", tmp_path, steps=2)
    with pytest.raises(GenieError, match="already holds a training run; pass --resume"):
        run("lam", tmp_path, steps=2)


def test_export_carries_config_and_summary_and_dynamics_trains_on_frozen_nets(tmp_path):
    tok = run("tokenizer", tmp_path / "tok", steps=2)
    lam = run("lam", tmp_path / "lam", steps=2)
    dyn = run("dynamics", tmp_path / "dyn", steps=2, tokenizer=tok, lam=lam)
    weights = read_weights(dyn, "dynamics")
    assert weights.summary["steps"] == 2 and weights.summary["tokenizer_sha256"] and weights.summary["tokenizer_tokens_sha256"]
    assert weights.config.tokenizer == read_weights(tok).config.tokenizer
    with pytest.raises(GenieError, match="needs --tokenizer FILE and --lam FILE"):
        run("dynamics", tmp_path / "dyn2", steps=2)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real = objectives.Objective.loss

    def poisoned(self, model, frames):
        loss, metrics = real(self, model, frames)
        return (loss * float("nan"), metrics) if len(losses_seen) >= 3 else (losses_seen.append(1) or loss, metrics)

    losses_seen = []
    monkeypatch.setattr(objectives.Objective, "loss", poisoned)
    with pytest.raises(GenieError, match=r"tokenizer loss became nan at step 4; stopping \(the last good checkpoint \(step 2\)"):
        run("tokenizer", tmp_path, steps=6, checkpoint_every=2)
    assert load_checkpoint(tmp_path / "checkpoints").step == 2


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT / 'tests')!r})
        from pathlib import Path
        from test_train import config, clips
        from genie_play.train.trainer import RunOptions, train
        opts = RunOptions("tokenizer", Path("clips"), Path({str(tmp_path)!r}), device="cpu", quiet=True,
                          checkpoint_every=1000, sample_every=0)
        print("started", flush=True)
        train(config(100000), opts, clips())
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    deadline = time.time() + 60
    while not (tmp_path / "log.jsonl").exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "checkpoint saved" in err and "--resume" in err
    step = load_checkpoint(tmp_path / "checkpoints").step
    assert 0 < step < 100000


def test_a_time_budget_sets_the_length_from_the_measured_speed(tmp_path, monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(trainer.time, "monotonic", lambda: clock["now"])
    step_seconds = 0.5
    real_step = torch.optim.AdamW.step

    def timed_step(self, *args, **kwargs):  # every optimizer step "takes" half a second
        clock["now"] += step_seconds
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", timed_step)
    opts = RunOptions("lam", Path("clips"), tmp_path, device="cpu", quiet=True, log_every=1, minutes=1.0)
    exported = train(config(100_000), opts, clips())
    # 60 s at 0.5 s per step: 120 steps, whatever the preset asked for; the checkpoint says so too.
    summary = read_weights(exported, "lam").summary
    assert summary["steps"] == 120 and load_checkpoint(tmp_path / "checkpoints").step == 120
    assert len(losses(tmp_path)) == 120


def test_an_error_while_loading_a_batch_is_raised_by_the_run(tmp_path):
    class Broken(list):
        def __getitem__(self, i):
            if i >= 0 and self.fail:
                raise GenieError("clip.npy: truncated")
            return super().__getitem__(i)

    data = Broken(clips())
    data.fail = False
    data[0]  # the run checks the first clip before it starts
    data.fail = True
    opts = RunOptions("lam", Path("clips"), tmp_path, device="cpu", quiet=True, log_every=1)
    with pytest.raises(GenieError, match="truncated"):
        train(config(6), opts, data)


def test_init_starts_from_weights_and_refuses_another_network(tmp_path):
    first = run("lam", tmp_path / "first", steps=6)
    # One step at a vanishing learning rate: what comes out is what went in.
    opts = RunOptions("lam", Path("clips"), tmp_path / "again", device="cpu", quiet=True, init=first)
    again = train(config(1, "train.lr=1e-12"), opts, clips())
    a, b = read_weights(first), read_weights(again)
    assert all(torch.allclose(a.tensors[k], b.tensors[k], atol=1e-6) for k in a.tensors)
    assert b.summary["init"]["steps"] == 6
    with pytest.raises(GenieError, match="holds lam weights, but tokenizer weights are needed"):
        run("tokenizer", tmp_path / "wrong", steps=2, init=first)
