"""Each training step's batch: which clips (a pure function of seed, step and rank), loaded ahead.

A thread loads the next few batches while the current step computes, into pinned memory on CUDA,
so a GPU need not wait for the disk. Loading ahead changes nothing else: the thread walks the
steps in order and sets the dataset's epoch to each (fresh windows into the clips), as the loop
itself used to, so a resumed run draws exactly the batches it would have.
"""

from __future__ import annotations

import queue
import threading

import torch

from genie_play.train import distributed


def batch_indices(step: int, seed: int, ctx: distributed.Dist, per_rank: int, size: int) -> torch.Tensor:
    """Clip indices for this rank at this step: rank r draws only from indices = r mod world_size."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    own = torch.randint(max(1, size // ctx.world_size), (ctx.world_size, per_rank), generator=g)[ctx.rank]
    return (own * ctx.world_size + ctx.rank).clamp_max(size - 1)


def frames_of(item) -> torch.Tensor:
    """A dataset item's frames (T, H, W, 3): datasets yield dicts ({"frames": ...}) or bare clips."""
    frames = item["frames"] if isinstance(item, dict) else item
    return torch.as_tensor(frames)


class Batches:
    """`with Batches(...) as b:` then `b.next(step)` for step = start, start + 1, ... (B, T, H, W, 3) on `device`."""

    def __init__(self, dataset, seed: int, ctx, per_rank: int, start: int, device: torch.device, ahead: int = 3):
        self.dataset, self.seed, self.ctx, self.per_rank, self.device = dataset, seed, ctx, per_rank, device
        self.pin = device.type == "cuda"
        self.ready: queue.Queue = queue.Queue(maxsize=ahead)
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._load, args=(start,), daemon=True, name="genie-batches")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.closed.set()
        while self.thread.is_alive():  # unblock a thread waiting for room in the queue
            try:
                self.ready.get_nowait()
            except queue.Empty:
                self.thread.join(0.05)

    def _load(self, step: int) -> None:
        while not self.closed.is_set():
            try:
                if hasattr(self.dataset, "set_epoch"):
                    self.dataset.set_epoch(step)
                indices = batch_indices(step, self.seed, self.ctx, self.per_rank, len(self.dataset))
                frames = torch.stack([frames_of(self.dataset[int(i)]) for i in indices])
                item = (step, frames.pin_memory() if self.pin else frames)
            except BaseException as error:  # handed to the loop, which raises it as its own
                item = (step, error)
            while not self.closed.is_set():
                try:
                    self.ready.put(item, timeout=0.1)
                    break
                except queue.Full:
                    pass
            step += 1

    def next(self, step: int) -> torch.Tensor:
        loaded, frames = self.ready.get()
        assert loaded == step, (loaded, step)
        if isinstance(frames, BaseException):
            raise frames
        return frames.to(self.device, non_blocking=True)
