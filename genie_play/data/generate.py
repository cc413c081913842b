"""`data generate`: record gameplay of the built-in world into shards, in parallel and resumably.

Workers record small chunks of clips (genie_play.data.record, NumPy only); this process puts
each shard together and writes it atomically. Shard i always holds the same episodes, so the
output is byte-identical for any number of workers, and a re-run of a killed run skips the
complete shards and makes the rest. tqdm draws the progress bar when it is installed.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import multiprocessing
import signal
import sys
import threading
import time
from dataclasses import asdict

import numpy as np

from genie_play.data.game import ACTIONS, Physics
from genie_play.progress import Progress
from genie_play.data.record import GenerateSpec, record_clips
from genie_play.data.shards import open_shard, shard_paths, write_shard
from genie_play.errors import GenieError, file_error
from genie_play.io import make_folder, write_json

CHUNK = 8  # clips per worker task: fine-grained enough for even load and a lively progress bar


def generate(spec: GenerateSpec, workers: int = 1, quiet: bool = False) -> dict:
    """Make every missing shard of `spec` with `workers` processes; prints progress and a summary."""
    spec.check()
    if workers < 1:
        raise GenieError(f"--workers must be at least 1, got {workers}")
    out = make_folder(spec.out)
    for stale in out.glob(".shard-*.tmp"):  # temp files of a killed run (complete files are never temp)
        stale.unlink(missing_ok=True)
    stats = {i: _existing(spec, i) for i in range(spec.num_shards)}
    todo = [i for i, s in stats.items() if s is None]
    done_clips = sum(s["clips"] for s in stats.values() if s)
    if done_clips and not quiet:
        rest = "; making the rest" if todo else ""
        print(f"{out}: {spec.num_shards - len(todo)} of {spec.num_shards} shards already complete{rest}", file=sys.stderr)
    tasks = [(i, range(c, min(c + CHUNK, r.stop))) for i in todo for r in [spec.episodes_of(i)] for c in r[::CHUNK]]
    bar = Progress(spec.episodes, "generate", initial=done_clips, quiet=quiet)
    start = time.perf_counter()
    try:
        if workers == 1 or len(tasks) <= 1:
            _assemble(spec, ((i, record_clips(spec, eps)) for i, eps in tasks), stats, bar)
        else:
            # spawn, not fork: safe even when the caller already runs torch threads; workers import no torch.
            pool = cf.ProcessPoolExecutor(min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn"))
            try:
                with _workers_ignore_ctrl_c():  # map() starts every worker now
                    results = pool.map(record_clips, [spec] * len(tasks), [eps for _, eps in tasks])
                _assemble(spec, zip([i for i, _ in tasks], results), stats, bar)
            finally:  # on Ctrl-C or an error, drop the queued work instead of finishing it
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    summary = _summarize(spec, [stats[i] for i in range(spec.num_shards)])
    write_json(out / "summary.json", summary)
    if not quiet:
        made = sum(len(spec.episodes_of(i)) for i in todo)
        _print_summary(summary, made, seconds, spec.frames)
    return summary


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Processes started inside inherit "ignore SIGINT". Ctrl-C in a terminal signals the whole
    process group: only this process should stop (and drop the queued work); each worker would
    otherwise die with a traceback of its own. A Ctrl-C during these few milliseconds is dropped."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _assemble(spec: GenerateSpec, results, stats: dict, bar: Progress) -> None:
    """Collect chunks in order; write each shard as soon as its last chunk arrives."""
    parts: dict[int, list] = collections.defaultdict(list)
    for shard, (frames, clips) in results:
        parts[shard].append((frames, clips))
        bar.update(len(clips))
        if sum(len(c) for _, c in parts[shard]) == len(spec.episodes_of(shard)):
            chunks = parts.pop(shard)
            frames = np.concatenate([f for f, _ in chunks])
            clips = [c for _, cs in chunks for c in cs]
            meta = {"source": "generate", "size": spec.size, "frames": spec.frames, "fps": Physics().fps,
                    "action_names": list(ACTIONS), "generator": spec.identity(shard), "clips": clips}
            write_shard(spec.out, shard, frames, meta)
            stats[shard] = _stats(clips, frames.shape)


def _existing(spec: GenerateSpec, shard: int) -> dict | None:
    """Stats of shard `shard` if a previous run completed it with the same settings, else None."""
    _, js = shard_paths(spec.out, shard)
    if not js.exists():
        return None
    s = open_shard(js)
    if s.meta.get("generator") != spec.identity(shard) or s.meta["shape"][0] != len(spec.episodes_of(shard)):
        raise file_error(js, "was made with different settings (seed, split, frames or size); "
                         "use a new --out folder or delete the old shards")
    return _stats(s.clips, s.meta["shape"])


def _stats(clips: list[dict], shape) -> dict:
    counts = np.zeros(len(ACTIONS), np.int64)
    for c in clips:
        counts += np.bincount(np.asarray(c["actions"], np.int64), minlength=len(ACTIONS))
    n, t, h, w, _ = shape
    return {"clips": n, "frames": n * t, "bytes": n * t * h * w * 3, "actions": counts.tolist(),
            "styles": collections.Counter(c["style"]["family"] for c in clips)}


def _summarize(spec: GenerateSpec, stats: list[dict]) -> dict:
    actions = np.sum([s["actions"] for s in stats], axis=0)
    styles = collections.Counter()
    for s in stats:
        styles.update(s["styles"])
    return {"spec": asdict(spec), "shards": len(stats), "clips": sum(s["clips"] for s in stats),
            "frames": sum(s["frames"] for s in stats), "bytes": sum(s["bytes"] for s in stats),
            "actions": {name: int(n) for name, n in zip(ACTIONS, actions)},
            "action_freq": {name: round(float(n) / max(actions.sum(), 1), 4) for name, n in zip(ACTIONS, actions)},
            "styles": dict(sorted(styles.items()))}


def _print_summary(summary: dict, made: int, seconds: float, frames: int) -> None:
    print(f"{summary['spec']['out']}: {summary['clips']} clips, {summary['frames']} frames, "
          f"{summary['shards']} shards, {summary['bytes'] / 1e6:.1f} MB")
    if made:
        print(f"made {made} clips in {seconds:.1f} s: {made / seconds:.1f} clips/s, {made * frames / seconds:.0f} frames/s")
    print("actions: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in summary["action_freq"].items()))
    print("styles:  " + ", ".join(f"{k} {v}" for k, v in summary["styles"].items()))
