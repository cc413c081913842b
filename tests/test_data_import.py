"""`data import`: videos, GIFs and frame folders become shards; bad files are named and skipped."""

import os

import av
import numpy as np
import pytest
from PIL import Image

from genie_play.cli import main
from genie_play.data.record import GenerateSpec, record_clip
from genie_play.data.shards import open_folder
from genie_play.data import video_import
from genie_play.data.video_import import import_paths, to_square



def write_mp4(path, frames, fps=15):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "12"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def psnr(a, b):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 10 * np.log10(255**2 / mse)


@pytest.fixture(scope="module")
def clip():
    out = np.zeros((16, 64, 64, 3), np.uint8)
    record_clip(GenerateSpec("unused", 1, frames=16, size=64, seed=2), 0, out)
    return out


def test_a_generated_video_round_trips_through_mp4(tmp_path, clip):
    write_mp4(tmp_path / "world.mp4", clip)
    summary = import_paths([tmp_path / "world.mp4"], tmp_path / "shards", size=64, frames=16, fps=15)
    assert summary["clips"] == 1 and summary["skipped"] == []
    [shard] = open_folder(tmp_path / "shards")
    back = np.asarray(shard.frames[0])
    assert back.shape == clip.shape
    assert psnr(back, clip) > 30  # lossy H.264 with 4:2:0 colour, but the same pictures in the same order
    assert all(psnr(back[t], clip[t]) > psnr(back[t], clip[(t + 8) % 16]) for t in range(16))
    meta = shard.clips[0]
    assert meta["actions"] is None and meta["style"] is None and meta["fps"] == 15 and meta["source"].endswith("world.mp4")
    assert shard.meta["source"] == "import"


def test_a_black_border_is_cut_off_before_the_frame_is_squared(tmp_path, clip):
    # A console's blanking strip down the left and letterbox bars: black in every frame. Kept, the
    # world carries them as picture and copies the black inwards as the view moves.
    bordered = np.zeros((16, 72, 68, 3), np.uint8)
    bordered[:, 4:68, 4:] = clip
    write_mp4(tmp_path / "bordered.mp4", bordered)
    import_paths([tmp_path / "bordered.mp4"], tmp_path / "shards", size=64, frames=16, fps=15)
    [shard] = open_folder(tmp_path / "shards")
    assert psnr(np.asarray(shard.frames[0]), clip) > 30  # the picture itself, not a shrunk, squared copy
    frames = [np.full((40, 40, 3), 200, np.uint8) for _ in range(3)]
    for f in frames:
        f[:, :2] = 10  # black enough, in every frame
    frames[1][20, 3] = 5  # a third column that is black only in some frames is picture
    frames[2][20, 2] = 90
    assert video_import.black_border(frames) == (0, 0, 2, 0)
    assert video_import.black_border([np.zeros((40, 40, 3), np.uint8)]) == (10, 10, 10, 10)  # never past a quarter
    converted = []
    kept = video_import.sampled(range(10_000), lambda i: converted.append(i) or -i)
    assert len(kept) <= 2 * video_import.BORDER_SAMPLES and kept[0] == 0 and kept[-1] < -9_000  # spread to the end
    assert len(converted) < 1_500  # only frames it keeps are converted (RGB costs 20x the decode)


def test_fast_videos_are_thinned_and_cut_into_clips(tmp_path, clip):
    doubled = np.repeat(np.concatenate([clip, clip]), 2, axis=0)  # 64 frames at 30 fps
    write_mp4(tmp_path / "fast.mp4", doubled, fps=30)
    summary = import_paths([tmp_path / "fast.mp4"], tmp_path / "out", size=32, frames=8, fps=15)
    [shard] = open_folder(tmp_path / "out")
    assert summary["clips"] == 4 and shard.frames.shape == (4, 8, 32, 32, 3)  # 32 frames kept -> 4 clips
    assert shard.clips[1]["start"] == 8 and shard.clips[0]["fps"] == 15


def test_bad_files_are_named_and_skipped_while_good_ones_import(tmp_path, clip, capsys):
    write_mp4(tmp_path / "good.mp4", clip)
    (tmp_path / "corrupt.mp4").write_bytes(os.urandom(4000))
    (tmp_path / "notes.txt").write_text("not a video")
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for t in range(10):
        Image.fromarray(clip[t]).save(frames_dir / f"f{t}.png")
    (frames_dir / "f10.png").write_text("a text file pretending to be an image")
    gif = [Image.fromarray(f).resize((48, 40)) for f in clip[:9]]
    gif[0].save(tmp_path / "anim.gif", save_all=True, append_images=gif[1:], duration=66, loop=0)
    paths = [tmp_path / n for n in ("good.mp4", "corrupt.mp4", "notes.txt", "frames", "anim.gif", "missing.webm")]
    assert main(["data", "import", *map(str, paths), "--out", str(tmp_path / "out"), "--frames", "8"]) == 1  # some skipped
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    for name, why in [("corrupt.mp4", "cannot decode video"), ("notes.txt", "not a video, GIF or folder of frames"),
                      ("f10.png", "not an image file"), ("missing.webm", "no such file or folder")]:
        assert any(name in line and why in line for line in err), (name, err)
    assert len(err) == 4 and all(line.startswith("genie-play: skipped ") for line in err)
    [shard] = open_folder(tmp_path / "out")
    sources = [os.path.basename(c["source"]) for c in shard.clips]
    assert sources == ["good.mp4", "good.mp4", "frames", "anim.gif"]  # 16 + 10 + 9 frames -> 2 + 1 + 1 clips
    assert "imported 4 clips" in captured.out and "skipped 4" in captured.out


def test_nothing_readable_is_an_error(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("x")
    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), "w") as container:  # a valid file with a video stream but zero frames
        stream = container.add_stream("libx264", rate=15)
        stream.width = stream.height = 32
    assert main(["data", "import", str(tmp_path / "a.txt"), str(empty), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "a.txt: not a video" in err and "empty.mp4:" in err
    assert err.strip().endswith("nothing imported: no readable video, GIF or frame folder among 2 path(s) (2 skipped)")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_imports_append_to_a_folder_and_crop_to_square(tmp_path, clip):
    for name in ("one", "two"):
        d = tmp_path / name
        d.mkdir()
        for t in range(4):
            Image.fromarray(np.tile(clip[t], (1, 2, 1))).save(d / f"{t:03d}.png")  # 64x128: twice as wide
        import_paths([d], tmp_path / "out", size=64, frames=4)
    shards = open_folder(tmp_path / "out")
    assert [s.meta_path.name for s in shards] == ["shard-00000.json", "shard-00001.json"]
    # The centre crop of [clip | clip] is the right half of the first copy and the left half of the second.
    expected = np.concatenate([clip[0][:, 32:], clip[0][:, :32]], axis=1)
    assert np.array_equal(np.asarray(shards[0].frames[0, 0]), expected)
    small = to_square(Image.fromarray(clip[0]), 32)
    assert small.shape == (32, 32, 3) and small.dtype == np.uint8
