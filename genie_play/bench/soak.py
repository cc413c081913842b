"""`genie-play bench --soak N`: play N steps the way a restless player does and watch for leaks.

Random keys through the world model's own step(), with undo, reset to a random bundled prompt,
and predictive previews (the app's idle work) mixed in. Every `check_every` steps the resident
memory and the length of the undo history are sampled. Memory is measured after a warm-up (the
undo history holds 256 frames), so filling it is not a leak.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from genie_play.device import describe_device
from genie_play.errors import GenieError
from genie_play.bench.latency import BenchOptions, peak_rss_mb, resolve
from genie_play.paths import weights_prompts
from genie_play.world.world_model import MAX_UNDO, WorldModel

MIX = {"step": 0.80, "preview then step": 0.12, "undo": 0.06, "reset": 0.02}  # chance of each move


def current_rss_mb() -> float:
    """This process's resident memory now (Linux /proc); the peak where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def run_soak(opts: BenchOptions, steps: int, check_every: int = 100, warmup: int = 500) -> dict:
    """Play `steps` random moves; returns counts, RSS at start/end, the history's length and throughput."""
    if steps < 1:
        raise GenieError("bench --soak needs at least 1 step")
    device, weights, prompt = resolve(opts)
    world = WorldModel.load(weights, device=device, maskgit_steps=opts.maskgit_steps, seed=opts.seed)
    prompts = sorted(weights_prompts(weights).glob("*.png")) or [prompt]
    rng = np.random.default_rng(opts.seed)
    moves, chances, counts = list(MIX), list(MIX.values()), dict.fromkeys(MIX, 0)
    good_shape = (world.config.image_size, world.config.image_size, 3)
    world.reset(prompt)
    rss, longest, bad_frames = [], 0, 0
    start = time.perf_counter()
    for i in range(1, steps + 1):
        move = moves[rng.choice(len(moves), p=chances)]
        counts[move] += 1
        action = int(rng.integers(world.num_actions))
        if move == "step":
            frame = world.step(action)
        elif move == "preview then step":
            world.preview([action, int(rng.integers(world.num_actions))])
            frame = world.step(action)
        elif move == "undo":
            frame = world.undo()
        else:
            frame = world.reset(prompts[int(rng.integers(len(prompts)))])
        bad_frames += frame.shape != good_shape or frame.dtype != np.uint8
        if i % check_every == 0 or i == steps:
            longest = max(longest, world.num_frames)
            if i >= min(warmup, steps):
                rss.append(current_rss_mb())
        if i % 1000 == 0:
            opts.log(f"soak: {i}/{steps} moves, RSS {current_rss_mb():.0f} MB")
    seconds = time.perf_counter() - start
    return {"device": describe_device(device), "torch": torch.__version__, "weights": str(weights), "soak_steps": steps,
            **{f"soak_{k.replace(' ', '_')}": v for k, v in counts.items()},
            "soak_rss_start_mb": rss[0], "soak_rss_end_mb": rss[-1], "soak_rss_max_mb": max(rss),
            "soak_rss_growth_mb": rss[-1] - rss[0], "soak_history_max": longest, "soak_history_limit": MAX_UNDO,
            "soak_bad_frames": int(bad_frames), "soak_checks": len(rss), "soak_moves_per_s": steps / seconds}


def format_soak(r: dict) -> str:
    moves = ", ".join(f"{r['soak_' + k.replace(' ', '_')]} {k}" for k in MIX)
    return (f"{r['device']}, torch {r['torch']}: {r['soak_steps']} moves ({moves}) at {r['soak_moves_per_s']:.1f}/s\n"
            f"RSS after warm-up {r['soak_rss_start_mb']:.0f} MB, at the end {r['soak_rss_end_mb']:.0f} MB "
            f"(max {r['soak_rss_max_mb']:.0f} MB, growth {r['soak_rss_growth_mb']:+.1f} MB)\n"
            f"undo history: at most {r['soak_history_max']} frames (limit {r['soak_history_limit']}) over "
            f"{r['soak_checks']} checks; malformed frames: {r['soak_bad_frames']}")
