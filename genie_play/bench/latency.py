"""`genie-play bench`: how fast play is, measured the way the player meets it.

Loads the weights, resets on a prompt, takes a few warm-up steps, then times `steps` keypresses
of random latent actions through the world model's own step() -- the call the app makes. Also:
the time split inside a step, a held key's FPS, predictive rendering (all actions previewed in
one pass, then a keypress), load/reset time, peak memory, and optionally a quality/speed curve
over MaskGIT steps (latency and ΔtPSNR).
"""

from __future__ import annotations

import platform
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from genie_play.device import describe_device, select_device
from genie_play.errors import GenieError
from genie_play.paths import default_prompt, models_dir
from genie_play.world.world_model import WorldModel


@dataclass
class BenchOptions:
    weights: Path | None = None  # None: the shipped models/
    device: str = "auto"
    steps: int = 200  # timed keypresses
    prompt: Path | None = None  # None: the bundled default prompt
    maskgit_steps: int | None = None  # None: the weights' own
    threads: int | None = None  # torch CPU threads; None: torch's own, which the window gives a keypress too
    seed: int = 0
    curve: tuple[int, ...] = ()  # MaskGIT steps to sweep for the quality/speed curve
    data: Path | None = None  # held-out clips for the curve's ΔtPSNR
    curve_clips: int = 8
    env_batches: tuple[int, ...] = (1, 8, 32)  # `bench --env`: worlds per batched environment step
    env_steps: int = 30  # `bench --env`: timed batched steps per batch size
    log: object = field(default=print, repr=False)  # progress lines go here


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "max": float(a.max()),
            "mean": float(a.mean())}


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _sync(world: WorldModel) -> None:
    if world.device.type == "cuda":
        torch.cuda.synchronize(world.device)


def time_steps(world: WorldModel, actions: list[int]) -> tuple[list[float], dict[str, list[float]], float]:
    """Per-keypress latency (ms) until the frame is decoded, the phases of each step, and the wall
    time of the whole run (s)."""
    latencies, phases = [], {}
    start = time.perf_counter()
    for a in actions:
        world.timings = {}
        t = time.perf_counter()
        world.step(a)
        _sync(world)
        latencies.append(1000 * (time.perf_counter() - t))
        for name, ms in world.timings.items():
            phases.setdefault(name, []).append(ms)
    world.timings = None
    return latencies, phases, time.perf_counter() - start


WARM_UP = 16  # untimed steps after a reset: the first calls warm up the kernels and the allocator


def warm_up(world: WorldModel, prompt, rng: np.random.Generator) -> None:
    """Reset and take a few untimed steps, so every timed step is a steady one."""
    world.reset(prompt)
    for a in rng.integers(world.num_actions, size=WARM_UP):
        world.step(int(a))


def resolve(opts: BenchOptions) -> tuple[torch.device, Path, Path]:
    """Apply --threads; the device, weights folder and prompt the options name (or the defaults)."""
    if opts.threads:
        torch.set_num_threads(opts.threads)
    weights = Path(opts.weights) if opts.weights else models_dir()
    return select_device(opts.device), weights, Path(opts.prompt) if opts.prompt else default_prompt(weights)


def run_bench(opts: BenchOptions) -> dict:
    """Run every measurement; returns flat results (ms, s, MB, ratios) ready for JSON."""
    if opts.steps < 1:
        raise GenieError("bench needs --steps of at least 1")
    device, weights, prompt = resolve(opts)
    log = opts.log

    t = time.perf_counter()
    world = WorldModel.load(weights, device=device, maskgit_steps=opts.maskgit_steps, seed=opts.seed)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    world.reset(prompt)
    _sync(world)
    reset_ms = 1000 * (time.perf_counter() - t)
    t = time.perf_counter()
    world.step(0)
    _sync(world)
    first_step_ms = 1000 * (time.perf_counter() - t)
    config = world.config
    r: dict = {
        "device": describe_device(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
        "python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor() or None,
        "weights": str(weights), "image_size": config.image_size,
        "tokens_per_frame": (config.image_size // config.tokenizer.block) ** 2, "maskgit_steps": world.sampler.maskgit_steps,
        "parameters_m": round(sum(p.numel() for net in (world.tokenizer, world.dynamics) for p in net.parameters()) / 1e6, 2),
        "load_s": load_s, "reset_ms": reset_ms, "first_frame_s": load_s + (reset_ms + first_step_ms) / 1000,
    }

    rng = np.random.default_rng(opts.seed)
    log(f"bench: {WARM_UP} warm-up steps, then {opts.steps} timed keypresses")
    warm_up(world, prompt, rng)
    latencies, phases, wall = time_steps(world, [int(a) for a in rng.integers(world.num_actions, size=opts.steps)])
    lat = percentiles(latencies)
    r.update({f"latency_ms_{k}": v for k, v in lat.items()})
    r["fps"] = opts.steps / wall
    r.update({f"{name}_p50": float(np.median(ms)) for name, ms in phases.items()})

    # Predictive rendering: the app previews actions while idle (all at once on a GPU, two at a time on
    # a CPU), then a keypress shows a previewed frame.
    previews: dict[int, list[float]] = {2: [], world.num_actions: []}
    shown = []
    for i, a in enumerate(rng.integers(world.num_actions, size=max(4, min(20, opts.steps // 10)))):
        batch = 2 if i % 2 else world.num_actions
        t = time.perf_counter()
        world.preview([int(a), *[c for c in range(world.num_actions) if c != a][:batch - 1]])
        _sync(world)
        previews[batch].append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        world.step(int(a))
        _sync(world)
        shown.append(1000 * (time.perf_counter() - t))
    r["preview_all_ms_p50"] = float(np.median(previews[world.num_actions]))
    r["preview_two_ms_p50"] = float(np.median(previews[2]))
    r["precomputed_latency_ms_p50"] = float(np.median(shown))
    r["precomputed_latency_ms_max"] = float(np.max(shown))
    r["peak_rss_mb"] = peak_rss_mb()
    if device.type == "cuda":
        r["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20

    if opts.curve:
        r.update(quality_speed_curve(world, prompt, opts))
    return r


def quality_speed_curve(world: WorldModel, prompt: Path, opts: BenchOptions) -> dict:
    """Latency p50 and (with --data) ΔtPSNR and rollout PSNR for each MaskGIT step count."""
    from genie_play.eval.evaluate import controllability, held_out_clips

    clips = inferred = None
    if opts.data is not None:
        if world.lam is None:
            raise GenieError(f"{opts.weights}: the quality/speed curve needs lam.safetensors to label the clips")
        clips = held_out_clips(opts.data, world.config, opts.curve_clips, opts.seed)[0]
        with torch.inference_mode():
            inferred = world.lam.infer_actions(clips.to(world.device)).cpu()
    out, rng = {}, np.random.default_rng(opts.seed)
    default_steps = world.sampler.maskgit_steps
    for steps in opts.curve:
        world.sampler.maskgit_steps = steps
        opts.log(f"bench: quality/speed curve, maskgit_steps={steps}")
        warm_up(world, prompt, rng)
        latencies, _, _ = time_steps(world, [int(a) for a in rng.integers(world.num_actions, size=min(opts.steps, 50))])
        out[f"curve_steps{steps}_latency_ms_p50"] = float(np.median(latencies))
        if clips is not None:
            metrics: dict = {}
            controllability(world, clips, inferred, 4, torch.Generator().manual_seed(opts.seed), metrics)
            out[f"curve_steps{steps}_delta_psnr"] = metrics["dynamics_delta_psnr"]
            out[f"curve_steps{steps}_dynamics_psnr"] = metrics["dynamics_psnr"]
    world.sampler.maskgit_steps = default_steps
    return out


TABLE = [  # (label, key, unit)
    ("keypress latency p50", "latency_ms_p50", "ms"), ("keypress latency p95", "latency_ms_p95", "ms"),
    ("keypress latency max", "latency_ms_max", "ms"), ("held key", "fps", "FPS"),
    ("  camera move and context", "move_ms_p50", "ms"), ("  MaskGIT rounds", "maskgit_ms_p50", "ms"),
    ("  decode (copy the pixels)", "decode_ms_p50", "ms"),
    ("preview all actions (one batch)", "preview_all_ms_p50", "ms"),
    ("preview two actions (one batch)", "preview_two_ms_p50", "ms"),
    ("keypress after a preview p50", "precomputed_latency_ms_p50", "ms"),
    ("model load", "load_s", "s"), ("reset (the prompt)", "reset_ms", "ms"),
    ("load + first frame", "first_frame_s", "s"), ("peak memory (RSS)", "peak_rss_mb", "MB"),
    ("peak GPU memory", "peak_gpu_mb", "MB"),
]


def format_table(r: dict) -> str:
    """The results as an aligned text table (as docs/performance.md shows them)."""
    lines = [f"{r['device']}, torch {r['torch']}, {r['image_size']}x{r['image_size']}, "
             f"{r['tokens_per_frame']} block tokens/frame, {r['maskgit_steps']} MaskGIT steps"]
    for label, key, unit in TABLE:
        if key in r:
            value = r[key]
            lines.append(f"{label:36s} {value:10.2f} {unit}")
    curve = sorted({int(k.split("_")[1][5:]) for k in r if k.startswith("curve_steps")})
    if curve:
        lines.append(f"{'maskgit_steps':>14s} {'latency p50':>12s} {'ΔtPSNR':>8s} {'rollout PSNR':>13s}")
        for s in curve:
            d, p = r.get(f"curve_steps{s}_delta_psnr"), r.get(f"curve_steps{s}_dynamics_psnr")
            lines.append(f"{s:14d} {r[f'curve_steps{s}_latency_ms_p50']:9.1f} ms "
                         f"{'—' if d is None else f'{d:8.2f}'} {'—' if p is None else f'{p:10.2f} dB'}")
    return "\n".join(lines)
