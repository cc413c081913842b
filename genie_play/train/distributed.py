"""Data-parallel setup: the same command runs alone or under `torchrun --nproc_per_node K`.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them this is a world of one and nothing
here touches torch.distributed. CPU ranks talk over gloo, GPU ranks over NCCL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: torch.device) -> Dist:
    """Join the process group if torchrun started us; on CUDA, each rank takes its own GPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Dist()
    ctx = Dist(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(ctx.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ctx


def device_for(ctx: Dist, device: torch.device) -> torch.device:
    return torch.device("cuda", ctx.local_rank) if device.type == "cuda" and ctx.enabled else device


def wrap(model: nn.Module, ctx: Dist, device: torch.device) -> nn.Module:
    if not ctx.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def all_mean(value: float, ctx: Dist, device: torch.device) -> float:
    """Average a scalar over ranks (for logs)."""
    if not ctx.enabled:
        return value
    t = torch.tensor([value], device=device, dtype=torch.float64)
    dist.all_reduce(t)
    return t.item() / ctx.world_size


def any_rank(flag: bool, ctx: Dist, device: torch.device) -> bool:
    """True if the flag is set on any rank (a signal that reached one rank stops them all)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([int(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def check_in_sync(model: nn.Module, ctx: Dist, device: torch.device) -> None:
    """Raise if any rank's weights differ bit for bit from rank 0's (a data-parallel bug)."""
    if not ctx.enabled:
        return
    import hashlib

    digests = []
    for tensor in model.state_dict().values():
        raw = hashlib.sha256(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()).digest()
        digests.append(int.from_bytes(raw[:7], "little"))
    mine = torch.tensor(digests, dtype=torch.int64, device=device)
    gathered = [torch.empty_like(mine) for _ in range(ctx.world_size)]
    dist.all_gather(gathered, mine)
    if any(not torch.equal(g, gathered[0]) for g in gathered):
        raise RuntimeError("data-parallel ranks ended with different weights")


def teardown(ctx: Dist) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.barrier()  # leave together: a rank that destroys the group while another still talks can abort it
        dist.destroy_process_group()
