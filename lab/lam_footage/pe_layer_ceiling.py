"""Lab: what a sprite moved whole would give a footage world whose keys move a sprite (Private Eye),
measured before building one. On the evaluation's 16 held-out clips, with the world's LAM codes: the
world's rollout, the first frame held still, and the clip's largest moving piece cut from the clip's
median background (an oracle: it knows the frames to come) and moved whole: by its true move (its
pixels tracked into the real frames), or label-free by its code (the code effects' mean move; the
commonest tracked move of that code in training clips; the commonest given also its last move).
PSNR over steps 1-8, and in a 16x16 box on the piece's tracked place.
Usage: pe_layer_ceiling.py RUN [OUT.png] (a `train all --videos` folder; the picture: clips 4 and 8,
each the real frames 0-8 over the rollouts named in PICTURED). Two-piece rows: the two largest pieces, moved
by their true moves, or each by the commonest move its size rank (or its look: median colour) makes under
the code in training clips."""
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sprite"))
from apart import piece_move  # noqa: E402
from layer import _components  # noqa: E402

from genie_play.eval.evaluate import held_out_clips  # noqa: E402
from genie_play.eval.lam_metrics import infer_codes  # noqa: E402
from genie_play.eval.metrics import psnr  # noqa: E402
from genie_play.footage import code_effects  # noqa: E402
from genie_play.world.world_model import WorldModel  # noqa: E402

STEPS, BOX, DIFF = 8, 16, 24
TRAIN_CLIPS = 256  # training clips the move table is read from
MIN_PIECE = 6  # px: smaller pieces are specks
RANKS = 2  # the two-piece layer: the largest and the second largest piece
PICTURED = ("world", "two pieces, true moves", "two pieces, each its rank's commonest move",
             "two pieces, each its look's commonest move")


def pieces(frame: np.ndarray, bg: np.ndarray, k: int) -> list:
    """The k largest connected pieces of `frame` unlike the background (at least MIN_PIECE px): [(ys, xs)]."""
    on = np.abs(frame.astype(np.int16) - bg.astype(np.int16)).max(axis=-1) > DIFF
    comps = sorted((c for c in _components(on) if len(c) >= MIN_PIECE), key=len, reverse=True)[:k]
    return [(np.array([p[0] for p in c]), np.array([p[1] for p in c])) for c in comps]


def piece(frame: np.ndarray, bg: np.ndarray):
    """The largest connected piece of `frame` unlike the background: (ys, xs) or None."""
    found = pieces(frame, bg, 1)
    return found[0] if found else None


def paste(bg: np.ndarray, src: np.ndarray, where, dx: int, dy: int, out: np.ndarray | None = None) -> np.ndarray:
    out = bg.copy() if out is None else out
    ys, xs = where
    ny, nx = ys + dy, xs + dx
    ok = (ny >= 0) & (ny < bg.shape[0]) & (nx >= 0) & (nx < bg.shape[1])
    out[ny[ok], nx[ok]] = src[ys[ok], xs[ok]]
    return out


def box_psnr(a: np.ndarray, b: np.ndarray, centre) -> float:
    cy, cx = centre
    y0 = int(np.clip(cy - BOX // 2, 0, a.shape[0] - BOX))
    x0 = int(np.clip(cx - BOX // 2, 0, a.shape[1] - BOX))
    crop = (slice(y0, y0 + BOX), slice(x0, x0 + BOX))
    return float(psnr(torch.from_numpy(a[crop]), torch.from_numpy(b[crop])))


def track(clip: np.ndarray, first) -> list[tuple[int, int]]:
    """The piece's (dx, dy) each step, its pixels followed from frame to frame of the real clip."""
    moves, at = [], np.zeros(2, int)
    for t in range(len(clip) - 1):
        mask = np.zeros(clip[0].shape[:2], bool)
        ys, xs = first[0] + at[1], first[1] + at[0]
        ok = (ys >= 0) & (ys < mask.shape[0]) & (xs >= 0) & (xs < mask.shape[1])
        mask[ys[ok], xs[ok]] = True
        dy, dx, _ = piece_move(clip[t], clip[t + 1], mask)
        moves.append((dx, dy))
        at += (dx, dy)
    return moves


def look(frame: np.ndarray, where) -> tuple:
    """A piece's look: its median colour, 2 bits a channel (the black car, the yellow detective)."""
    return tuple(int(v) // 64 for v in np.median(frame[where[0], where[1]], axis=0))


def commonest(counter: Counter | None) -> tuple[int, int]:
    return (counter or Counter({(0, 0): 1})).most_common(1)[0][0]


def move_tables(frames: np.ndarray, codes: np.ndarray) -> dict:
    """From training clips, label-free, each piece tracked once: code -> the tracked moves of the
    largest piece ("alone"), of each size rank ("ranks") and of each look ("looks"); and
    (code, last move) -> the largest piece's next move ("both")."""
    tables = {"both": {}, "alone": {}, "ranks": [{} for _ in range(RANKS)], "looks": {}}
    for clip, clip_codes in zip(frames, codes):
        bg = np.median(clip, axis=0).astype(np.uint8)
        for rank, found in enumerate(pieces(clip[0], bg, RANKS)):
            moves = track(clip, found)
            by_look = tables["looks"].setdefault(look(clip[0], found), {})
            for t, move in enumerate(moves):
                code = int(clip_codes[t])
                for table in [tables["ranks"][rank], by_look] + ([tables["alone"]] if rank == 0 else []):
                    table.setdefault(code, Counter())[move] += 1
                if rank == 0:
                    tables["both"].setdefault((code, moves[t - 1] if t else None), Counter())[move] += 1
    return tables


def main(run: Path, picture: Path | None) -> None:
    world = WorldModel.load(run, "cpu", seed=0)
    frames = held_out_clips(run / "data" / "heldout", world.config, 16, 0)[0]  # (C, T, H, W, 3) uint8
    codes = infer_codes(world.lam, frames, "cpu").numpy()  # (C, T-1)
    effects = code_effects(run / "lam.safetensors", run / "data" / "heldout", "cpu")
    per_code = {e.code: (int(round(e.sprite[0])), int(round(e.sprite[1]))) for e in effects}
    train = held_out_clips(run / "data" / "train", world.config, TRAIN_CLIPS, 0)[0]
    train_codes = infer_codes(world.lam, train, "cpu").numpy()
    tables = move_tables(train.numpy(), train_codes)
    both, alone = tables["both"], tables["alone"]
    names = ("world", "still", "piece, true move", "piece, code's mean move", "piece, code's commonest move",
             "piece, code + last move", "two pieces, true moves", "two pieces, each its rank's commonest move",
             "two pieces, each its look's commonest move")
    scores = {name: ([], []) for name in names}
    rows = []
    for c, clip in enumerate(frames.numpy()):
        bg = np.median(clip, axis=0).astype(np.uint8)
        first = piece(clip[0], bg)
        rolled = {name: [] for name in scores}
        world.reset(clip[0])
        true = track(clip[:STEPS + 1], first) if first is not None else [(0, 0)] * STEPS
        at = {name: np.zeros(2, int) for name in names[2:6]}
        two = pieces(clip[0], bg, RANKS)
        two_true = [track(clip[:STEPS + 1], w) for w in two]
        two_at = {name: [np.zeros(2, int) for _ in two] for name in names[6:]}
        last, places = None, []
        for t in range(STEPS):
            code = int(codes[c, t])
            rolled["world"].append(world.step(code))
            rolled["still"].append(clip[0])
            usual = commonest(alone.get(code))
            last = commonest(both.get((code, last)) or alone.get(code))
            for name, move in zip(names[2:6], (true[t], per_code[code], usual, last)):
                at[name] += move
                rolled[name].append(paste(bg, clip[0], first, *at[name]) if first is not None else clip[0])
            for name in names[6:]:
                made = bg.copy() if two else clip[0]
                for r, where in enumerate(two):
                    by = tables["ranks"][r] if name == names[7] else tables["looks"].get(look(clip[0], where), {})
                    usual_r = commonest(by.get(code))
                    two_at[name][r] += two_true[r][t] if name == names[6] else usual_r
                    paste(bg, clip[0], where, *two_at[name][r], out=made)
                rolled[name].append(made)
            if first is not None:
                truth = at["piece, true move"]
                places.append((int((first[0] + truth[1]).mean()), int((first[1] + truth[0]).mean())))
        if picture is not None and c in (4, 8):
            rows.append(list(clip[:STEPS + 1]))
            rows += [[clip[0]] + [np.asarray(f) for f in rolled[name]] for name in PICTURED]
        for t in range(STEPS):
            real = clip[t + 1]
            for name, (whole, box) in scores.items():
                made = np.asarray(rolled[name][t])
                whole.append(float(psnr(torch.from_numpy(made), torch.from_numpy(real))))
                if first is not None:
                    box.append(box_psnr(made, real, places[t]))
    print(f"{run.name}: 16 held-out clips, steps 1-{STEPS}, LAM codes; code moves {per_code}")
    print("| rollout | PSNR_8 (dB) | box on the piece (dB) |\n|---|---|---|")
    for name, (whole, box) in scores.items():
        print(f"| {name} | {np.mean(whole):.2f} | {np.mean(box):.2f} |")
    if picture is not None:
        from genie_play.images import save_grid
        save_grid(picture, rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
