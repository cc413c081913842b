"""Bad videos for `genie-play data import`: each is named on one line and skipped, never a traceback.

Every video here is made by PyAV in tmp_path (a few KB each) and imported through the real CLI.
Single bad files leave nothing to import, so the command ends with "nothing imported" and exit 2;
in a folder with good files the good ones are imported and the exit code is 1 (some skipped).
"""

import io
import os
import re
import struct
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from genie_play.cli import main
from genie_play.data import video_import
from genie_play.data.shards import open_folder
from robustness.registry import case, register

SIZE, FRAMES = 16, 4  # import flags of every test: tiny frames, short clips


def write_mp4(path, frames=8, size=32, fps=15, fmt=None):
    """A real H.264 video of `frames` different frames."""
    rng = np.random.default_rng(len(str(path)))
    with av.open(str(path), "w", format=fmt) as box:
        stream = box.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            box.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        box.mux(stream.encode(None))
    return path


def corrupt(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    return path


def cut_before_index(path):
    """A recording stopped before its end: an MP4's index (the moov box) is written last."""
    data = write_mp4(path).read_bytes()
    path.write_bytes(data[: data.index(b"moov") - 4])
    return path


def cut_inside_index(path):
    """An MP4 cut 40 bytes into its index: FFmpeg opens it but finds no streams."""
    data = write_mp4(path).read_bytes()
    path.write_bytes(data[: data.index(b"moov") + 36])
    return path


def zero_frames(path):
    """A valid AVI with a video stream and not a single frame in it."""
    with av.open(str(path), "w") as box:
        stream = box.add_stream("mpeg4", rate=15)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        box.start_encoding()
    return path


def audio_only(path):
    """Half a second of silence as AAC in an .mp4: a container, but no picture."""
    with av.open(str(path), "w") as box:
        stream = box.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for i in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            box.mux(stream.encode(frame))
        box.mux(stream.encode(None))
    return path


def claims_16000x12000(path):
    """10 KB of Motion-JPEG whose header and frames claim 16000x12000 pixels: 576 MB per decoded frame."""
    small = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(small, format="JPEG")
    jpeg = bytearray(small.getvalue())
    sof = jpeg.index(b"\xff\xc0")  # start of frame: length, precision, then height and width
    jpeg[sof + 5:sof + 9] = struct.pack(">HH", 12000, 16000)
    with av.open(str(path), "w") as box:
        stream = box.add_stream("mjpeg", rate=15)
        stream.width, stream.height, stream.pix_fmt = 16000, 12000, "yuvj420p"
        for t in range(6):
            packet = av.Packet(bytes(jpeg))
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, t, t, Fraction(1, 15)
            box.mux(packet)
    return path


def gif_claims_8000x8000(path):
    """A 9-frame 16x16 GIF whose screen descriptor claims 8000x8000 pixels."""
    frames = [Image.new("P", (16, 16), i) for i in range(9)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=66)
    data = bytearray(path.read_bytes())
    data[6:10] = struct.pack("<HH", 8000, 8000)  # logical screen width, height
    path.write_bytes(bytes(data))
    return path


def import_(*args):
    return main(["data", "import", *map(str, args), "--size", str(SIZE), "--frames", str(FRAMES)])


def shard_files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


BAD = [  # (case, file name, how to make it, the reason printed after "<file>: ")
    (register("videos", "a corrupt video (random bytes named .mp4)",
              "one line naming the file: cannot decode video; nothing imported, exit 2"),
     "corrupt.mp4", corrupt, r"cannot decode video \(Invalid data found when processing input\)"),
    (register("videos", "an MP4 cut off before its index was written (a recording that never finished)",
              "one line naming the file: cannot decode video (Invalid data found when processing input); exit 2"),
     "cut.mp4", cut_before_index, r"cannot decode video \(Invalid data found when processing input\)"),
    (register("videos", "an MP4 cut off inside its index",
              "one line naming the file: cannot decode video (no streams found: damaged or truncated?); exit 2"),
     "cut.mp4", cut_inside_index, r"cannot decode video \(no streams found: damaged or truncated\?\)"),
    (register("videos", "a video with zero frames", "one line naming the file: no frames; exit 2"),
     "empty.avi", zero_frames, r"no frames"),
    (register("videos", "an audio-only file named .mp4",
              "one line naming the file: has no video stream (audio only); exit 2"),
     "song.mp4", audio_only, r"has no video stream \(audio only\)"),
    (register("videos", "a 10 KB video whose frames claim 16000x12000 pixels",
              "one line: video is 16000x12000, over the 50,000,000-pixel limit (MAX_VIDEO_PIXELS), "
              "refused from the header before any frame is decoded; exit 2"),
     "huge.avi", claims_16000x12000, r"video is 16000x12000, over the 50,000,000-pixel limit"),
    (register("videos", "a GIF whose header claims 8000x8000 pixels",
              "one line: GIF is 8000x8000, over the 50,000,000-pixel limit; refused before decoding; exit 2"),
     "huge.gif", gif_claims_8000x8000, r"GIF is 8000x8000, over the 50,000,000-pixel limit"),
    (register("videos", "a video shorter than one clip",
              "one line naming the file: too short: 3 frames, a clip needs 4 (try a smaller --frames); exit 2"),
     "short.mp4", lambda p: write_mp4(p, frames=3), r"too short: 3 frames, a clip needs 4 \(try a smaller --frames\)"),
]


@pytest.mark.parametrize("c, name, make, reason", BAD, ids=[c.id for c, *_ in BAD])
def test_a_bad_video_is_one_line_naming_it(c, name, make, reason, tmp_path, capsys, monkeypatch):
    decoded = []
    real_to_square = video_import.to_square
    monkeypatch.setattr(video_import, "to_square", lambda *a: decoded.append(1) or real_to_square(*a))
    bad = make(tmp_path / name)
    assert import_(bad, "--out", tmp_path / "out") == 2
    captured = capsys.readouterr()
    assert re.fullmatch(
        rf"genie-play: skipped {re.escape(str(bad))}: {reason}\n"
        r"genie-play: error: nothing imported: no readable video, GIF or frame folder among 1 path\(s\) \(1 skipped\)\n",
        captured.err), captured.err
    assert captured.out == ""
    assert shard_files(tmp_path / "out") == []
    if "pixel limit" in reason:
        assert decoded == []  # refused from the header: not one frame was decoded


@case("videos", "a folder of good and bad videos, GIFs and stray files",
      "the good ones are imported; one 'skipped <file>: <why>' line per bad file; exit 1 (some skipped)")
def test_a_mixed_folder_imports_the_good_and_names_each_bad(tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    write_mp4(folder / "a_good.mp4", frames=8)  # 2 clips
    write_mp4(folder / "b_good.mkv", frames=4, fmt="matroska")  # 1 clip
    gif = [Image.new("RGB", (20, 20), (i * 50, 0, 0)) for i in range(4)]
    gif[0].save(folder / "c_good.gif", save_all=True, append_images=gif[1:], duration=66)  # 1 clip
    bad = {"corrupt.mp4": (corrupt, "cannot decode video"), "empty.avi": (zero_frames, "no frames"),
           "song.mp4": (audio_only, "has no video stream (audio only)"),
           "huge.avi": (claims_16000x12000, "over the 50,000,000-pixel limit"),
           "cut.mp4": (cut_inside_index, "damaged or truncated"),
           "notes.txt": (lambda p: p.write_text("not a video"), "not a video, GIF or image")}
    for name, (make, _) in bad.items():
        make(folder / name)

    assert import_(folder, "--out", tmp_path / "out") == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == len(bad) and all(line.startswith("genie-play: skipped ") for line in lines), lines
    for name, (_, why) in bad.items():
        [line] = [line for line in lines if f"{folder / name}: " in line]
        assert why in line, line
    assert captured.out == f"{tmp_path / 'out'}: imported 4 clips (16 frames) from 3 source(s) into 1 shard(s); skipped {len(bad)}\n"
    [shard] = open_folder(tmp_path / "out")
    assert [os.path.basename(c["source"]) for c in shard.clips] == ["a_good.mp4", "a_good.mp4", "b_good.mkv", "c_good.gif"]
    assert shard.frames.shape == (4, FRAMES, SIZE, SIZE, 3)


@case("videos", "a folder holding links to itself and to its parent",
      "each video is imported once and the walk ends; exit 0")
def test_a_folder_that_links_back_to_itself_is_read_once(tmp_path, capsys):
    top = tmp_path / "top"
    folder = top / "clips"
    folder.mkdir(parents=True)
    write_mp4(folder / "one.mp4", frames=4)
    (folder / "again").symlink_to(".")
    (folder / "up").symlink_to("..")
    assert import_(folder, "--out", tmp_path / "out") == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.startswith(f"{tmp_path / 'out'}: imported 1 clips (4 frames) from 1 source(s)")


@case("videos", "a bad video whose file name contains a line break",
      "still exactly one line per file (the break shown as a space); exit 2")
def test_a_name_with_a_line_break_is_still_one_line(tmp_path, capsys):
    bad = corrupt(tmp_path / "two\nlines.mp4")
    assert import_(bad, "--out", tmp_path / "out") == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"genie-play: skipped {tmp_path}/two lines.mp4: cannot decode video")
