"""Training from the command line on generated data: one process, and two data-parallel ranks."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from genie_play.cli import main
from genie_play.io import read_weights, save_weights
from genie_play.presets import PRESETS
from genie_play.world.lam import LatentActionModel
from genie_play.world.world_model import WorldModel


@pytest.fixture
def data(generated_data):
    return generated_data


def test_train_all_exports_three_networks_that_play(data, tmp_path):
    out = tmp_path / "run"
    argv = ["train", "all", "--data", str(data), "--out", str(out), "--preset", "tiny", "--steps", "3",
            "--batch", "2", "--sample-every", "3"]
    assert main(argv) == 0
    for network, path in (("lam", out / "lam" / "lam.safetensors"), ("dynamics", out / "dynamics.safetensors")):
        weights = read_weights(path, network)
        assert weights.summary["steps"] == 3 and getattr(weights.config.train, f"{network}_batch") == 2
    assert read_weights(out / "tokenizer.safetensors", "tokenizer").config == weights.config
    assert (out / "lam" / "samples" / "lam-00000003.png").exists()
    shipped = read_weights(out / "lam.safetensors").tensors  # the LAM the dynamics model was trained on
    assert all(torch.equal(t, read_weights(out / "lam" / "lam.safetensors").tensors[k]) for k, t in shipped.items())
    world = WorldModel.load(out, device="cpu")
    world.reset(np.zeros((16, 16, 3), np.uint8))
    assert world.step(1).shape == (16, 16, 3)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "lam").rglob("*") if p.is_file()}
    assert main([*argv, "--resume"]) == 0  # every stage is already done: nothing is lost or redone
    assert {p.name: p.stat().st_mtime_ns for p in (out / "lam").rglob("*") if p.is_file()} == before


def test_train_refuses_data_of_another_size(data, tmp_path, capsys):
    argv = ["train", "lam", "--data", str(data), "--out", str(tmp_path), "--preset", "default", "--steps", "1"]
    assert main(argv) == 2
    assert "shard-00000.json: clips have 8 frames, fewer than the 16 asked for" in capsys.readouterr().err
    assert main([*argv, "--set", "context_frames=4"]) == 2
    assert "clips are (4, 16, 16, 3) but this run needs (>=2, 64, 64, 3) frames" in capsys.readouterr().err
    lam = tmp_path / "lam.safetensors"
    save_weights(lam, "lam", LatentActionModel(PRESETS["tiny"]), PRESETS["tiny"])
    dynamics = ["train", "dynamics", "--data", str(data), "--out", str(tmp_path / "dyn"), "--steps", "1", "--lam", str(lam)]
    assert main([*dynamics, "--preset", "default", "--set", "num_actions=8", "--set", "image_size=16",
                 "--set", "tokenizer.bands=3"]) == 2  # a bad config is refused before anything runs
    assert "tokenizer.bands" in capsys.readouterr().err
    assert main([*dynamics, "--preset", "default"]) == 2
    assert "lam.safetensors: the LAM is for 16 px and 8 actions, the world for 64 px and 8" in capsys.readouterr().err


def _torchrun(cmd, env):
    """Run torchrun; one retry when a rank died by a signal (gloo's socket teardown on this 2-core
    machine aborted a rank about once in ten runs, after our code had finished), never on an error."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0 and "Signal 6 (SIGABRT)" in proc.stderr and "genie-play: error" not in proc.stderr:
        print("torchrun: a rank aborted; retrying once:\n" + proc.stderr[-1500:])
        shutil.rmtree(cmd[cmd.index("--out") + 1], ignore_errors=True)  # the run starts afresh
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    return proc


def test_two_ranks_with_torchrun_end_with_identical_weights(data, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "genie_play",
           "train", "lam", "--data", str(data), "--out", str(tmp_path), "--preset", "tiny", "--steps", "3",
           "--sample-every", "0"]
    proc = _torchrun(cmd, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "weights identical on all 2 ranks" in proc.stderr
    assert read_weights(tmp_path / "lam.safetensors").summary["ranks"] == 2
    # A time budget: the ranks measure their speed, agree on one length and stop together.
    budget = [*cmd[:cmd.index("--out") + 1], str(tmp_path / "budget"), "--preset", "tiny", "--steps", "1000000",
              "--minutes", "0.1", "--sample-every", "0"]
    proc = _torchrun(budget, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "weights identical on all 2 ranks" in proc.stderr and "steps fit in 0.1 minutes" in proc.stderr
    assert 60 < read_weights(tmp_path / "budget" / "lam.safetensors").summary["steps"] < 1_000_000


def test_train_all_without_data_is_the_whole_recipe_data_training_eval_and_keymap(tmp_path, monkeypatch):
    from genie_play.keymap import load_keymap
    from genie_play import recipe
    from genie_play.eval import evaluate as evaluation

    monkeypatch.setattr(recipe, "RECIPE_DATA", tuple((n, s, 6, seed) for n, s, _, seed in recipe.RECIPE_DATA))
    from conftest import short_rollouts

    short_rollouts(monkeypatch)
    out = tmp_path / "run"
    keymap_before_eval, evaluate = [], evaluation.evaluate
    monkeypatch.setattr(evaluation, "evaluate", lambda opts: keymap_before_eval.append((out / "keymap.toml").exists())
                        or evaluate(opts))
    argv = ["train", "all", "--out", str(out), "--preset", "tiny", "--steps", "2", "--sample-every", "0", "--device", "cpu"]
    assert main(argv) == 0
    for name in ("train", "heldout_levels", "heldout_styles"):
        assert (out / "data" / name / "summary.json").exists()
    for split in ("levels", "styles"):
        metrics = json.loads((out / "eval" / split / "metrics.json").read_text())
        assert "lam_nmi" in metrics and "dynamics_delta_psnr" in metrics
    keymap = load_keymap(out / "keymap.toml")
    assert len(keymap.bindings) == 8 and (out / "keymap.toml").read_text().startswith("# Proposed by")
    assert keymap_before_eval == [True, True]  # so the survival measures hold the key it labels right
    assert main(argv + ["--resume"]) == 0  # everything done: resuming only re-evaluates


def test_only_train_all_may_omit_data(tmp_path, capsys):
    assert main(["train", "lam", "--out", str(tmp_path), "--preset", "tiny"]) == 2
    assert "train lam needs --data DIR" in capsys.readouterr().err


def test_a_dynamics_run_fine_tunes_from_weights_and_refuses_bad_ones(data, tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["train", "all", "--data", str(data), "--out", str(first), "--preset", "tiny", "--steps", "2",
                 "--batch", "2", "--sample-every", "0"]) == 0
    base = ["train", "dynamics", "--data", str(data), "--preset", "tiny", "--steps", "1", "--batch", "2",
            "--lam", str(first / "lam.safetensors")]
    # One step at a vanishing learning rate from the first run's dynamics: what comes out is what went in.
    assert main([*base, "--out", str(tmp_path / "tuned"), "--init", str(first / "dynamics.safetensors"),
                 "--lr", "1e-12"]) == 0
    a, b = read_weights(first / "dynamics.safetensors"), read_weights(tmp_path / "tuned" / "dynamics.safetensors")
    assert all(torch.allclose(a.tensors[k], b.tensors[k], atol=1e-6) for k in a.tensors)
    capsys.readouterr()
    # Weights of another network, or of another size: one line naming the file.
    assert main([*base, "--out", str(tmp_path / "x"), "--init", str(first / "lam.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "lam.safetensors: holds lam weights, but dynamics weights are needed" in err
    assert main([*base, "--out", str(tmp_path / "y"), "--init", str(first / "dynamics.safetensors"),
                 "--set", "dynamics.num_layers=2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "dynamics.safetensors: missing" in err
    with pytest.raises(SystemExit):
        main([*base, "--out", str(tmp_path / "z"), "--minutes", "0"])
    assert "--minutes: must be a positive number, got '0'" in capsys.readouterr().err


def _footage(folder, clips_frames=80, seed=0):
    """A GIF of a camera panning a blocky world, with a bobbing sprite: footage without labels."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    world = np.kron(rng.integers(0, 255, (8, 100, 3)), np.ones((4, 4, 1))).astype(np.uint8)
    frames, x, step = [], 0, 2
    for t in range(clips_frames):
        if t % 10 == 0:
            step = int(rng.choice([-2, 0, 2]))
        x = int(np.clip(x + step, 0, 360))
        frame = world[:, x:x + 32].copy()
        frame[12 + t % 8:18 + t % 8, 14:18] = 255
        frames.append(Image.fromarray(frame))
    path = folder / f"game{seed}.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=66, loop=0)
    return path


def test_train_all_from_videos_names_the_keys_evaluates_and_writes_a_card(tmp_path, capsys, monkeypatch):
    from conftest import short_rollouts

    short_rollouts(monkeypatch)
    footage = tmp_path / "footage"
    footage.mkdir()
    _footage(footage, seed=0), _footage(footage, seed=1)
    (footage / "broken.mp4").write_bytes(b"\0" * 100)
    out = tmp_path / "world"
    argv = ["train", "all", "--videos", str(footage), "--out", str(out), "--preset", "tiny", "--steps", "2",
            "--sample-every", "0", "--device", "cpu"]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "broken.mp4: cannot decode video" in printed.err and f"Play it: genie-play play --weights {out}" in printed.out
    for stage in ("train lam", "code transitions", "train dynamics"):  # a progress bar per stage
        assert stage in printed.err, stage
    assert json.loads((out / "dynamics" / "log.jsonl").read_text().splitlines()[-1])["step"] == 2
    imported = json.loads((out / "data" / "imported.json").read_text())
    assert imported["clips"] == 36 and imported["heldout_clips"] == 4  # the end of each GIF is held out
    keymap = (out / "keymap.toml").read_text()
    assert keymap.startswith("# Proposed by `genie-play train all --videos`") and "held-out transitions: view" in keymap
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert "kept_8_heldout" in metrics and "lam_code0_effect" in metrics and "dynamics_delta_psnr" in metrics
    card = (out / "MODEL_CARD.md").read_text()
    assert "| lam |" in card and "| dynamics |" in card and "| eval |" in card and "| code | label | keys |" in card
    assert set(json.loads((out / "stages.json").read_text())) == {"data", "lam", "dynamics", "calibrate", "eval"}
    bias = json.loads((out / "calibration.json").read_text())["carry_bias"]  # chosen on training clips
    assert f"The sampler's carry bias is {bias:g}" in card
    assert read_weights(out / "dynamics.safetensors").config.sampler.carry_bias == bias
    # The world is played on its own footage: play, its gallery and the RL environment start from
    # held-out first frames, not the bundled platformer picture.
    from PIL import Image

    from genie_play.env.common import prompt_pool
    from genie_play.eval.evaluate import held_out_clips
    from genie_play.paths import default_prompt, weights_prompts

    prompts = sorted(p.name for p in (out / "prompts").glob("*.png"))
    assert prompts[0] == "default.png" and 2 <= len(prompts) <= 6
    config = read_weights(out / "dynamics.safetensors").config
    first = held_out_clips(out / "data" / "heldout", config, 1, 0)[0][0, 0].numpy()
    assert np.array_equal(np.asarray(Image.open(out / "prompts" / "default.png")), first)
    assert default_prompt(out) == out / "prompts" / "default.png" and weights_prompts(out) == out / "prompts"
    assert default_prompt(tmp_path) != default_prompt(out)  # a folder without prompts: the bundled one
    assert prompt_pool(None, type("World", (), {"source": out})())[0].parent == out / "prompts"
    assert main(["play", "--weights", str(out), "--headless", "--keys", "code:0*2", "--out", str(tmp_path / "p.gif")]) == 0
    assert json.loads((tmp_path / "p.json").read_text())["prompt"] == str(out / "prompts" / "default.png")


def test_a_footage_worlds_card_names_its_screen_overlay_only_when_it_has_one(tmp_path):
    from genie_play.footage import model_card

    imported = {"clips": 40, "sources": 1, "heldout_clips": 4}
    card = model_card(tmp_path, {"overlay_rows": [0, 7]}, [], None, imported)
    assert "0 rows at the top and 7 at the bottom stay put" in card
    assert "overlay" not in model_card(tmp_path, {"overlay_rows": [0, 0]}, [], None, imported)


def test_a_world_whose_codes_steer_nothing_says_so_before_the_dynamics_stage_and_on_its_card(tmp_path, capsys,
                                                                                           monkeypatch):
    from genie_play import footage
    from genie_play.eval.code_effects import CodeEffect, propose_keymap

    still = [CodeEffect(c, 100, (0.0, 0.0), (0.0, 0.0), 0.02) for c in range(8)]  # Private Eye's LAM: no code moves
    scroll = [CodeEffect(0, 100, (3.0, 0.0), (0.0, 0.0), 0.02)] + still[1:]
    imported = {"clips": 40, "sources": 1, "heldout_clips": 4}
    assert "does not steer" in footage.model_card(tmp_path, {}, still, propose_keymap(still), imported)
    assert "does not steer" not in footage.model_card(tmp_path, {}, scroll, propose_keymap(scroll), imported)
    for effects, warned in ((still, True), (scroll, False)):
        monkeypatch.setattr(footage, "code_effects", lambda *args, e=effects: e)
        footage.check_steering(tmp_path / "lam.safetensors", tmp_path, "cpu")
        err = capsys.readouterr().err
        assert ("no arrow key will steer" in err and "lam.safetensors" in err and len(err.splitlines()) == 1) == warned


def test_footage_that_cannot_make_a_world_is_refused_in_one_line(tmp_path, capsys):
    short = tmp_path / "short"
    short.mkdir()
    _footage(short, clips_frames=40)
    argv = ["train", "all", "--preset", "tiny", "--steps", "1", "--device", "cpu", "--sample-every", "0"]
    assert main([*argv, "--videos", str(short), "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "too little footage for a world: 9 training clips" in err
    from PIL import Image

    still = tmp_path / "still"  # a folder of frames (a GIF would merge identical frames into one)
    still.mkdir()
    frame = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    for t in range(200):
        frame.save(still / f"frame{t}.png")
    assert main([*argv, "--videos", str(still), "--out", str(tmp_path / "b")]) == 2
    assert "every frame of the footage is the same picture" in capsys.readouterr().err
    assert main([*argv, "--videos", str(still), "--data", str(still), "--out", str(tmp_path / "c")]) == 2
    assert "--videos is for `train all` without --data" in capsys.readouterr().err


def test_train_all_from_videos_fits_the_lam_in_a_budget_unless_told_its_length(tmp_path, monkeypatch):
    # The LAM's preset length is sized for the built-in world's 2,000 episodes (about two hours on a
    # 2-core CPU); footage to a world must fit in about one, so `--videos` alone sets a wall-clock budget.
    import genie_play.recipe

    seen = []
    monkeypatch.setattr(genie_play.recipe, "train_networks", lambda config, opts: seen.append(opts.minutes))
    argv = ["train", "all", "--videos", str(tmp_path), "--out", str(tmp_path / "w"), "--preset", "tiny"]
    for extra in ([], ["--steps", "5"], ["--minutes", "3"]):
        assert main([*argv, *extra]) == 0
    assert seen == [PRESETS["tiny"].train.footage_lam_minutes, None, 3.0]
    assert PRESETS["default"].train.footage_lam_minutes == 22.0
    assert main(["train", "all", "--out", str(tmp_path / "g"), "--preset", "tiny"]) == 0  # built-in data: its steps
    assert seen[-1] is None
