"""A torch Dataset over data folders: random windows of consecutive frames from every clip.

Item i is clip i of the folders (in shard order), cut to a window of `clip_frames` frames whose
start is drawn from (seed, epoch, i), so every process (DDP rank, DataLoader worker) sees the same
window for the same item and epoch. Shards are memory-mapped lazily in each process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genie_play.data.shards import check_same_size, clip_actions, open_folder, open_shard
from genie_play.errors import GenieError, file_error


class ClipDataset(torch.utils.data.Dataset):
    """Yields {"frames": uint8 (T, H, W, 3), "actions": int64 (T-1,)}; actions are -1 where unknown.

    Actions are ground truth for evaluation only (imported video has none); training must not read them.
    """

    def __init__(self, folders: str | Path | list[str | Path], clip_frames: int, seed: int = 0):
        folders = [folders] if isinstance(folders, (str, Path)) else list(folders)
        shards = [s for f in folders for s in open_folder(f)]
        self.size = check_same_size(shards)
        if clip_frames < 1:
            raise GenieError(f"clip_frames must be at least 1, got {clip_frames}")
        for s in shards:
            if s.meta["shape"][1] < clip_frames:
                raise file_error(s.meta_path, f"clips have {s.meta['shape'][1]} frames, fewer than the {clip_frames} asked for")
        self.clip_frames, self.seed, self.epoch = clip_frames, seed, 0
        self.paths = [s.meta_path for s in shards]
        self.lengths = [s.meta["shape"][1] for s in shards]
        # (clip count) rows of true actions per shard: small, so kept in memory.
        self.actions = [np.stack([clip_actions(c, s.meta["shape"][1]) for c in s.clips]) for s in shards]
        self.index = np.array([(k, c) for k, s in enumerate(shards) for c in range(s.meta["shape"][0])], np.int64)
        self._frames: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.index)

    def set_epoch(self, epoch: int) -> None:
        """New windows for a new epoch (call it like DistributedSampler.set_epoch)."""
        self.epoch = int(epoch)

    def window(self, i: int) -> tuple[int, int, int]:
        """(shard, clip, start frame) of item i in the current epoch."""
        shard, clip = (int(v) for v in self.index[i])
        rng = np.random.default_rng([self.seed, self.epoch, i])
        return shard, clip, int(rng.integers(0, self.lengths[shard] - self.clip_frames + 1))

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        shard, clip, start = self.window(i % len(self))
        if shard not in self._frames:
            self._frames[shard] = open_shard(self.paths[shard]).frames
        end = start + self.clip_frames
        frames = np.array(self._frames[shard][clip, start:end])  # copy out of the memory map
        actions = self.actions[shard][clip, start:end - 1]
        return {"frames": torch.from_numpy(frames), "actions": torch.from_numpy(actions.copy())}

    def __getstate__(self) -> dict:
        # Memory maps are reopened in each worker process instead of being pickled (which would copy them).
        return {**self.__dict__, "_frames": {}}
