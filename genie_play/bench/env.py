"""`genie-play bench --env`: environment steps per second of the batched Gymnasium environment.

For each batch size B: B worlds start from the prompt, take a few warm-up steps, then
`env_steps` batched steps of random latent actions are timed, reward included -- what an RL
trainer pays per sample.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from genie_play.device import describe_device
from genie_play.errors import GenieError
from genie_play.bench.latency import WARM_UP, BenchOptions, peak_rss_mb, resolve
from genie_play.world.world_model import WorldModel


def run_env_bench(opts: BenchOptions) -> dict:
    """Steps/s and ms per batched step for each B in opts.env_batches; flat results for JSON."""
    try:
        from genie_play.env import GenieVectorEnv
    except ImportError as e:
        raise GenieError(f"bench --env: {e}") from None
    if opts.env_steps < 1 or not opts.env_batches or min(opts.env_batches) < 1:
        raise GenieError("bench --env needs --env-steps and --env-batches of at least 1")
    device, weights, prompt = resolve(opts)
    world = WorldModel.load(weights, device=device, maskgit_steps=opts.maskgit_steps)
    r: dict = {"device": describe_device(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
               "weights": str(weights), "image_size": world.config.image_size,
               "maskgit_steps": world.sampler.maskgit_steps, "env_steps": opts.env_steps}
    rng = np.random.default_rng(opts.seed)
    for B in opts.env_batches:
        opts.log(f"bench --env: {B} worlds, {WARM_UP} warm-up steps, {opts.env_steps} timed")
        env = GenieVectorEnv(B, world=world, prompts=[prompt], max_episode_steps=10**9)
        env.reset(seed=opts.seed)
        for _ in range(WARM_UP):
            env.step(rng.integers(world.num_actions, size=B))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        ms = []
        start = time.perf_counter()
        for _ in range(opts.env_steps):
            t = time.perf_counter()
            env.step(rng.integers(world.num_actions, size=B))  # returns numpy frames: the GPU is synced
            ms.append(1000 * (time.perf_counter() - t))
        wall = time.perf_counter() - start
        r[f"env_b{B}_steps_per_s"] = B * opts.env_steps / wall
        r[f"env_b{B}_step_ms_p50"] = float(np.median(ms))
        if device.type == "cuda":
            r[f"env_b{B}_peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    r["peak_rss_mb"] = peak_rss_mb()
    return r


def format_env_table(r: dict) -> str:
    lines = [f"{r['device']}, torch {r['torch']}, {r['image_size']}x{r['image_size']}, "
             f"{r['maskgit_steps']} MaskGIT steps, reward included",
             f"{'worlds B':>9s} {'env steps/s':>12s} {'ms per batched step':>20s}"]
    for key in sorted((k for k in r if k.endswith("_steps_per_s")), key=lambda k: int(k.split("_")[1][1:])):
        B = key.split("_")[1][1:]
        lines.append(f"{B:>9s} {r[key]:12.1f} {r[f'env_b{B}_step_ms_p50']:17.1f} ms")
    lines.append(f"peak memory (RSS) {r['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)
