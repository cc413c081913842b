"""The torch Dataset over shards, and `data preview`."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from genie_play.cli import main
from genie_play.data import generate as gen
from genie_play.data.dataset import ClipDataset
from genie_play.data.game import ACTIONS
from genie_play.data.record import GenerateSpec
from genie_play.data.shards import open_folder, write_shard
from genie_play.errors import GenieError


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    gen.generate(GenerateSpec(str(folder), episodes=5, frames=10, size=32, seed=3), quiet=True)
    return folder


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A folder as `data import` leaves it: no styles, no actions."""
    folder = tmp_path_factory.mktemp("imported")
    frames = np.random.default_rng(0).integers(0, 255, (2, 10, 32, 32, 3), dtype=np.uint8)
    clips = [{"source": "cat.mp4", "start": 10 * k, "fps": 30.0, "style": None, "actions": None, "resets": []} for k in range(2)]
    write_shard(folder, 0, frames, {"source": "import", "size": 32, "frames": 10, "fps": 30.0, "action_names": None, "clips": clips})
    return folder


def test_windows_are_random_deterministic_and_aligned_with_actions(world):
    ds = ClipDataset(world, clip_frames=4, seed=1)
    [shard] = open_folder(world)
    assert len(ds) == 5
    starts = set()
    for i in range(len(ds)):
        item = ds[i]
        assert item["frames"].dtype == torch.uint8 and item["frames"].shape == (4, 32, 32, 3)
        assert item["actions"].dtype == torch.int64 and item["actions"].shape == (3,)
        _, clip, start = ds.window(i)
        starts.add(start)
        assert np.array_equal(item["frames"].numpy(), shard.frames[clip, start:start + 4])
        truth = np.asarray(shard.clips[clip]["actions"][start:start + 3])
        cut = [t - 1 - start for t in shard.clips[clip]["resets"] if 0 <= t - 1 - start < 3]
        truth[cut] = -1  # a new level cutting in is no action's effect
        assert np.array_equal(item["actions"].numpy(), truth)
    assert len(starts) > 1
    again = ClipDataset(world, clip_frames=4, seed=1)
    assert all(torch.equal(again[i]["frames"], ds[i]["frames"]) for i in range(len(ds)))
    ds.set_epoch(1)
    assert [ds.window(i) for i in range(5)] != [again.window(i) for i in range(5)]


def test_mixed_folders_batch_together_and_pickle_cheaply(world, imported):
    ds = ClipDataset([world, imported], clip_frames=6)
    assert len(ds) == 7
    assert (ds[6]["actions"] == -1).all()  # imported video: actions unknown
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=7)))
    assert batch["frames"].shape == (7, 6, 32, 32, 3) and batch["actions"].shape == (7, 5)
    ds[0]
    assert len(pickle.dumps(ds)) < 50_000  # worker processes reopen the memory maps instead of copying them


def test_dataset_refuses_what_it_cannot_serve(world, tmp_path):
    with pytest.raises(GenieError, match="fewer than the 11 asked for"):
        ClipDataset(world, clip_frames=11)
    with pytest.raises(GenieError, match="no such folder"):
        ClipDataset(tmp_path / "nope", clip_frames=2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenieError, match="holds no shards"):
        ClipDataset(tmp_path / "empty", clip_frames=2)


def test_preview_png_and_gif(world, imported, tmp_path, capsys):
    png, gif = tmp_path / "p.png", tmp_path / "p.gif"
    assert main(["data", "preview", str(world), "--out", str(png)]) == 0
    assert main(["data", "preview", str(imported), "--out", str(gif), "--clips", "4"]) == 0
    assert "5 clips from" in capsys.readouterr().out
    with Image.open(png) as img:
        assert img.format == "PNG" and img.width > 6 * 64 and img.height > 2 * 64
        sheet = np.asarray(img.convert("RGB"))
    assert len(np.unique(sheet.reshape(-1, 3), axis=0)) > 50  # real frames, not an empty canvas
    with Image.open(gif) as img:
        assert img.format == "GIF" and img.n_frames == 10
    assert main(["data", "preview", str(world), "--out", str(tmp_path / "p.jpg")]) == 2
    assert "preview must be a .png or .gif" in capsys.readouterr().err


def test_preview_labels_name_the_true_actions(world, monkeypatch):
    from genie_play.data import preview

    written = []
    monkeypatch.setattr(preview.ImageDraw.ImageDraw, "text", lambda self, xy, text, **kw: written.append(text))
    preview.contact_sheet(preview._choose(open_folder(world), 5, 0))
    assert {"start"} <= set(written) and set(written) & set(ACTIONS)
    assert any(t.split()[0] in ("day", "night", "cave", "pattern", "photo", "pencil", "ink") for t in written)
