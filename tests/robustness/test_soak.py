"""Soak: long random play (steps, previews, undo, reset) keeps memory flat and the undo history bounded.
CI plays 1,500 moves with tiny weights; `genie-play bench --soak 10000` is the full run."""

import json


from conftest import save_tiny_world
from genie_play.cli import main
from genie_play.bench.latency import BenchOptions
from genie_play.bench.soak import run_soak
from genie_play.world.world_model import MAX_UNDO
from robustness.registry import case
from test_app_loop import one_thread  # noqa: F401 (autouse: tiny models run fastest on one thread)


@case("play", "1,500 random moves with undo, reset and previews mixed in (10,000 with `genie-play bench --soak 10000`)",
      "memory flat after warm-up (RSS reported at start and end), the undo history never over its limit, every frame "
      "well formed")
def test_long_random_play_keeps_memory_flat_and_the_history_bounded(tmp_path):
    weights = save_tiny_world(tmp_path)
    r = run_soak(BenchOptions(weights=weights, device="cpu", log=lambda _: None), 1500, check_every=50, warmup=300)
    assert r["soak_bad_frames"] == 0
    assert 1 < r["soak_history_max"] <= r["soak_history_limit"] == MAX_UNDO
    assert r["soak_checks"] >= 20
    assert r["soak_undo"] > 0 and r["soak_reset"] > 0 and r["soak_preview_then_step"] > 0
    assert r["soak_rss_growth_mb"] < 30, r  # a leak of even 20 KB per move would show here


def test_soak_cli_writes_json_and_refuses_zero_moves(tmp_path, capsys):
    weights = save_tiny_world(tmp_path / "w")
    out = tmp_path / "soak.json"
    assert main(["bench", "--soak", "30", "--weights", str(weights), "--device", "cpu", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["soak_steps"] == 30 and data["soak_history_limit"] == MAX_UNDO
    assert f"undo history: at most {data['soak_history_max']} frames (limit {MAX_UNDO})" in capsys.readouterr().out
    assert main(["bench", "--soak", "0", "--weights", str(weights), "--device", "cpu"]) == 2
    assert capsys.readouterr().err == "genie-play: error: bench --soak needs at least 1 step\n"


