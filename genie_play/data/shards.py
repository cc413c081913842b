"""The shard format: what `data generate` and `data import` write and the torch Dataset reads.

A data folder holds pairs of files:

    shard-00000.npy   uint8 array (clips, T, H, W, 3): T frames of H×W RGB per clip; plain .npy,
                      so np.load(path, mmap_mode="r") memory-maps it without reading it all
    shard-00000.json  metadata: format and version, source ("generate" or "import"), shape, size,
                      fps, action names, and per clip: style, true actions (or null), resets, origin,
                      and for the built-in world `view`: per frame what it shows of the player
                      (camera x, player x and y on screen in pixels, pose index, facing)

Per clip, actions[t] is the action that took frame t to frame t+1 (T-1 of them). `resets` lists
the frames t where a new level starts, so the step t-1 -> t is a cut rather than the action's
effect. Both files are written atomically, the .npy first: a shard whose .json exists is complete.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genie_play.errors import GenieError, file_error
from genie_play.io import atomic_write, write_json

FORMAT = "genie_play.shard"
VERSION = 1
_NAME = re.compile(r"^shard-(\d{5,})\.json$")


@dataclass
class Shard:
    meta_path: Path
    meta: dict
    frames: np.ndarray  # (clips, T, H, W, 3) uint8, memory-mapped

    @property
    def clips(self) -> list[dict]:
        return self.meta["clips"]


def shard_paths(folder: str | Path, index: int) -> tuple[Path, Path]:
    """(frames .npy, metadata .json) of shard `index` in `folder`."""
    folder = Path(folder)
    return folder / f"shard-{index:05d}.npy", folder / f"shard-{index:05d}.json"


def write_shard(folder: str | Path, index: int, frames: np.ndarray, meta: dict) -> tuple[Path, Path]:
    """Write one shard atomically: the frames, then the metadata that marks it complete."""
    if frames.dtype != np.uint8 or frames.ndim != 5 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (clips, T, H, W, 3), got {frames.dtype} {frames.shape}")
    if len(meta.get("clips", [])) != frames.shape[0]:
        raise ValueError("metadata must describe every clip")
    npy, js = shard_paths(folder, index)
    with atomic_write(npy) as f:
        np.save(f, frames, allow_pickle=False)
    try:
        write_json(js, {**meta, "format": FORMAT, "version": VERSION, "frames_file": npy.name,
                        "shape": list(frames.shape)})
    except BaseException:  # disk full, Ctrl-C: a shard is both files or neither, no orphan frames
        npy.unlink(missing_ok=True)
        raise
    return npy, js


def list_shards(folder: str | Path) -> list[Path]:
    """Metadata files of the complete shards in `folder`, in index order."""
    folder = Path(folder)
    if not folder.exists():
        raise file_error(folder, "no such folder")
    if not folder.is_dir():
        raise file_error(folder, "is not a folder of shards")
    found = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name)))
    return [p for _, p in found]


def next_index(folder: str | Path) -> int:
    """The first unused shard index in `folder` (0 for a new folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    used = [int(m.group(1)) for p in folder.iterdir() if (m := re.match(r"^shard-(\d{5,})\.(json|npy)$", p.name))]
    return max(used, default=-1) + 1


def read_meta(path: str | Path) -> dict:
    """Parse and check a shard's metadata file."""
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise file_error(path, "no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise file_error(path, f"unreadable shard metadata ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise file_error(path, "is not genie_play shard metadata")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise file_error(path, f"shard format version {meta.get('version')} is newer than this genie_play reads ({VERSION}); upgrade genie_play")
    shape = meta.get("shape")
    if not (isinstance(shape, list) and len(shape) == 5 and shape[-1] == 3 and all(isinstance(s, int) and s > 0 for s in shape)):
        raise file_error(path, f"bad shape {shape!r} (expected [clips, T, H, W, 3])")
    if not isinstance(meta.get("clips"), list) or len(meta["clips"]) != shape[0]:
        raise file_error(path, "clip list does not match the shape")
    return meta


def open_shard(meta_path: str | Path, mmap: bool = True) -> Shard:
    """A shard's metadata and its frames (memory-mapped unless mmap=False), checked against each other."""
    meta_path = Path(meta_path)
    meta = read_meta(meta_path)
    name = str(meta.get("frames_file", meta_path.with_suffix(".npy").name))
    # The frames sit beside their metadata: a name with a folder in it ("../../x.npy", "/etc/x")
    # is refused here, never followed out of the data folder.
    if name in ("", ".", "..") or Path(name).name != name:
        raise file_error(meta_path, f"frames_file {name!r} is not a file name in the shard's own folder")
    npy = meta_path.with_name(name)
    if not npy.is_file():
        raise file_error(npy, "missing frames file for its shard metadata")
    try:
        frames = np.load(npy, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise file_error(npy, f"unreadable frames ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if frames.dtype != np.uint8 or list(frames.shape) != meta["shape"]:
        raise file_error(npy, f"holds {frames.dtype} {list(frames.shape)}, its metadata says uint8 {meta['shape']}")
    return Shard(meta_path, meta, frames)


def open_folder(folder: str | Path, mmap: bool = True) -> list[Shard]:
    """Every complete shard in a data folder; a folder without any is an error."""
    shards = [open_shard(p, mmap) for p in list_shards(folder)]
    if not shards:
        raise file_error(folder, "holds no shards (make some with `genie-play data generate` or `data import`)")
    return shards


def first_clips(folder: str | Path, count: int, size: int) -> np.ndarray:
    """The first `count` clips of a data folder (fewer where it holds fewer): (C, T, H, W, 3) uint8,
    every shard's frames checked to be size x size."""
    clips, held = [], 0
    for shard in open_folder(folder):
        if shard.frames.shape[2:4] != (size, size):
            raise file_error(shard.meta_path, f"frames are {shard.frames.shape[2]}x{shard.frames.shape[3]}, the world is {size}x{size}")
        clips.append(np.array(shard.frames[:count - held]))
        held += len(clips[-1])
        if held >= count:
            break
    return np.concatenate(clips)


def clip_actions(clip: dict, frames: int) -> np.ndarray:
    """A clip's true actions as int64 (frames-1,), with -1 where unknown or where a new level cuts in."""
    actions = clip.get("actions")
    out = np.full(frames - 1, -1, np.int64)
    if actions is not None:
        out[:] = np.asarray(actions, np.int64)[: frames - 1]
        for t in clip.get("resets") or []:
            if 1 <= t < frames:
                out[t - 1] = -1
    return out


def check_same_size(shards: list[Shard]) -> tuple[int, int]:
    """All shards must share one frame size; returns (H, W)."""
    sizes = {tuple(s.meta["shape"][2:4]) for s in shards}
    if len(sizes) > 1:
        raise GenieError(f"{shards[0].meta_path.parent}: shards of different frame sizes {sorted(sizes)}; keep one size per folder")
    return next(iter(sizes))
