"""Training: the LAM's trainer (learning-rate schedule, exact resume, checkpoints on SIGTERM, NaN stops,
export) and the dynamics stage that trains on the frozen LAM's labels."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from conftest import moving_squares
from genie_play.presets import resolve_config
from genie_play.errors import GenieError
from genie_play.io import read_weights, save_weights
from genie_play.train import lam_training
from genie_play.train.checkpoint import load_checkpoint, save_checkpoint
from genie_play.train.lam_training import RunOptions, psnr_from_mse, random_pairs, train_lam
from genie_play.train.optimizer import learning_rate, make_optimizer
from genie_play.world.lam import LatentActionModel

ROOT = Path(__file__).resolve().parent.parent


def clips(n=8, frames=4, size=16):
    return list(moving_squares(n, frames, size))


def config(steps=6, *extra):
    sizes = [f"train.{n}_{k}={v}" for n in ("lam", "dynamics") for k, v in (("steps", steps), ("batch", 4))]
    return resolve_config("tiny", [*sizes, "train.warmup_steps=2", *extra])


def run(out, steps=6, resume=False, **options):
    opts = RunOptions("lam", Path("clips"), out, device="cpu", resume=resume, quiet=True, log_every=1, **options)
    return train_lam(config(steps), opts, clips())


def losses(out):
    return {r["step"]: r["loss"] for r in map(json.loads, (out / "log.jsonl").read_text().splitlines())}


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    cfg = resolve_config("tiny", ["train.lr=1.0", "train.warmup_steps=10"])
    assert learning_rate(0, 110, cfg) == pytest.approx(0.1) and learning_rate(9, 110, cfg) == pytest.approx(1.0)
    assert learning_rate(60, 110, cfg) == pytest.approx(0.55)
    assert learning_rate(110, 110, cfg) == pytest.approx(0.1) and learning_rate(500, 110, cfg) == pytest.approx(0.1)
    assert learning_rate(60, 210, cfg) > learning_rate(60, 110, cfg)  # the schedule follows the run's length


def test_the_optimizer_decays_matrices_only():
    cfg = resolve_config("tiny", ["train.weight_decay=0.3", "train.lr=0.01"])
    lam = LatentActionModel(cfg)
    decayed, plain = make_optimizer(lam, cfg).param_groups
    assert decayed["weight_decay"] == 0.3 and plain["weight_decay"] == 0.0 and decayed["lr"] == 0.01
    assert all(p.dim() >= 2 for p in decayed["params"]) and all(p.dim() < 2 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(lam.parameters()))


def test_random_pairs_are_consecutive_frames_of_each_clip():
    frames = torch.arange(3 * 5).view(3, 5, 1, 1, 1).expand(-1, -1, 2, 2, 3)  # frame value = 5 * clip + t
    torch.manual_seed(0)
    pairs = random_pairs(frames)
    assert pairs.shape == (3, 2, 2, 2, 3)
    first, second = pairs[:, 0, 0, 0, 0], pairs[:, 1, 0, 0, 0]
    assert torch.equal(second, first + 1)  # x_t then x_{t+1}
    assert torch.equal(first // 5, torch.arange(3))  # each from its own clip
    assert psnr_from_mse(4e-2) == pytest.approx(20.0)


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no handler sees it."""


def test_resume_after_a_kill_continues_exactly(tmp_path, monkeypatch):
    whole = run(tmp_path / "whole", steps=6, checkpoint_every=3)

    def save_then_die(folder, step, *args, **kwargs):
        save_checkpoint(folder, step, *args, **kwargs)
        if step == 3:
            raise Killed

    monkeypatch.setattr(lam_training, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        run(tmp_path / "cut", steps=6, checkpoint_every=3)
    monkeypatch.undo()
    resumed = run(tmp_path / "cut", steps=6, resume=True, checkpoint_every=3)
    assert losses(tmp_path / "cut")[4] == losses(tmp_path / "whole")[4]  # identical next-step loss
    a, b = read_weights(whole).tensors, read_weights(resumed).tensors
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_of_an_older_lam_without_move_heads_is_refused_in_one_line(tmp_path, monkeypatch):
    run(tmp_path, steps=2, checkpoint_every=1)
    real = lam_training.load_checkpoint

    def older(folder):
        c = real(folder)
        return replace(c, model={k: v for k, v in c.model.items() if not k.startswith(LatentActionModel.TRAINING_ONLY)})

    monkeypatch.setattr(lam_training, "load_checkpoint", older)
    with pytest.raises(GenieError, match=r"ckpt-00000002.* older genie_play \(its LAM has no 'move_head.weight'\)"):
        run(tmp_path, steps=4, resume=True)


def test_a_second_run_into_the_same_folder_needs_resume(tmp_path):
    run(tmp_path, steps=2)
    with pytest.raises(GenieError, match="already holds a training run; pass --resume"):
        run(tmp_path, steps=2)


def test_export_carries_config_and_summary_and_dynamics_trains_on_the_frozen_lam(tmp_path, generated_data):
    from genie_play.train.dynamics_training import train_dynamics
    from genie_play.recipe import train_networks

    lam = run(tmp_path / "lam", steps=2)
    weights = read_weights(lam, "lam")
    assert weights.config == config(2)
    assert weights.summary["network"] == "lam" and weights.summary["steps"] == 2 and weights.summary["batch_size"] == 4
    assert weights.summary["final_loss"] > 0
    assert not [n for n in weights.tensors if n.startswith(LatentActionModel.TRAINING_ONLY)]  # play needs no heads
    dyn = train_dynamics(config(2), generated_data, tmp_path / "dyn", lam, log=lambda line: None)
    weights = read_weights(dyn, "dynamics")
    assert weights.summary["steps"] == 2 and weights.config == config(2)
    assert {p.name for p in dyn.parent.glob("*.safetensors")} >= {"tokenizer.safetensors", "lam.safetensors",
                                                                  "dynamics.safetensors"}
    frozen, trained = read_weights(lam).tensors, read_weights(dyn.parent / "lam.safetensors", "lam").tensors
    assert all(torch.equal(frozen[k], trained[k]) for k in frozen)  # the LAM only labels: it is not trained
    assert frozen.keys() == trained.keys()
    with pytest.raises(GenieError, match="train dynamics needs --lam FILE"):
        train_networks(config(2), RunOptions("dynamics", generated_data, tmp_path / "dyn2", device="cpu"))
    with pytest.raises(GenieError, match="there is no tokenizer to train"):
        train_networks(config(2), RunOptions("tokenizer", generated_data, tmp_path / "tok", device="cpu"))
    other = tmp_path / "lam-32px.safetensors"  # a LAM of another world is refused, naming its file
    big = resolve_config("tiny", ["image_size=32"])
    save_weights(other, "lam", LatentActionModel(big), big)
    with pytest.raises(GenieError, match="lam-32px.safetensors: the LAM is for 32 px"):
        train_dynamics(config(2), generated_data, tmp_path / "dyn3", other, log=lambda line: None)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real = LatentActionModel.forward
    calls = []

    def poisoned(self, frames, moves=None):
        out = real(self, frames, moves)
        calls.append(1)
        if len(calls) > 3:
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(LatentActionModel, "forward", poisoned)
    with pytest.raises(GenieError, match=r"lam loss became nan at step 4; stopping \(the last good checkpoint \(step 2\)"):
        run(tmp_path, steps=6, checkpoint_every=2)
    assert load_checkpoint(tmp_path / "checkpoints").step == 2
    assert not (tmp_path / "lam.safetensors").exists()


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT / 'tests')!r})
        from pathlib import Path
        from test_train import config, clips
        from genie_play.train.lam_training import RunOptions, train_lam
        opts = RunOptions("lam", Path("clips"), Path({str(tmp_path)!r}), device="cpu", quiet=True,
                          checkpoint_every=1000, sample_every=0)
        print("started", flush=True)
        train_lam(config(100000), opts, clips())
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
    monkeypatch.setattr(lam_training.time, "monotonic", lambda: clock["now"])
    step_seconds = 0.5
    real_step = torch.optim.AdamW.step

    def timed_step(self, *args, **kwargs):  # every optimizer step "takes" half a second
        clock["now"] += step_seconds
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", timed_step)
    opts = RunOptions("lam", Path("clips"), tmp_path, device="cpu", quiet=True, log_every=1, minutes=1.0)
    exported = train_lam(config(100_000), opts, clips())
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
        train_lam(config(6), opts, data)


def test_init_starts_from_weights_and_refuses_another_network(tmp_path):
    from genie_play.world.dynamics import Dynamics

    first = run(tmp_path / "first", steps=6)
    # One step at a vanishing learning rate: what comes out is what went in.
    opts = RunOptions("lam", Path("clips"), tmp_path / "again", device="cpu", quiet=True, init=first)
    again = train_lam(config(1, "train.lr=1e-12"), opts, clips())
    a, b = read_weights(first), read_weights(again)
    assert all(torch.allclose(a.tensors[k], b.tensors[k], atol=1e-6) for k in a.tensors)
    assert b.summary["init"]["steps"] == 6 and b.summary["init"]["file"] == "lam.safetensors"
    dynamics = save_weights(tmp_path / "dynamics.safetensors", "dynamics", Dynamics(config()), config())
    with pytest.raises(GenieError, match="holds dynamics weights, but lam weights are needed"):
        run(tmp_path / "wrong", steps=2, init=dynamics)
