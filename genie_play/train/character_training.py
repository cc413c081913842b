"""Training the character's two networks (world/character.py) from video alone: no position, no
action label is read.

Targets come from the pixels:
    apart      a pixel of frame t moves on its own when it differs from the camera-moved frame on
               both sides (t-1 -> t and t -> t+1); what a sprite passes over differs on one side only
    followed   the apart pieces that hold their screen column while the view scrolls: the piece the
               camera follows (the player, not a monster) -> the detector's target
    track      from the first frame where the detector finds a piece, that piece followed frame to
               frame by its best whole-pixel move -> the mover's examples: a crop around it, the
               latent action of the step, its last moves on the track and, as the target, its next
               move; steps that end on the ground are also shown with the sprite pasted a few px
               above or in the ground, the move back as target, so the mover undoes a late landing
    ground     along the same tracks, the row FOOTING under the sprite's feet where it stands (it
               fell and stopped, or held its row STAND_RUN moves running) is ground; the row
               above it, the rows its feet pass in a fall and every pixel it takes next are not -> the ground
               network's target, on the frame with the sprite cut out (the background play shows)
Stages, each kept for --resume: detector examples, detector, mover examples, mover, ground
examples, ground, then `character.safetensors`.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genie_play.config import GenieConfig
from genie_play.data.shards import first_clips
from genie_play.errors import GenieError, file_error
from genie_play.io import atomic_path, load_state, read_weights, save_weights
from genie_play.progress import Progress
from genie_play.world import tokenizer as tk
from genie_play.world.character import FOOTING, CharacterNetworks, Sprite, crop, cut_out, feet, grow, pieces
from genie_play.world.lam import LatentActionModel

CHANGE = 24 / 255  # a pixel differs from its camera-moved self by more than this
FOLLOWED_MOVE = 2  # px the view must scroll for a frame to show which piece the camera follows
PIECE_ERROR = 0.08  # a followed piece's best move must leave at most this mean error (a rigid thing)
TRACK_ERROR = 0.25  # a step whose best move leaves more error than this loses the track (poses change)
TARGET_ERROR = 0.15  # a target move must fit at least this well
MIN_OVERLAP = 0.3  # the next frame's piece must hold this share of the moved piece to continue the track
STAND_RUN = 5  # moves in a row without a vertical move that show a stand (an apex holds its row 4 at most)
HELD_OUT = 0.1  # share of the examples kept out of training to report accuracy on


class NoCharacter(GenieError):
    """The clips show no piece the camera follows: the world has no character to learn."""


# --- label-free targets ---------------------------------------------------------------------------


def camera_moves(frames: torch.Tensor, vocab: tk.Vocabulary) -> torch.Tensor:
    """frames (T, H, W, 3) uint8 -> the content's move (T-1, 2) of each step, as the tokenizer reads it."""
    return vocab.move_table()[tk.estimate_move(frames[:-1], frames[1:], vocab)[:, 0]]


def _changed(prev: torch.Tensor, nxt: torch.Tensor, moves: torch.Tensor) -> torch.Tensor:
    """(B, H, W) bool in nxt's pixels: not what the camera's move of prev shows (False where it shows nothing)."""
    a, b = tk._unit(prev), tk._unit(nxt)
    out = torch.zeros(b.shape[0], *b.shape[2:], dtype=torch.bool)
    for i, (dy, dx) in enumerate(moves.tolist()):
        out[i] = (tk._shift(a[i:i + 1], dy, dx)[0] - b[i]).abs().amax(0) > CHANGE  # NaN compares False
    return out


def apart(frames: torch.Tensor, moves: torch.Tensor) -> torch.Tensor:
    """frames (T, H, W, 3), moves (T-1, 2) -> (T-2, H, W) bool: frames 1..T-2's pixels that move on their own."""
    before = _changed(frames[:-2], frames[1:-1], moves[:-1])
    after = _changed(frames[2:], frames[1:-1], -moves[1:])  # t+1 moved back onto t
    return before & after


def piece_move(prev: np.ndarray, nxt: np.ndarray, mask: np.ndarray, reach: int) -> tuple[int, int, float]:
    """The screen move (dy, dx), each within `reach`, of prev's masked pixels into nxt and its mean
    error (0..1); pixels moved off the frame are not counted, and at least half must stay on it."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return 0, 0, 1.0
    a = prev[ys, xs].astype(np.float32) / 255  # (n, 3)
    pad = np.pad(nxt.astype(np.float32) / 255, ((reach, reach), (reach, reach), (0, 0)), constant_values=np.nan)
    d = np.arange(-reach, reach + 1)
    dy, dx = np.repeat(d, len(d)), np.tile(d, len(d))  # (K,)
    err = np.abs(pad[ys[None] + dy[:, None] + reach, xs[None] + dx[:, None] + reach] - a[None]).max(-1)  # (K, n)
    inside = ~np.isnan(err)
    cost = np.where(inside, err, 0).sum(1) / np.maximum(inside.sum(1), 1) + 1e-3 * (np.abs(dy) + np.abs(dx))
    cost[inside.mean(1) < 0.5] = np.inf
    k = int(cost.argmin())
    return int(dy[k]), int(dx[k]), float(cost[k])


def followed(frames: torch.Tensor, vocab: tk.Vocabulary, config: GenieConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The detector's target on frames 1..T-2 (T-2, H, W) and which of them show it (the view scrolled)."""
    moves = camera_moves(frames, vocab)
    masks, fn = apart(frames, moves).numpy(), frames.numpy()
    out, used = np.zeros_like(masks), np.zeros(len(masks), bool)
    for t in range(1, len(frames) - 1):
        if abs(int(moves[t, 1])) < FOLLOWED_MOVE:
            continue
        used[t - 1] = True
        for m in pieces(masks[t - 1], config.character.min_pixels):
            _, dx, err = piece_move(fn[t], fn[t + 1], m, config.character.reach)
            if abs(dx) <= 1 and err < PIECE_ERROR:
                out[t - 1] |= m
    return torch.from_numpy(out), torch.from_numpy(used)


def track(frames: np.ndarray, prob: np.ndarray, config: GenieConfig) -> list[tuple[int, np.ndarray, tuple[int, int, float]]]:
    """frames (T, H, W, 3), detector probabilities (T, H, W) -> [(t, mask at t, move t -> t+1)] along
    the track of the largest piece of the first frame that has one."""
    c = config.character

    def found(t):
        return pieces(prob[t] > c.found, c.min_pixels)

    start = next((t for t in range(len(frames) - 1) if found(t)), None)
    if start is None:
        return []
    mask = max(found(start), key=lambda m: prob[start][m].sum())
    out = []
    for t in range(start, len(frames) - 1):
        move = piece_move(frames[t], frames[t + 1], mask, c.reach)
        if move[2] > TRACK_ERROR:
            break
        out.append((t, mask, move))
        moved = np.zeros_like(mask)
        ys, xs = np.nonzero(mask)
        ty, tx = ys + move[0], xs + move[1]
        inside = (ty >= 0) & (ty < mask.shape[0]) & (tx >= 0) & (tx < mask.shape[1])
        moved[ty[inside], tx[inside]] = True
        overlaps = [(float((m & moved).sum()) / max(1, moved.sum()), i) for i, m in enumerate(found(t + 1))]
        if not overlaps or max(overlaps)[0] < MIN_OVERLAP:
            break
        mask = found(t + 1)[max(overlaps)[1]]
    return out


def off_ground(frame: np.ndarray, mask: np.ndarray, move: tuple[int, int], reach: int, most: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple[int, int]] | None:
    """The frame with the sprite cut out and pasted up to `most` px lower or higher, its mask there and
    the move from there onto its real next place; None where that leaves the frame or the reach."""
    offset = int(rng.integers(-most, most + 1))
    dy = move[0] - offset
    ys, xs = np.nonzero(mask)
    if offset == 0 or abs(dy) > reach or (ys + offset).min() < 0 or (ys + offset).max() >= mask.shape[0]:
        return None
    out = cut_out(frame, Sprite(frame, mask, 0, 0, ()))
    out[ys + offset, xs] = frame[ys, xs]
    moved = np.zeros_like(mask)
    moved[ys + offset, xs] = True
    return out, moved, (dy, move[1])


def standing(dys: list[int]) -> list[bool]:
    """Per frame of a track whose moves are `dys` (vertical, px): whether the sprite stands on it. It
    holds its row on the next move, and it landed (fell, then held its row) or holds it STAND_RUN
    moves running: a jump's apex may hold its row a few moves but never follows a fall."""
    out = [False] * len(dys)
    for i, dy in enumerate(dys):
        if dy != 0:
            continue
        start, end = i, i
        while start > 0 and dys[start - 1] == 0:
            start -= 1
        while end < len(dys) and dys[end] == 0:
            end += 1
        landed = start > 0 and dys[start - 1] > 0
        out[i] = landed or end - start >= STAND_RUN
    return out


# --- examples -------------------------------------------------------------------------------------


def read_clips(data: Path, config: GenieConfig) -> torch.Tensor:
    """The first `train.character_clips` clips of a data folder: (C, T, H, W, 3) uint8."""
    frames = torch.from_numpy(first_clips(data, config.train.character_clips, config.image_size))
    if frames.shape[1] < 4:
        raise file_error(data, "clips need at least 4 frames to show a piece moving on its own")
    return frames


def detector_examples(clips: torch.Tensor, config: GenieConfig, progress: bool) -> dict[str, torch.Tensor]:
    """Frames where the view scrolls (N, H, W, 3) and the followed piece's pixels (N, H, W)."""
    vocab, frames, targets = tk.vocabulary(config), [], []
    bar = Progress(len(clips), "character: detector targets", quiet=not progress)
    for clip in clips:
        target, used = followed(clip, vocab, config)
        frames.append(clip[1:-1][used])
        targets.append(target[used])
        bar.update()
    bar.close()
    return {"frames": torch.cat(frames), "targets": torch.cat(targets)}


@torch.no_grad()
def clip_tracks(clips: torch.Tensor, nets: CharacterNetworks, config: GenieConfig, progress: bool) -> list:
    """Each clip's track of the detector's piece (`track`): what the mover and the ground learn from."""
    bar = Progress(len(clips), "character: tracks", quiet=not progress)
    out = []
    for clip in clips:
        out.append(track(clip.numpy(), nets.detector(clip).sigmoid().numpy(), config))
        bar.update()
    bar.close()
    return out


def mover_examples(clips: torch.Tensor, codes: torch.Tensor, tracks: list, config: GenieConfig) -> dict[str, torch.Tensor]:
    """Along each clip's track (`clip_tracks`): crops (N, 4, crop, crop), latent actions (N,), last
    moves (N, 2 * history) and the next move (N, 2), as classes (move + reach)."""
    c, rng = config.character, np.random.default_rng(config.train.seed)
    unknown = 2 * c.reach + 1
    X, A, L, Y = [], [], [], []

    def add(frame, mask, action, last, move):
        X.append(crop(frame, mask, c.crop))
        A.append(action)
        L.append(last)
        Y.append((move[0] + c.reach, move[1] + c.reach))

    for clip, clip_codes, steps in zip(clips, codes.tolist(), tracks):
        frames, past = clip.numpy(), []  # past: the track's moves as classes, newest first
        for t, mask, (dy, dx, err) in steps:
            last = (past + [unknown] * (2 * c.history))[:2 * c.history]
            if err <= TARGET_ERROR:
                add(frames[t], mask, clip_codes[t], last, (dy, dx))
                grounded = dy == 0 and len(past) >= 2 and past[0] >= c.reach  # lands or stands at t + 1
                shown = off_ground(frames[t], mask, (dy, dx), c.reach, config.train.mover_ground, rng) \
                    if grounded and config.train.mover_ground else None
                if shown is not None:
                    add(shown[0], shown[1], clip_codes[t], last, shown[2])
            past = [dy + c.reach, dx + c.reach] + past
    if not X:
        return {}
    return {"crops": torch.stack(X), "actions": torch.tensor(A), "last": torch.tensor(L), "moves": torch.tensor(Y)}


def ground_examples(clips: torch.Tensor, tracks: list, config: GenieConfig) -> dict[str, torch.Tensor]:
    """Along each clip's track (`clip_tracks`): the frames with the sprite cut out (N, H, W, 3) and their ground
    targets (N, H, W) int8: 1 under the feet of a standing sprite (FOOTING rows down, as play reads
    it), 0 where a falling one's feet pass and where the sprite is next (not in the ground: where it
    was cut out, too), -1 unknown."""
    c, frames_out, targets = config.character, [], []
    for clip, steps in zip(clips, tracks):
        frames = clip.numpy()
        stand = standing([dy for _, _, (dy, _, _) in steps])
        for (t, mask, (dy, dx, err)), stands in zip(steps, stand):
            if err > TARGET_ERROR or not (stands or dy > 0):
                continue
            mask = grow(frames[t], mask, c.grow, c.unlike)
            target = np.full(mask.shape, -1, np.int8)
            ys, xs = np.nonzero(mask)
            ys, xs = ys + dy, xs + dx
            inside = (ys >= 0) & (ys < len(mask)) & (xs >= 0) & (xs < mask.shape[1])
            target[ys[inside], xs[inside]] = 0
            bottom, cols = feet(mask)
            for b, x in zip(bottom, cols):
                if stands:  # ground from the footing row down, not the fringe above it: a sharp top edge
                    target[b + 1:b + FOOTING, x] = 0
                    target[b + FOOTING:b + FOOTING + 1, x] = 1
                else:
                    target[b + FOOTING:b + FOOTING + dy, x] = 0
            frames_out.append(cut_out(frames[t], Sprite(frames[t], mask, 0, 0, ())))
            targets.append(target)
    if not targets:
        return {}
    return {"frames": torch.from_numpy(np.stack(frames_out)), "targets": torch.from_numpy(np.stack(targets))}


# --- training -------------------------------------------------------------------------------------


def _step(opt: torch.optim.Optimizer, loss: torch.Tensor, bar: Progress) -> None:
    opt.zero_grad()
    loss.backward()
    opt.step()
    bar.update()
    bar.set_postfix(loss=f"{loss.item():.3f}")


def train_detector(nets: CharacterNetworks, ex: dict[str, torch.Tensor], config: GenieConfig, progress: bool) -> dict:
    """Trains nets.detector on the followed targets (a random tenth held out); returns its scores there."""
    X, Y = ex["frames"], ex["targets"]
    split = int((1 - HELD_OUT) * len(X))
    share = Y[:split].float().mean().clamp(1e-4, 1 - 1e-4)
    positive = ((1 - share) / share).sqrt()  # the rare pixels of the piece count more, not all the way
    opt = torch.optim.AdamW(nets.detector.parameters(), 2e-3)
    bar = Progress(config.train.detector_steps, "character: detector", unit="steps", quiet=not progress)
    for _ in range(config.train.detector_steps):
        i = torch.randint(split, (16,))
        x, y = X[i], Y[i]
        if torch.rand(()) < 0.5:  # the camera follows a character running either way
            x, y = x.flip(2), y.flip(2)
        _step(opt, F.binary_cross_entropy_with_logits(nets.detector(x), y.float(), pos_weight=positive), bar)
    bar.close()
    with torch.no_grad():
        hit = torch.cat([nets.detector(X[j:j + 64]).sigmoid() > nets.config.found for j in range(split, len(X), 64)])
    y = Y[split:]
    return {"detector_precision": round(float((hit & y).sum() / hit.sum().clamp_min(1)), 3),
            "detector_recall": round(float((hit & y).sum() / y.sum().clamp_min(1)), 3)}


def train_mover(nets: CharacterNetworks, ex: dict[str, torch.Tensor], config: GenieConfig, progress: bool) -> dict:
    """Trains nets.mover on the tracked steps (a random tenth held out); returns its accuracy there."""
    X, A, L, Y = ex["crops"], ex["actions"], ex["last"], ex["moves"]
    order = torch.randperm(len(Y), generator=torch.Generator().manual_seed(0))
    split = int((1 - HELD_OUT) * len(Y))
    train, held = order[:split], order[split:]
    unknown = 2 * config.character.reach + 1
    opt = torch.optim.AdamW(nets.mover.parameters(), 2e-3)
    bar = Progress(config.train.mover_steps, "character: mover", unit="steps", quiet=not progress)
    for _ in range(config.train.mover_steps):
        i = train[torch.randint(len(train), (256,))]
        logits = nets.mover(X[i], A[i], L[i])
        event = (Y[i, 0] != L[i, 0]) & (L[i, 0] != unknown)  # the vertical move changes: a jump's events
        weight = torch.where(event, config.train.mover_event_weight, 1.0).repeat_interleave(2)
        _step(opt, (F.cross_entropy(logits.flatten(0, 1), Y[i].flatten(), reduction="none") * weight).sum() / weight.sum(), bar)
    bar.close()
    with torch.no_grad():
        right = nets.mover(X[held], A[held], L[held]).argmax(-1) == Y[held]
    return {"mover_examples": len(Y), "mover_dy_right": round(float(right[:, 0].float().mean()), 3),
            "mover_dx_right": round(float(right[:, 1].float().mean()), 3)}


def train_ground(nets: CharacterNetworks, ex: dict[str, torch.Tensor], config: GenieConfig, progress: bool) -> dict:
    """Trains nets.ground on the stands and falls (a random tenth held out); returns its scores there."""
    X, Y = ex["frames"], ex["targets"].long()
    order = torch.randperm(len(Y), generator=torch.Generator().manual_seed(0))
    split = int((1 - HELD_OUT) * len(Y))
    train, held = order[:split], order[split:]
    ground, clear = (Y[train] == 1).sum().clamp_min(1), (Y[train] == 0).sum().clamp_min(1)
    positive = (clear / ground).float().sqrt()
    opt = torch.optim.AdamW(nets.ground.parameters(), 2e-3)
    bar = Progress(config.train.ground_steps, "character: ground", unit="steps", quiet=not progress)
    for _ in range(config.train.ground_steps):
        i = train[torch.randint(len(train), (16,))]
        x, y = X[i], Y[i]
        if torch.rand(()) < 0.5:
            x, y = x.flip(2), y.flip(2)
        known = y >= 0
        weight = torch.where(y == 1, positive, 1.0)[known]
        _step(opt, F.binary_cross_entropy_with_logits(nets.ground(x)[known], y[known].float(), weight=weight), bar)
    bar.close()
    with torch.no_grad():
        on = torch.cat([nets.ground(X[held[j:j + 64]]).sigmoid() > nets.config.floor for j in range(0, len(held), 64)])
    y = Y[held]
    return {"ground_examples": len(Y),
            "ground_recall": round(float((on & (y == 1)).sum() / (y == 1).sum().clamp_min(1)), 3),
            "ground_clear": round(float((~on & (y == 0)).sum() / (y == 0).sum().clamp_min(1)), 3)}


def _cached(path: Path, make, resume: bool) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file, save_file

    if resume and path.exists():
        return load_file(str(path))
    tensors = make()
    if not tensors:
        return tensors
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
    return tensors


def train_character(config: GenieConfig, data: Path, lam_path: Path, out: Path, resume: bool = False,
                    progress: bool = True) -> Path:
    """Trains the detector and the mover on the clips of `data`, the mover on the latent actions of
    the LAM at `lam_path`; writes and returns out/character.safetensors."""
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    lam_w = read_weights(lam_path, "lam")
    if lam_w.config.num_actions != config.num_actions or lam_w.config.image_size != config.image_size:
        raise file_error(lam_path, "its actions or image size differ from this run's config")
    lam = load_state(LatentActionModel(lam_w.config), lam_w).eval()
    torch.manual_seed(config.train.seed)
    nets = CharacterNetworks(config)
    start = time.monotonic()
    clips = read_clips(data, config)
    summary: dict = {"data": str(data), "clips": len(clips)}
    examples = _cached(out / "detector_examples.safetensors",
                       lambda: detector_examples(clips, config, progress), resume)
    if len(examples["frames"]) < 10:
        raise NoCharacter(f"{data}: the detector found no character to learn: in too few frames does the camera "
                          "follow a piece that moves on its own")
    detector_path = out / "detector.safetensors"
    if resume and detector_path.exists():
        nets.detector.load_state_dict(load_file(str(detector_path)))
    else:
        summary.update(train_detector(nets, examples, config, progress))
        with atomic_path(detector_path) as tmp:
            save_file(nets.detector.state_dict(), str(tmp))
    nets.eval()
    with torch.no_grad():
        codes = torch.cat([lam.infer_actions(clips[i:i + 64]) for i in range(0, len(clips), 64)])
    tracked = functools.cache(lambda: clip_tracks(clips, nets, config, progress))  # once, for whichever examples are not cached
    examples = _cached(out / "mover_examples.safetensors", lambda: mover_examples(clips, codes, tracked(), config), resume)
    if not examples:
        raise NoCharacter(f"{data}: the detector found no character to track in these clips")
    nets.train()
    summary.update(train_mover(nets, examples, config, progress))
    examples = _cached(out / "ground_examples.safetensors", lambda: ground_examples(clips, tracked(), config), resume)
    if examples:  # no stand or fall on the tracks: the ground stays as made, holding nothing
        summary.update(train_ground(nets, examples, config, progress))
    summary["minutes"] = round((time.monotonic() - start) / 60, 1)
    path = save_weights(out / "character.safetensors", "character", nets.eval(), config, summary)
    if progress:
        print(f"character: {summary['minutes']} min; weights in {path}", file=sys.stderr)
    return path
