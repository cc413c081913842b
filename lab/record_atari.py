"""Record real Atari gameplay (ALE, scripted random policy) as H.264 MP4 footage for world-model training.

Each game gets two videos: native 160x210 at 60 fps and 2x nearest-upscaled 320x420 at 30 fps, plus one
deliberately truncated `broken.mp4` that an importer must name and skip.
Run:  python lab/record_atari.py --out /work/runs/footage [--games riverraid defender] [--seconds 150] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import av
import numpy as np
from ale_py import Action, ALEInterface, LoggerMode, roms

GAMES = ["riverraid", "chopper_command", "defender", "battle_zone"]
LEFTISH = [Action.LEFT, Action.UPLEFT, Action.DOWNLEFT, Action.LEFTFIRE, Action.UPLEFTFIRE, Action.DOWNLEFTFIRE]
RIGHTISH = [Action.RIGHT, Action.UPRIGHT, Action.DOWNRIGHT, Action.RIGHTFIRE, Action.UPRIGHTFIRE,
            Action.DOWNRIGHTFIRE]
VERTICAL = [Action.UP, Action.DOWN, Action.UPFIRE, Action.DOWNFIRE]
IDLE = [Action.NOOP, Action.FIRE]


class HoldPolicy:
    """Holds each action for 4-20 frames. A horizontal 'heading' persists for 1-5 s and most actions go
    that way, so side-scrolling games really scroll, and flip direction often enough that both appear."""

    def __init__(self, rng: random.Random):
        self.rng, self.action, self.hold, self.heading, self.heading_left = rng, Action.NOOP, 0, 1, 0

    def __call__(self, screen: np.ndarray) -> Action:
        r = self.rng
        if self.heading_left <= 0:
            self.heading, self.heading_left = -self.heading, r.randint(60, 300)
        self.heading_left -= 1
        if self.hold <= 0:
            u = r.random()
            if u < 0.55:
                pool = LEFTISH if self.heading < 0 else RIGHTISH   # with the heading
            elif u < 0.70:
                pool = RIGHTISH if self.heading < 0 else LEFTISH   # brief turns against it
            elif u < 0.92:
                pool = VERTICAL
            else:
                pool = IDLE
            self.action, self.hold = r.choice(pool), r.randint(4, 20)
        self.hold -= 1
        return self.action


class RiverPolicy:
    """River Raid: steer the plane (yellow) toward a point in the river (blue) 20-50 rows ahead, firing,
    with a random speed (up: faster scroll, down: slower) held 0.5-3 s, so the view's speed varies."""

    PLANE, RIVER = (232, 232, 74), (45, 50, 184)

    def __init__(self, rng: random.Random):
        self.rng, self.speed, self.speed_left, self.aim, self.aim_left = rng, 0, 0, 0.5, 0

    def __call__(self, screen: np.ndarray) -> Action:
        r = self.rng
        if self.speed_left <= 0:
            self.speed, self.speed_left = r.choice([-1, 0, 0, 1]), r.randint(30, 180)
        if self.aim_left <= 0:   # where in the river's span to aim: weaving makes the plane move sideways
            self.aim, self.aim_left = r.uniform(0.25, 0.75), r.randint(20, 90)
        self.speed_left, self.aim_left = self.speed_left - 1, self.aim_left - 1
        ys, xs = np.nonzero((screen[135:165] == self.PLANE).all(-1))
        steer = 0
        if len(xs):
            x = xs.mean()
            ahead = (screen[100:130] == self.RIVER).all(-1)               # (30, 160)
            cols = np.nonzero(ahead.mean(0) > 0.8)[0]
            if len(cols):
                runs = np.split(cols, np.nonzero(np.diff(cols) > 1)[0] + 1)
                run = min(runs, key=lambda c: min(abs(c[0] - x), abs(c[-1] - x)))
                target = run[0] + self.aim * (run[-1] - run[0])
                steer = -1 if target < x - 2 else (1 if target > x + 2 else 0)
        table = {(-1, -1): Action.DOWNLEFTFIRE, (-1, 0): Action.LEFTFIRE, (-1, 1): Action.UPLEFTFIRE,
                 (0, -1): Action.DOWNFIRE, (0, 0): Action.FIRE, (0, 1): Action.UPFIRE,
                 (1, -1): Action.DOWNRIGHTFIRE, (1, 0): Action.RIGHTFIRE, (1, 1): Action.UPRIGHTFIRE}
        return table[(steer, self.speed)]


POLICIES = {"riverraid": RiverPolicy}


def play(game: str, seed: int, n_frames: int, step: int):
    """Yield every `step`-th RGB frame (210x160x3) of n_frames emulated frames; resets on game over."""
    ale = ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setInt("frame_skip", 1)
    ale.loadROM(roms.get_rom_path(game))
    policy = POLICIES.get(game, HoldPolicy)(random.Random(seed))
    for i in range(n_frames):
        if ale.game_over():
            ale.reset_game()
        ale.act(policy(ale.getScreenRGB()))
        if i % step == 0:
            yield ale.getScreenRGB()


def write_mp4(path: Path, frames, fps: int, scale: int) -> int:
    """Encode frames to H.264/yuv420p MP4 (crf 18) atomically: temp file in the same folder, then os.replace."""
    tmp = path.with_name(f".{path.name}.part")
    n = 0
    with av.open(str(tmp), "w", format="mp4") as box:
        stream = box.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "medium"})
        stream.pix_fmt, stream.width, stream.height = "yuv420p", 160 * scale, 210 * scale
        stream.codec_context.thread_count = 2
        for rgb in frames:
            if scale != 1:
                rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)  # nearest upscale
            box.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
            n += 1
        box.mux(stream.encode())
    os.replace(tmp, path)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (created if missing)")
    ap.add_argument("--games", nargs="+", default=GAMES, help=f"ALE ROM names (default: {' '.join(GAMES)})")
    ap.add_argument("--seconds", type=float, default=150.0, help="gameplay seconds per video")
    ap.add_argument("--seed", type=int, default=0, help="base seed; every video gets its own")
    args = ap.parse_args()
    ALEInterface.setLoggerMode(LoggerMode.Error)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_frames = int(args.seconds * 60)
    first = None
    for g, game in enumerate(args.games):
        for v, (scale, fps) in enumerate([(1, 60), (2, 30)]):
            seed = args.seed * 1000 + 2 * g + v
            path = out / f"{game}_{160 * scale}x{210 * scale}_{fps}fps.mp4"
            t = time.time()
            n = write_mp4(path, play(game, seed, n_frames, 60 // fps), fps, scale)
            print(f"{path.name}: {n} frames, seed {seed}, {path.stat().st_size / 1e6:.1f} MB, {time.time() - t:.0f} s",
                  flush=True)
            first = first or path
    broken, tmp = out / "broken.mp4", out / ".broken.mp4.part"
    tmp.write_bytes(first.read_bytes()[:3072])   # truncated: ftyp + start of mdat, no moov
    os.replace(tmp, broken)
    print(f"{broken.name}: first 3 KB of {first.name} (deliberately unreadable)")


if __name__ == "__main__":
    main()
