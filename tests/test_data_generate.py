"""`data generate`: deterministic bytes for any worker count, atomic resumable shards, aligned actions, a balanced policy."""

import dataclasses
import json

import numpy as np
import pytest

from genie_play.cli import main
from genie_play.data import generate as gen
from genie_play.data import record
from genie_play.data.game import ACTIONS, Platformer
from genie_play.data.record import GenerateSpec, record_clip
from genie_play.data.shards import list_shards, open_shard, read_meta
from genie_play.data.styles import HELDOUT_FAMILIES, TRAIN_FAMILIES
from genie_play.errors import GenieError


@pytest.fixture
def small_shards(monkeypatch):
    """Four clips per shard, so a handful of clips make several shards."""
    monkeypatch.setattr(record, "SHARD_BYTES", 4 * 6 * 32 * 32 * 3)


def spec(tmp_path, name, **kw):
    return GenerateSpec(**{"out": str(tmp_path / name), "episodes": 10, "frames": 6, "size": 32, "seed": 5, **kw})


def shard_bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name.startswith("shard-")}


def test_same_seed_identical_bytes_for_any_worker_count(tmp_path, small_shards):
    a, b, c = spec(tmp_path, "a"), spec(tmp_path, "b"), spec(tmp_path, "c", seed=6)
    summary = gen.generate(a, workers=1, quiet=True)
    gen.generate(b, workers=2, quiet=True)
    gen.generate(c, workers=1, quiet=True)
    files = shard_bytes(tmp_path / "a")
    assert len(files) == 6 and summary["shards"] == 3 and summary["clips"] == 10  # 4 + 4 + 2 clips
    assert files == shard_bytes(tmp_path / "b")
    assert files != shard_bytes(tmp_path / "c")
    s = open_shard(tmp_path / "a" / "shard-00000.json")
    assert s.frames.shape == (4, 6, 32, 32, 3) and s.frames.dtype == np.uint8
    assert isinstance(s.frames, np.memmap)
    assert s.meta["action_names"] == list(ACTIONS) and s.meta["fps"] == 15


def test_metadata_per_clip(tmp_path):
    gen.generate(spec(tmp_path, "d", episodes=3), quiet=True)
    meta = read_meta(tmp_path / "d" / "shard-00000.json")
    for clip in meta["clips"]:
        assert len(clip["actions"]) == 5 and all(0 <= a < len(ACTIONS) for a in clip["actions"])
        assert clip["style"]["family"] in TRAIN_FAMILIES and "view_tiles" in clip["style"]
        assert all(1 <= t < 6 for t in clip["resets"])
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["frames"] == 18 and sum(summary["actions"].values()) == 15 and sum(summary["styles"].values()) == 3


def test_actions_are_aligned_with_frame_transitions(tmp_path, monkeypatch):
    """actions[t] takes frame t to frame t+1: a jump at index 3 first shows in frame 4."""
    monkeypatch.setattr(record, "MAX_WARMUP", 0)
    script = iter(["idle", "idle", "idle", "jump", "idle", "idle"])
    monkeypatch.setattr(record.ExplorerPolicy, "act", lambda self, game: ACTIONS.index(next(script)))
    # Frames that show the player's height, so the test reads the state each frame was drawn from.
    monkeypatch.setattr(Platformer, "render", lambda self, labels=False: np.full((32, 32, 3), round(self.y * 20) % 256, np.uint8))
    out = np.zeros((6, 32, 32, 3), np.uint8)
    clip = record_clip(spec(tmp_path, "e"), 0, out)
    heights = out[:, 0, 0, 0].astype(int)
    assert clip["actions"][3] == ACTIONS.index("jump") and clip["resets"] == []
    assert heights[0] == heights[1] == heights[2] == heights[3] != heights[4]


def test_a_killed_run_resumes_without_corruption(tmp_path, small_shards, monkeypatch):
    clean = spec(tmp_path, "clean")
    gen.generate(clean, quiet=True)
    killed = spec(tmp_path, "killed")
    real_write = gen.write_shard

    def dies_in_shard_1(folder, index, frames, meta):
        if index == 1:  # killed after the frames file, before the metadata that completes the shard
            real_write(tmp_path / "scratch", 0, frames, meta)
            (tmp_path / "killed" / "shard-00001.npy").write_bytes((tmp_path / "scratch" / "shard-00000.npy").read_bytes()[:999])
            (tmp_path / "killed" / ".shard-00002.npy.x1y2.tmp").write_bytes(b"half a shard")
            raise KeyboardInterrupt
        return real_write(folder, index, frames, meta)

    monkeypatch.setattr(gen, "write_shard", dies_in_shard_1)
    with pytest.raises(KeyboardInterrupt):
        gen.generate(killed, quiet=True)
    assert [p.name for p in list_shards(tmp_path / "killed")] == ["shard-00000.json"]  # only complete shards count
    monkeypatch.setattr(gen, "write_shard", real_write)
    made = []
    monkeypatch.setattr(gen, "record_clips", lambda s, eps: made.append(eps) or record.record_clips(s, eps))
    gen.generate(killed, quiet=True)
    assert [e for r in made for e in r] == list(range(4, 10))  # shard 0 was not made again
    assert shard_bytes(tmp_path / "killed") == shard_bytes(tmp_path / "clean")
    assert not list((tmp_path / "killed").glob("*.tmp"))


def test_rerun_with_other_settings_is_refused(tmp_path):
    gen.generate(spec(tmp_path, "f", episodes=2), quiet=True)
    with pytest.raises(GenieError, match=r"shard-00000\.json: was made with different settings"):
        gen.generate(spec(tmp_path, "f", episodes=2, size=48), quiet=True)


def test_heldout_split_uses_only_heldout_families(tmp_path):
    gen.generate(spec(tmp_path, "h", episodes=6, split="heldout"), quiet=True)
    families = {c["style"]["family"] for c in read_meta(tmp_path / "h" / "shard-00000.json")["clips"]}
    assert families and families <= set(HELDOUT_FAMILIES)
    train = [record_clip(spec(tmp_path, "x", frames=16), e, None)["actions"] for e in range(5)]
    held = [record_clip(spec(tmp_path, "x", frames=16, split="heldout"), e, None)["actions"] for e in range(5)]
    assert train != held  # held-out episodes come from different seeds, not just different looks


def test_policy_uses_every_action_at_least_5_percent(tmp_path):
    s = spec(tmp_path, "p", frames=16)
    counts = np.zeros(len(ACTIONS))
    for e in range(400):
        counts += np.bincount(record_clip(s, e, None)["actions"], minlength=len(ACTIONS))
    freq = counts / counts.sum()
    assert freq.min() >= 0.05, dict(zip(ACTIONS, freq.round(3)))
    forward = freq[[ACTIONS.index(a) for a in ("right", "jump_right", "run_right")]].sum()
    assert forward > 0.4  # mostly heading right, like a player


def test_drawing_does_not_change_the_actions(tmp_path):
    s = spec(tmp_path, "q")
    out = np.zeros((6, 32, 32, 3), np.uint8)
    assert record_clip(s, 3, out)["actions"] == record_clip(s, 3, None)["actions"]
    assert out.std() > 0


def test_cli_generate_prints_a_summary(tmp_path, capsys):
    assert main(["data", "generate", "--out", str(tmp_path / "g"), "--episodes", "2", "--frames", "4",
                 "--size", "32", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "2 clips, 8 frames, 1 shards" in out and "clips/s" in out and "actions: idle" in out and "styles:" in out
    assert main(["data", "generate", "--out", str(tmp_path / "g"), "--episodes", "0"]) == 2
    assert "--episodes must be at least 1" in capsys.readouterr().err


def test_spec_rejects_bad_values(tmp_path):
    for bad in (dict(frames=1), dict(size=8), dict(split="test")):
        with pytest.raises(GenieError):
            dataclasses.replace(spec(tmp_path, "z"), **bad).check()
