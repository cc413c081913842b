"""`genie-play bench`: every promised number is measured, sane, printed and written as flat JSON."""

import json

import pytest

from conftest import save_tiny_world
from genie_play.cli import main
from genie_play.eval.bench import BenchOptions, format_table, run_bench


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_tiny_world(tmp_path_factory.mktemp("weights"))


def test_bench_measures_latency_split_previews_memory_and_the_kv_cache(weights):
    r = run_bench(BenchOptions(weights=weights, device="cpu", steps=12, nocache_steps=3, log=lambda _: None))
    assert 0 < r["latency_ms_p50"] <= r["latency_ms_p95"] <= r["latency_ms_max"]
    assert r["fps"] > 0 and r["peak_rss_mb"] > 10 and r["load_s"] > 0 and r["reset_ms"] > 0
    assert r["first_frame_s"] > r["load_s"]
    # the phases of a step add up to (about) the step itself
    phases = r["maskgit_ms_p50"] + r["context_ms_p50"] + r["decode_ms_p50"]
    assert 0.5 * r["latency_ms_p50"] < phases <= 1.3 * r["latency_ms_p50"]
    assert r["nocache_latency_ms_p50"] > 0 and r["kv_cache_speedup"] == pytest.approx(
        r["nocache_latency_ms_p50"] / r["latency_ms_p50"])
    # a keypress after a preview runs no network: far cheaper than computing a step
    assert r["precomputed_latency_ms_p50"] < r["latency_ms_p50"]
    assert r["context_frames"] == 4 and r["tokens_per_frame"] == 16 and r["threads"] >= 1 and r["torch"]
    table = format_table(r)
    assert "keypress latency p50" in table and "KV cache speed-up" in table


def test_quality_speed_curve_reports_latency_and_controllability_per_maskgit_steps(weights, generated_data):
    r = run_bench(BenchOptions(weights=weights, device="cpu", steps=3, nocache_steps=0, curve=(1, 3),
                               data=generated_data, curve_clips=2, log=lambda _: None))
    for steps in (1, 3):
        assert r[f"curve_steps{steps}_latency_ms_p50"] > 0
        assert isinstance(r[f"curve_steps{steps}_delta_psnr"], float)
        assert r[f"curve_steps{steps}_dynamics_psnr"] > 0
    assert "nocache_latency_ms_p50" not in r
    assert "maskgit_steps" in format_table(r).splitlines()[-3]


def test_bench_cli_prints_a_table_and_writes_json(weights, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--weights", str(weights), "--device", "cpu", "--steps", "5", "--nocache-steps", "1",
                 "--threads", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["threads"] == 1 and f"{data['latency_ms_p50']:10.2f} ms" in printed
    assert all(isinstance(v, (int, float, str)) or v is None for v in data.values())  # flat


@pytest.mark.parametrize("argv, message", [
    (["--curve", "1,x"], "--curve 1,x: expected MaskGIT step counts like 1,2,4,8"),
    (["--curve", "0,2"], "--curve 0,2: MaskGIT step counts must be at least 1"),
    (["--steps", "0"], "bench needs --steps of at least 1"),
    (["--nocache-steps", "-1"], "bench needs --nocache-steps of at least 0"),
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
