"""Where the networks run: pick the torch device, describe it, and choose mixed precision.

`auto` means CUDA if present, else Apple MPS, else the CPU. Asking for a device that is not
there is a user error, not a silent fallback: a player who typed `--device cuda` wants to know.
"""

from __future__ import annotations

import contextlib
import time
import os

import torch

from genie_play.errors import GenieError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def select_device(name: str = "auto") -> torch.device:
    """Turn `auto`, `cpu`, `cuda`, `cuda:N` or `mps` into a device that exists on this machine."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            build = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise GenieError(f"--device {name}: CUDA was requested but {build}; use --device cpu or --device auto")
        index = name.partition(":")[2]
        if index:
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise GenieError(f"--device {name}: no such GPU (this machine has {torch.cuda.device_count()})")
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise GenieError("--device mps: Apple MPS was requested but is not available; use --device cpu or --device auto")
        return torch.device("mps")
    raise GenieError(f"--device {name}: unknown device (choose auto, cpu, cuda, cuda:N or mps)")


def play_threads(cores: int | None = None) -> tuple[int, int]:
    """Torch threads for play in the window: (for a step the player waits for, for background work).

    While a step computes the frame that was asked for, the window does not draw (it draws the
    frame when it comes), so the step may take every core torch would use: the physical cores, or
    OMP_NUM_THREADS. Previews and the context update run while the window may be animating, so
    they leave it a core: on 2 cores, two torch threads beside a window that redrew continuously
    made keypresses 3-6x slower than the benchmark."""
    cores = cores or os.cpu_count() or 1
    step = torch.get_num_threads()
    return step, max(1, min(step, cores - 1))


def describe_device(device: torch.device) -> str:
    """A short human label for HUDs and benchmark reports, e.g. `cpu (2 threads)`."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'' if threads == 1 else 's'})"
    return str(device)


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA; a no-op elsewhere (CPU bf16 matmuls are far slower than fp32)."""
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def timed(timings: dict | None, name: str, device: torch.device):
    """Time a block into timings[name] in ms (waiting for the GPU); nothing when timings is None."""
    if timings is None:
        yield
        return
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    yield
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    timings[name] = 1000 * (time.perf_counter() - start)
