"""`genie-play bench`: every promised number is measured, sane, printed and written as flat JSON."""

import json

import pytest

from conftest import save_tiny_world
from genie_play.cli import main
from genie_play.bench.latency import WARM_UP, BenchOptions, format_table, run_bench, warm_up


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_tiny_world(tmp_path_factory.mktemp("weights"))


def test_bench_measures_latency_its_phases_previews_and_memory(weights):
    r = run_bench(BenchOptions(weights=weights, device="cpu", steps=12, log=lambda _: None))
    assert 0 < r["latency_ms_p50"] <= r["latency_ms_p95"] <= r["latency_ms_max"]
    assert r["latency_ms_mean"] <= r["latency_ms_max"]
    assert r["fps"] > 0 and r["peak_rss_mb"] > 10 and r["load_s"] > 0 and r["reset_ms"] > 0
    assert r["first_frame_s"] > r["load_s"]
    # the phases of a step: the camera move, the MaskGIT rounds, the pixel copy
    assert all(r[f"{name}_ms_p50"] > 0 for name in ("move", "maskgit", "decode"))
    # previews: every action in one batched pass, and two at once
    assert r["preview_all_ms_p50"] > 0 and r["preview_two_ms_p50"] > 0
    # a keypress after a preview runs no network: far cheaper than computing a step
    assert r["precomputed_latency_ms_p50"] <= r["precomputed_latency_ms_max"]
    assert r["precomputed_latency_ms_p50"] < r["latency_ms_p50"]
    assert r["tokens_per_frame"] == 16 and r["image_size"] == 16 and r["maskgit_steps"] >= 1
    assert r["threads"] >= 1 and r["torch"] and r["parameters_m"] > 0
    assert not any("nocache" in k or "kv_cache" in k or "context" in k for k in r)  # no cache to measure
    table = format_table(r)
    for row in ("keypress latency p50", "camera move", "MaskGIT rounds", "decode", "preview all actions",
                "keypress after a preview p50"):
        assert row in table
    assert f"{r['maskgit_ms_p50']:10.2f} ms" in table and "KV cache" not in table


def test_warm_up_resets_on_the_prompt_then_takes_its_untimed_steps(weights):
    import numpy as np

    from genie_play.world.world_model import WorldModel

    world = WorldModel.load(weights, device="cpu")
    prompt = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    world.reset(prompt)
    world.step(0)
    warm_up(world, prompt, np.random.default_rng(0))
    assert world.num_frames == WARM_UP + 1  # the step before is gone: the prompt, then WARM_UP steps
    for _ in range(WARM_UP):
        world.undo()
    assert world.num_frames == 1 and np.array_equal(world.frame, prompt)


def test_quality_speed_curve_reports_latency_and_controllability_per_maskgit_steps(weights, generated_data):
    r = run_bench(BenchOptions(weights=weights, device="cpu", steps=3, curve=(1, 3),
                               data=generated_data, curve_clips=2, log=lambda _: None))
    for steps in (1, 3):
        assert r[f"curve_steps{steps}_latency_ms_p50"] > 0
        assert isinstance(r[f"curve_steps{steps}_delta_psnr"], float)
        assert r[f"curve_steps{steps}_dynamics_psnr"] > 0
    assert "maskgit_steps" in format_table(r).splitlines()[-3]


def test_bench_cli_prints_a_table_and_writes_json(weights, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--weights", str(weights), "--device", "cpu", "--steps", "5",
                 "--threads", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["threads"] == 1 and f"{data['latency_ms_p50']:10.2f} ms" in printed
    assert all(isinstance(v, (int, float, str)) or v is None for v in data.values())  # flat


@pytest.mark.parametrize("argv, message", [
    (["--curve", "1,x"], "--curve 1,x: expected MaskGIT step counts like 1,2,4,8"),
    (["--curve", "0,2"], "--curve 0,2: MaskGIT step counts must be at least 1"),
    (["--steps", "0"], "bench needs --steps of at least 1"),
    (["--env", "--env-batches", "1,x"], "--env-batches 1,x: expected batch sizes like 1,8,32"),
    (["--env", "--env-batches", "0"], "--env-batches 0: batch sizes must be at least 1"),
    (["--env", "--env-steps", "0"], "bench --env needs --env-steps and --env-batches of at least 1"),
])
def test_bench_cli_rejects_bad_options_in_one_line(weights, argv, message, capsys):
    assert main(["bench", "--weights", str(weights), "--device", "cpu", *argv]) == 2
    assert capsys.readouterr().err == f"genie-play: error: {message}\n"


def test_bench_without_weights_says_which_folder(tmp_path, capsys):
    assert main(["bench", "--weights", str(tmp_path / "none"), "--device", "cpu"]) == 2
    assert "weights folder not found" in capsys.readouterr().err


def test_bench_env_reports_steps_per_second_for_each_batch_size(weights, tmp_path, capsys):
    out = tmp_path / "env.json"
    assert main(["bench", "--env", "--env-batches", "1,3", "--env-steps", "4", "--weights", str(weights),
                 "--device", "cpu", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    for B in (1, 3):
        assert data[f"env_b{B}_steps_per_s"] == pytest.approx(B * 1000 / data[f"env_b{B}_step_ms_p50"], rel=0.5)
    assert "latency_ms_p50" not in data  # --env measures the environment only
    printed = capsys.readouterr().out
    assert "env steps/s" in printed and f"{data['env_b3_steps_per_s']:12.1f}" in printed
