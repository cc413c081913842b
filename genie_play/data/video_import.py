"""`data import`: your own videos, animated GIFs and folders of frames -> the shard format.

Videos are decoded with PyAV (FFmpeg), GIFs and frame images with Pillow. The black border of a
video or GIF (letterbox bars, a console's blanking strip: rows or columns at its edge that are
black in every frame, as FFmpeg's cropdetect finds them) is cut off first: the world would carry
it as picture and, as the view moves, copy it inwards. Each frame is then
centre-cropped to a square and resized to the frame size; faster videos are thinned to about
`fps` frames per second; each source is cut into consecutive clips of `frames` frames. A file
that cannot be read is reported by name on one line and skipped; the rest is imported (and the
command's exit code, 1, says that something was skipped). Videos and GIFs whose frames are over
MAX_VIDEO_PIXELS are refused from their header, before any frame is decoded.
"""

from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from genie_play.config import GenieConfig
from genie_play.data.shards import next_index, write_shard
from genie_play.errors import GenieError, file_error
from genie_play.images import MAX_IMAGE_PIXELS, check_pixels, fit_frame, load_image, to_rgb
from genie_play.io import check_can_write

VIDEO_EXTS = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ogv", ".wmv", ".flv"}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
CLIPS_PER_SHARD = 64
DEFAULT_FPS = 15.0  # frame folders carry no timing; assume the built-in world's rate
# The same limit as pictures (8K video is 33 Mpx): a few-KB file can declare 16000x12000 frames,
# 576 MB each once decoded, so the size in the header is checked before decoding anything.
MAX_VIDEO_PIXELS = MAX_IMAGE_PIXELS
HELDOUT_SHARE = 0.1  # of each source's clips, its end, when a world is trained from footage
BORDER_SAMPLES = 64  # frames spread over a video that decide its black border
BLACK = 24  # the brightest level (of 255) a border pixel may have: FFmpeg cropdetect's default limit


@dataclass
class Source:
    path: Path
    kind: str  # "video" | "gif" | "frames"
    files: list[Path] = field(default_factory=list)  # the images of a frame folder, in order


def _natural(p: Path):
    """Sort key so frame2.png comes before frame10.png."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def find_sources(paths: list[str | Path], skip: Callable[[GenieError], None]) -> list[Source]:
    """Videos, GIFs and frame folders under `paths`; anything else is passed to `skip`."""
    sources: list[Source] = []
    seen: set[Path] = set()  # folders already walked: a link back to one must not loop forever
    for p in map(Path, paths):
        if not p.exists():
            skip(file_error(p, "no such file or folder"))
        elif p.is_dir():
            _walk(p, sources, skip, seen)
        elif p.suffix.lower() in VIDEO_EXTS:
            sources.append(Source(p, "video"))
        elif p.suffix.lower() == ".gif":
            sources.append(Source(p, "gif"))
        elif p.suffix.lower() in IMAGE_EXTS:
            skip(file_error(p, "a single image is not a video; pass the folder that holds its frames"))
        else:
            skip(file_error(p, f"not a video, GIF or folder of frames (unknown type '{p.suffix or p.name}')"))
    return sources


def _walk(folder: Path, sources: list[Source], skip, seen: set[Path]) -> None:
    real = folder.resolve()
    if real in seen:  # e.g. a link to "." or ".." inside the folder: each folder is read once
        return
    seen.add(real)
    first, images = len(sources), []
    for p in sorted(folder.iterdir(), key=_natural):
        ext = p.suffix.lower()
        if p.name.startswith("."):
            continue  # .DS_Store and friends
        if p.is_dir():
            _walk(p, sources, skip, seen)
        elif ext in IMAGE_EXTS:
            images.append(p)
        elif ext in VIDEO_EXTS:
            sources.append(Source(p, "video"))
        elif ext == ".gif":
            sources.append(Source(p, "gif"))
        else:
            skip(file_error(p, "not a video, GIF or image"))
    if images:
        sources.insert(first, Source(folder, "frames", images))  # the folder's own frames before its contents


def _reason(e: Exception) -> str:
    """The library's own words for a failure, without errno numbers or the file name repeated."""
    text = getattr(e, "strerror", None) or (str(e).splitlines()[0] if str(e) else type(e).__name__)
    return re.sub(r"^\[Errno -?\d+\] ", "", str(text))


def to_square(img: Image.Image, size: int, border: tuple[int, int, int, int] = (0, 0, 0, 0)) -> np.ndarray:
    """Cut off `border` (top, bottom, left, right), centre-crop to a square and resize to size×size
    RGB uint8, exactly as prompt images are."""
    rgb = to_rgb(img)
    top, bottom, left, right = border
    return fit_frame(rgb[top:rgb.shape[0] - bottom, left:rgb.shape[1] - right], size)


def sampled(frames, convert=lambda frame: frame) -> list:
    """At most 2 * BORDER_SAMPLES frames spread evenly over an iterable of any length, each passed
    through `convert` (only those kept: turning every decoded frame into RGB costs 20x the decode)."""
    kept, every = [], 1
    for i, frame in enumerate(frames):
        if i % every == 0:
            kept.append(convert(frame))
            if len(kept) == 2 * BORDER_SAMPLES:
                kept, every = kept[::2], every * 2
    return kept


def black_border(frames: list[np.ndarray]) -> tuple[int, int, int, int]:
    """How many rows at the top and bottom and columns at the left and right of frames (H, W, 3)
    uint8 (those the size of the first) are black in every frame; at most a quarter of a side each."""
    if not frames:
        return 0, 0, 0, 0
    dark = np.stack([f for f in frames if f.shape == frames[0].shape]).max(axis=(0, 3)) <= BLACK  # (H, W)

    def run(lines: np.ndarray) -> int:  # (L, K) from the edge inwards
        inside = np.flatnonzero(~lines[:len(lines) // 4].all(axis=1))
        return int(inside[0]) if len(inside) else len(lines) // 4

    return run(dark), run(dark[::-1]), run(dark.T), run(dark.T[::-1])


def _decoded(path: Path):
    """A video's decoded frames, up to its end or its first damage (read_video names that)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                if frame.width * frame.height > MAX_VIDEO_PIXELS:
                    return
                yield frame
    except (av.FFmpegError, OSError, ValueError, IndexError, UnicodeDecodeError):
        return


def read_video(path: Path, size: int, fps: float, skip) -> tuple[list[np.ndarray], float]:
    """Decoded, squared frames of a video file and their frame rate (after thinning to ~fps)."""
    import av  # PyAV: only `data import` needs FFmpeg

    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams:
                raise file_error(path, "cannot decode video (no streams found: damaged or truncated?)")
            if not container.streams.video:
                raise file_error(path, "has no video stream" + (" (audio only)" if container.streams.audio else ""))
            stream = container.streams.video[0]
            check_pixels(path, stream.codec_context.width, stream.codec_context.height, "video", MAX_VIDEO_PIXELS)
            # A first decode: full-size frames are not all kept, so the border is found before the frames are.
            border = black_border(sampled(_decoded(path), lambda frame: frame.to_ndarray(format="rgb24")))
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate or stream.guessed_rate or DEFAULT_FPS)
            keep = max(1, round(rate / fps)) if fps > 0 else 1
            for i, frame in enumerate(container.decode(stream)):
                check_pixels(path, frame.width, frame.height, "video", MAX_VIDEO_PIXELS)  # undeclared, or changed mid-stream
                if i % keep == 0:
                    frames.append(to_square(frame.to_image(), size, border))
    except GenieError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError, UnicodeDecodeError) as e:
        reason = _reason(e)
        if not frames:
            raise file_error(path, f"cannot decode video ({reason})") from None
        skip(file_error(path, f"damaged after {len(frames)} frames ({reason}); importing those"))
    return frames, rate / keep


def read_gif(path: Path, size: int, fps: float) -> tuple[list[np.ndarray], float]:
    try:
        with warnings.catch_warnings():  # Pillow's own bomb check warns (or raises) on the header
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            check_pixels(path, *img.size, "GIF", MAX_VIDEO_PIXELS)
            border = black_border(sampled(ImageSequence.Iterator(img), to_rgb))
            frames, durations = [], []
            for frame in ImageSequence.Iterator(img):
                frames.append(to_square(frame, size, border))
                durations.append(frame.info.get("duration") or 100)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise file_error(path, f"GIF is over the {MAX_VIDEO_PIXELS:,}-pixel limit") from None
    except (UnidentifiedImageError, OSError, ValueError, EOFError) as e:
        raise file_error(path, f"not a readable GIF ({_reason(e)})") from None
    rate = 1000.0 / max(float(np.mean(durations)), 1.0)
    keep = max(1, round(rate / fps)) if fps > 0 else 1
    return frames[::keep], rate / keep


def read_frames(source: Source, size: int, skip) -> tuple[list[np.ndarray], float]:
    frames = []
    for p in source.files:
        try:
            frames.append(fit_frame(load_image(p), size))
        except GenieError as e:
            skip(e)
    return frames, DEFAULT_FPS


def import_paths(paths: list[str | Path], out: str | Path, size: int = GenieConfig().image_size,
                 frames: int = GenieConfig().context_frames, fps: float = DEFAULT_FPS,
                 report: Callable[[str], None] | None = None, heldout: str | Path | None = None,
                 heldout_share: float = HELDOUT_SHARE) -> dict:
    """Import every readable source under `paths` into new shards in `out`; returns a summary.

    With `heldout`, the last `heldout_share` of each source's clips (its end, never trained on, not
    clips interleaved with training ones) go there instead, for evaluating a world of that footage."""
    if frames < 2:
        raise GenieError(f"--frames must be at least 2, got {frames}")
    if not 16 <= size <= 512:
        raise GenieError(f"--size must be between 16 and 512 pixels, got {size}")
    for folder in (out, heldout):  # a bad --out is refused before decoding anything
        if folder is not None:
            check_can_write(folder, folder=True)
    report = report or (lambda msg: print(f"genie-play: skipped {msg}", file=sys.stderr))
    skipped: list[str] = []

    def skip(err: GenieError) -> None:
        skipped.append(str(err))
        report(str(err))

    writer = _Writer(Path(out), size, frames)
    held = _Writer(Path(heldout), size, frames) if heldout is not None else None
    imported = 0
    for src in find_sources(paths, skip):
        try:
            if src.kind == "video":
                data, rate = read_video(src.path, size, fps, skip)
            elif src.kind == "gif":
                data, rate = read_gif(src.path, size, fps)
            else:
                data, rate = read_frames(src, size, skip)
        except GenieError as e:
            skip(e)
            continue
        if len(data) < frames:
            what = "no frames" if not data else f"too short: {len(data)} frames, a clip needs {frames}"
            skip(file_error(src.path, f"{what} (try a smaller --frames)" if data else what))
            continue
        starts = range(0, len(data) - frames + 1, frames)
        kept_back = int(len(starts) * heldout_share) if held is not None else 0
        for i, start in enumerate(starts):
            into = held if i >= len(starts) - kept_back else writer
            into.add(np.stack(data[start:start + frames]), {"source": str(src.path), "start": start, "fps": round(rate, 3),
                                                           "style": None, "actions": None, "resets": []})
        imported += 1
    writer.flush()
    if held is not None:
        held.flush()
    if writer.clips == 0:
        raise GenieError(f"nothing imported: no readable video, GIF or frame folder among {len(paths)} path(s)"
                         + (f" ({len(skipped)} skipped)" if skipped else ""))
    print(f"{out}: imported {writer.clips} clips ({writer.clips * frames} frames) from {imported} source(s) "
          f"into {writer.shards} shard(s)" + (f"; {held.clips} held out in {heldout}" if held else "")
          + (f"; skipped {len(skipped)}" if skipped else ""))
    return {"clips": writer.clips, "sources": imported, "shards": writer.shards, "skipped": skipped,
            "heldout_clips": held.clips if held else 0}


class _Writer:
    """Buffers clips and writes them as shards numbered after any already in the folder."""

    def __init__(self, out: Path, size: int, frames: int):
        self.out, self.size, self.frames = out, size, frames
        self.index = next_index(out)
        self.buf: list[tuple[np.ndarray, dict]] = []
        self.clips = self.shards = 0

    def add(self, clip: np.ndarray, meta: dict) -> None:
        self.buf.append((clip, meta))
        if len(self.buf) == CLIPS_PER_SHARD:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        rates = {m["fps"] for _, m in self.buf}
        meta = {"source": "import", "size": self.size, "frames": self.frames,
                "fps": rates.pop() if len(rates) == 1 else None, "action_names": None,
                "clips": [m for _, m in self.buf]}
        write_shard(self.out, self.index, np.stack([c for c, _ in self.buf]), meta)
        self.index += 1
        self.shards += 1
        self.clips += len(self.buf)
        self.buf = []
