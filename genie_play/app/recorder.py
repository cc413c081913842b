"""Writing played frames: a GIF, an MP4, or a folder of numbered PNGs, with the actions as JSON.

Shared by recordings in the window and by headless play. Every file is written atomically.
Frames are upscaled by whole pixels (nearest neighbour), so the model's pixels stay crisp.
GIFs merge identical consecutive frames into one longer frame (Pillow does this; timing is kept);
MP4 and PNG folders keep every frame, and the JSON beside each output lists every step.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from genie_play.errors import GenieError, file_error
from genie_play.io import atomic_path, check_can_write, write_json

FPS = 15  # the built-in world's frame rate, so clips play at the speed the model learned
OUTPUT_KINDS = ".gif, .mp4, or a folder name with no extension (numbered PNG frames)"


def upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscale by a whole factor: every model pixel becomes a scale x scale block."""
    return frame if scale == 1 else np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)


def check_output(path: str | Path) -> Path:
    """Refuse an output path we cannot write before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in ("", ".gif", ".mp4"):
        raise file_error(path, f"unknown output type '{path.suffix}' (use {OUTPUT_KINDS})")
    if path.suffix == "" and path.exists() and not path.is_dir():
        raise file_error(path, "exists and is not a folder (an output with no extension is a folder of PNG frames)")
    check_can_write(path)  # a file where one of its folders must be
    return path


def sidecar_path(path: str | Path) -> Path:
    """Where the actions JSON goes: beside a video (run.gif -> run.json), inside a frame folder."""
    path = Path(path)
    return path / "actions.json" if path.suffix == "" else path.with_suffix(".json")


def write_frames(path: str | Path, frames: list[np.ndarray], fps: int = FPS, scale: int = 1) -> Path:
    """Write RGB uint8 frames as the kind of output `path` names; returns the path."""
    path = check_output(path)
    if not frames:
        raise GenieError(f"{path}: nothing to write (no frames)")
    frames = [upscale(f, scale) for f in frames]
    kind = path.suffix.lower()
    if kind == ".gif":
        _write_gif(path, frames, fps)
    elif kind == ".mp4":
        _write_mp4(path, frames, fps)
    else:
        _write_pngs(path, frames)
    return path


def _write_gif(path: Path, frames: list[np.ndarray], fps: int) -> None:
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0)


def _write_mp4(path: Path, frames: list[np.ndarray], fps: int) -> None:
    import av

    h, w = frames[0].shape[:2]
    # H.264 in yuv420p needs even sizes; pad by one edge pixel rather than resample.
    pad = ((0, h % 2), (0, w % 2), (0, 0))
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w", format="mp4") as box:
            stream = box.add_stream(codec, rate=Fraction(fps))
            stream.width, stream.height, stream.pix_fmt = w + w % 2, h + h % 2, "yuv420p"
            if codec == "libx264":
                stream.options = {"crf": "16"}  # near-lossless: flat pixel art compresses well anyway
            for frame in frames:
                video = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.pad(frame, pad, mode="edge")), format="rgb24")
                box.mux(stream.encode(video))
            box.mux(stream.encode(None))


def _write_pngs(folder: Path, frames: list[np.ndarray]) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        with atomic_path(folder / f"frame_{i:05d}.png") as tmp:
            Image.fromarray(frame).save(tmp, format="PNG")


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """One PNG image (screenshots)."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG")
    return Path(path)


@dataclass
class Recording:
    """Frames and steps captured while playing in the window, until the player stops recording."""

    path: Path
    meta: dict
    scale: int = 4
    fps: int = FPS
    frames: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, frame: np.ndarray, step: dict | None = None) -> None:
        """Append the frame now on screen and what produced it (a step, undo or reset)."""
        self.frames.append(frame)
        if step is not None:
            self.steps.append({"frame": len(self.frames) - 1, **step})

    def save(self) -> Path:
        """Write the video and its JSON (runs on the I/O worker thread)."""
        write_frames(self.path, self.frames, self.fps, self.scale)
        write_json(sidecar_path(self.path), {**self.meta, "fps": self.fps, "frames": len(self.frames),
                                             "scale": self.scale, "steps": self.steps})
        return self.path


def capture_name(folder: Path, stem: str, suffix: str) -> Path:
    """A new file name in `folder` that sorts by time and never overwrites an earlier capture."""
    # Only a plain name goes into the folder: no "../", no "/" and no leading dot, whatever the stem.
    stem = re.sub(r"[^\w-]+", "_", stem).strip("_") or "capture"
    suffix = "." + re.sub(r"[^\w]+", "", suffix) if suffix else ""
    base = time.strftime(f"{stem}-%Y%m%d-%H%M%S")
    path, n = folder / f"{base}{suffix}", 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}{suffix}"
    return path
