"""Files on disk: atomic writes, and network weights as safetensors with their config inside.

Everything genie_play writes goes through `atomic_path`: a temp file in the same folder,
fsync, then rename, so a crash leaves either the old file or the new one, never half of one.

A weights file is one network. Its safetensors metadata holds:
    genie_play.kind            "tokenizer" | "lam" | "dynamics" | "character"
    genie_play.format_version  integer, bumped when the layout changes
    genie_play.config          the full GenieConfig as JSON (how to rebuild the network)
    genie_play.summary         JSON: a short training summary (data, steps, metrics)
    genie_play.version         the genie_play version that wrote it
Loading never unpickles: the header is parsed and checked here before safetensors reads tensors,
so a wrong or damaged file is refused with one line that names it and the problem.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import torch

from genie_play import __version__
from genie_play.config import GenieConfig, parse_json
from genie_play.errors import file_error

FORMAT_VERSION = 2  # 2: the change world's config sections (tokenizer, dynamics, sampler); 1: genie_play 0.1
KINDS = ("tokenizer", "lam", "dynamics", "character")
# Our largest header is a few KB; the cap refuses hostile files before any JSON parsing.
MAX_HEADER_BYTES = 1 << 20
_META = "genie_play."


# --- atomic writes ----------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path`; once the block succeeds it is fsynced and renamed onto `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as e:
        check_can_write(path)  # a file where a folder must be: name it ("File exists" says nothing)
        raise file_error(path, f"cannot write: {e.strerror or e}") from None
    # No Python call between creating the temp file and this try: a Ctrl-C anywhere from here on
    # still removes it (os.unlink, not Path.unlink, so the cleanup itself calls no Python either).
    try:
        tmp = Path(tmp_name)
        yield tmp
        _fsync(tmp)
        os.chmod(tmp, _default_mode())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(e, OSError):
            raise file_error(path, f"cannot write: {e.strerror or e}") from None
        raise


def check_can_write(path: str | os.PathLike, folder: bool = False) -> None:
    """Refuse, before any work is done, an output that cannot be created because a file sits
    where a folder must be (`path` itself when `folder`, else one of its parents)."""
    path = Path(path)
    start = path if folder else path.parent
    for p in (start, *start.parents):
        if p.exists():
            if p.is_dir():
                return
            if p == path:
                raise file_error(path, "exists and is not a folder")
            raise file_error(path, f"cannot write: {p} is a file, not a folder")


def make_folder(folder: str | os.PathLike) -> Path:
    """Create an output folder (and its parents) now, with a one-line error if it cannot be."""
    folder = Path(folder)
    check_can_write(folder, folder=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise file_error(folder, f"cannot create folder: {e.strerror or e}") from None
    return folder


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None):
    """Open a file for writing that appears at `path` only once it is complete."""
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as f:
        yield f


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory, which is fine.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# --- weights ----------------------------------------------------------------------------------


@dataclass
class Weights:
    """One network's weights as read from disk, with the metadata that describes them."""

    path: Path
    kind: str
    config: GenieConfig
    tensors: dict[str, torch.Tensor]
    summary: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    written_by: str = ""


def save_weights(
    path: str | os.PathLike,
    kind: str,
    state: torch.nn.Module | Mapping[str, torch.Tensor],
    config: GenieConfig,
    summary: dict | None = None,
) -> Path:
    """Write one network (a module or its state dict) as a self-describing safetensors file."""
    from safetensors.torch import save_file

    if kind not in KINDS:
        raise ValueError(f"unknown network kind {kind!r}; expected one of {KINDS}")
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    # clone() breaks shared storage (tied weights), which safetensors refuses to write.
    tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in state.items()}
    metadata = {
        _META + "kind": kind,
        _META + "format_version": str(FORMAT_VERSION),
        _META + "config": config.to_json(),
        _META + "summary": json.dumps(summary or {}, sort_keys=True),
        _META + "version": __version__,
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def read_weights(path: str | os.PathLike, kind: str | None = None) -> Weights:
    """Read and check a weights file; `kind` (if given) must match the network it holds."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    header = _read_header(path)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or _META + "kind" not in meta:
        raise file_error(path, "is a safetensors file but not genie_play weights (no genie_play.kind metadata)")
    found = meta[_META + "kind"]
    if found not in KINDS:
        raise file_error(path, f"unknown network kind '{found}'")
    if kind is not None and found != kind:
        raise file_error(path, f"holds {found} weights, but {kind} weights are needed here")
    try:
        version = int(meta.get(_META + "format_version", ""))
    except ValueError:
        raise file_error(path, "has no valid genie_play.format_version") from None
    if version > FORMAT_VERSION:
        raise file_error(path, f"was written by a newer genie_play (weights format {version}, this one reads up to {FORMAT_VERSION}); upgrade genie_play")
    config = parse_json(meta.get(_META + "config", ""), str(path))
    if version < 2:
        config = _upgrade_v1(config, found, path)
    config = GenieConfig.from_dict(config, source=str(path))
    try:
        summary = json.loads(meta.get(_META + "summary", "{}"))
    except json.JSONDecodeError:
        raise file_error(path, "genie_play.summary metadata is not valid JSON") from None
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise file_error(path, f"damaged weights file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    for name, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise file_error(path, f"tensor '{name}' contains NaN or Inf values")
    return Weights(path, found, config, tensors, summary if isinstance(summary, dict) else {}, version,
                   meta.get(_META + "version", ""))


def load_state(module: torch.nn.Module, weights: Weights, may_lack: Callable[[str], bool] | None = None) -> torch.nn.Module:
    """Copy checked tensors into `module`; names, shapes and dtypes must match exactly, except that
    tensors for whose names `may_lack` is true, that the module uses only in training (its
    TRAINING_ONLY name prefixes) or that older files lack (its OPTIONAL prefixes), may be missing
    (they keep the module's own values)."""
    expected = module.state_dict()
    training_only = getattr(module, "TRAINING_ONLY", ()) + getattr(module, "OPTIONAL", ())
    missing = [n for n in expected if n not in weights.tensors and not (may_lack and may_lack(n))
               and not n.startswith(training_only)]
    extra = [n for n in weights.tensors if n not in expected]
    if missing:
        raise file_error(weights.path, f"missing {len(missing)} tensor(s) the {weights.kind} needs: {_names(missing)}")
    if extra:
        raise file_error(weights.path, f"has {len(extra)} tensor(s) the {weights.kind} does not use: {_names(extra)}")
    for name, want in expected.items():
        if name not in weights.tensors:
            continue  # one it may lack
        got = weights.tensors[name]
        if tuple(got.shape) != tuple(want.shape):
            raise file_error(weights.path, f"tensor '{name}' has shape {tuple(got.shape)}, the {weights.kind} expects {tuple(want.shape)}")
        if got.dtype != want.dtype:
            raise file_error(weights.path, f"tensor '{name}' is {got.dtype}, the {weights.kind} expects {want.dtype}")
    module.load_state_dict(weights.tensors, strict=all(n in weights.tensors for n in expected))
    return module


def load_network(
    path: str | os.PathLike, kind: str, build: Callable[[GenieConfig], torch.nn.Module]
) -> tuple[torch.nn.Module, Weights]:
    """Read a weights file, build the network from its own config, and load the tensors into it."""
    weights = read_weights(path, kind)
    return load_state(build(weights.config), weights), weights


# Where genie_play 0.1's config of a change world kept what the sections of format 2 hold.
_V1_SECTIONS = {
    "tokenizer": ("change", ("block", "reach_y", "reach_x", "move_y", "move_x", "bands")),
    "dynamics": ("change", ("channels", "d_model", "num_heads", "num_layers")),
    "sampler": ("change", ("maskgit_steps", "temperature", "min_p", "carry_bias")),
    "lam": ("lam", ("channels", "latent_dim", "max_shift")),
}
# Explicit, not "keep what still exists": 0.1's own dynamics_* fields were the token world's.
_V1_TRAIN = {"lam_steps": "lam_steps", "lam_batch": "lam_batch", "change_steps": "dynamics_steps",
             "change_batch": "dynamics_batch", "change_clips": "dynamics_clips", "lr": "lr",
             "weight_decay": "weight_decay", "warmup_steps": "warmup_steps", "grad_clip": "grad_clip",
             "seed": "seed", "bf16": "bf16"}


def _upgrade_v1(old: dict, kind: str, path: Path) -> dict:
    """A genie_play 0.1 file's config in today's layout; its token-world networks are refused."""
    if not isinstance(old, dict):
        raise file_error(path, f"config top level must be an object, got {type(old).__name__}")
    for name in ("lam", "change", "train"):
        if not isinstance(old.get(name, {}), dict):
            raise file_error(path, f"config {name} must be an object, got {type(old[name]).__name__}")
    token_world = (old.get("lam", {}).get("architecture", "st_transformer") != "conv"
                   or old.get("lam", {}).get("quantizer", "categorical") != "categorical") if kind == "lam" \
        else old.get("world", "tokens") != "change"
    if token_world:
        raise file_error(path, f"is a token-world {kind} (weights format 1), which genie_play 0.1 plays and this "
                               "release does not; play it with `pip install 'genie_play<0.2'`, or train a world with "
                               "`genie-play train all`")
    new = {name: old[name] for name in ("image_size", "context_frames", "num_actions") if name in old}
    for section, (where, names) in _V1_SECTIONS.items():
        new[section] = {n: old[where][n] for n in names if n in old.get(where, {})}
    new["train"] = {_V1_TRAIN[n]: v for n, v in old.get("train", {}).items() if n in _V1_TRAIN}
    return new


def _names(names: list[str], shown: int = 3) -> str:
    more = f" (and {len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _read_header(path: Path) -> dict:
    """Parse and sanity-check a safetensors header without trusting anything in the file."""
    if not path.exists():
        raise file_error(path, "no such file")
    if path.is_dir():
        raise file_error(path, "is a directory, not a weights file")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise file_error(path, f"not a safetensors weights file (only {size} bytes)")
            (length,) = struct.unpack("<Q", head)
            if length > MAX_HEADER_BYTES and (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
                raise file_error(path, "is a pickle/PyTorch checkpoint, not safetensors; genie_play never unpickles files")
            if length > MAX_HEADER_BYTES:
                raise file_error(path, f"not a valid safetensors file (header of {length} bytes exceeds the {MAX_HEADER_BYTES}-byte limit)")
            if 8 + length > size:
                raise file_error(path, f"truncated: header needs {8 + length} bytes, file has {size}")
            raw = f.read(length)
    except OSError as e:
        raise file_error(path, f"cannot read: {e.strerror or e}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise file_error(path, "not a valid safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise file_error(path, "not a valid safetensors file (header is not a JSON object)")
    data_size = size - 8 - length
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise file_error(path, f"not a valid safetensors file (tensor '{name}' has no data offsets)")
        if offsets[1] > data_size:
            raise file_error(path, f"truncated: tensor '{name}' ends at byte {offsets[1]} of the data, file holds {data_size}")
    return header
