"""Training from the command line on generated data: one process, and two data-parallel ranks."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genie_play.cli import main
from genie_play.io import read_weights
from genie_play.world.world_model import WorldModel


@pytest.fixture
def data(generated_data):
    return generated_data


def test_train_all_exports_three_networks_that_play(data, tmp_path):
    out = tmp_path / "run"
    argv = ["train", "all", "--data", str(data), "--out", str(out), "--preset", "tiny", "--steps", "3",
            "--batch", "2", "--sample-every", "3"]
    assert main(argv) == 0
    for network in ("tokenizer", "lam", "dynamics"):
        weights = read_weights(out / f"{network}.safetensors", network)
        assert weights.summary["steps"] == 3 and weights.config.train.batch(network) == 2
    assert (out / "tokenizer" / "samples" / "tokenizer-00000003.png").exists()
    world = WorldModel.load(out, device="cpu")
    world.reset(np.zeros((16, 16, 3), np.uint8))
    assert world.step(1).shape == (16, 16, 3)
    assert main([*argv, "--resume"]) == 0  # every stage is already done: nothing is lost or redone


def test_train_refuses_data_of_another_size(data, tmp_path, capsys):
    argv = ["train", "tokenizer", "--data", str(data), "--out", str(tmp_path), "--preset", "tokens", "--steps", "1"]
    assert main(argv) == 2
    assert "shard-00000.json: clips have 8 frames, fewer than the 16 asked for" in capsys.readouterr().err
    assert main([*argv, "--set", "context_frames=4"]) == 2
    assert "clips are (4, 16, 16, 3) but this run needs (>=2, 64, 64, 3) frames" in capsys.readouterr().err


def test_two_ranks_with_torchrun_end_with_identical_weights(data, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "genie_play",
           "train", "tokenizer", "--data", str(data), "--out", str(tmp_path), "--preset", "tiny", "--steps", "3",
           "--sample-every", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "weights identical on all 2 ranks" in proc.stderr
    assert read_weights(tmp_path / "tokenizer.safetensors").summary["ranks"] == 2
    # A time budget: the ranks measure their speed, agree on one length and stop together.
    budget = [*cmd[:cmd.index("--out") + 1], str(tmp_path / "budget"), "--preset", "tiny", "--steps", "1000000",
              "--minutes", "0.1", "--sample-every", "0"]
    proc = subprocess.run(budget, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "weights identical on all 2 ranks" in proc.stderr and "steps fit in 0.1 minutes" in proc.stderr
    assert 60 < read_weights(tmp_path / "budget" / "tokenizer.safetensors").summary["steps"] < 1_000_000


def test_train_all_without_data_is_the_whole_recipe_data_training_eval_and_keymap(tmp_path, monkeypatch):
    from genie_play.keymap import load_keymap
    from genie_play.train import recipe

    monkeypatch.setattr(recipe, "RECIPE_DATA", tuple((n, s, 6, seed) for n, s, _, seed in recipe.RECIPE_DATA))
    out = tmp_path / "run"
    argv = ["train", "all", "--out", str(out), "--preset", "tiny", "--steps", "2", "--sample-every", "0", "--device", "cpu"]
    assert main(argv) == 0
    for name in ("train", "heldout_levels", "heldout_styles"):
        assert (out / "data" / name / "summary.json").exists()
    for split in ("levels", "styles"):
        metrics = json.loads((out / "eval" / split / "metrics.json").read_text())
        assert "lam_nmi" in metrics and "dynamics_delta_psnr" in metrics
    keymap = load_keymap(out / "keymap.toml")
    assert len(keymap.bindings) == 8 and (out / "keymap.toml").read_text().startswith("# Proposed by")
    assert main(argv + ["--resume"]) == 0  # everything done: resuming only re-evaluates


def test_only_train_all_may_omit_data(tmp_path, capsys):
    assert main(["train", "lam", "--out", str(tmp_path), "--preset", "tiny"]) == 2
    assert "train lam needs --data DIR" in capsys.readouterr().err


def test_a_dynamics_run_from_weights_refuses_another_tokenizer_and_bad_budgets(data, tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["train", "all", "--data", str(data), "--out", str(first), "--preset", "tiny", "--steps", "2",
                 "--batch", "2"]) == 0
    other = tmp_path / "other"
    assert main(["train", "tokenizer", "--data", str(data), "--out", str(other), "--preset", "tiny", "--steps", "2",
                 "--batch", "2", "--set", "train.seed=1"]) == 0
    base = ["train", "dynamics", "--data", str(data), "--preset", "tiny", "--steps", "2", "--batch", "2",
            "--lam", str(first / "lam.safetensors"), "--init", str(first / "dynamics.safetensors")]
    # Fine-tuning on the tokens it learned: fine; on another tokenizer's: one line naming both files.
    # How it trains (here: changed tokens weigh 3x) comes from the run, what it is from the file.
    assert main([*base, "--out", str(tmp_path / "tuned"), "--tokenizer", str(first / "tokenizer.safetensors"),
                 "--set", "dynamics.changed_weight=3", "--set", "dynamics.num_layers=3"]) == 0
    tuned = read_weights(tmp_path / "tuned" / "dynamics.safetensors")
    assert tuned.summary["init"]["steps"] == 2 and tuned.config.dynamics.changed_weight == 3
    assert tuned.config.dynamics.num_layers == read_weights(first / "dynamics.safetensors").config.dynamics.num_layers
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "mixed"), "--tokenizer", str(other / "tokenizer.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "dynamics.safetensors: was trained with another tokenizer than" in err
    with pytest.raises(SystemExit):
        main([*base, "--out", str(tmp_path / "x"), "--tokenizer", str(first / "tokenizer.safetensors"), "--minutes", "0"])
    assert "--minutes: must be a positive number, got '0'" in capsys.readouterr().err
