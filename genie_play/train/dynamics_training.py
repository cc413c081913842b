"""Training the dynamics model: code the video once, then teach the dynamics model to predict the codes.

    1. code    every transition of the first `train.dynamics_clips` clips becomes (latent action from
               the LAM, the camera's move per band, block ids from the tokenizer's search);
               written once to out/coded.safetensors, so a resumed run skips it
    2. train   the dynamics model: cross entropy of the band moves (given the frame, the action and
               the move before) and of MaskGIT-masked block ids (given the frame moved by the true
               moves); atomic checkpoints, resumable, SIGTERM saves and stops
    3. export  tokenizer.safetensors (its vocabulary), dynamics.safetensors, lam.safetensors
No true action is read: the LAM names every transition.
"""

from __future__ import annotations

import json
import math
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genie_play.config import GenieConfig
from genie_play.data.shards import first_clips
from genie_play.errors import file_error
from genie_play.io import atomic_path, save_weights
from genie_play.progress import Progress
from genie_play.train.checkpoint import load_checkpoint, restore, save_checkpoint
from genie_play.train.optimizer import learning_rate, make_optimizer
from genie_play.world import tokenizer as tk
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import LatentActionModel

CODED = "coded.safetensors"
LAST_MOVE_DROPPED = 0.2  # share of steps trained without the move before, as play's first step is
CORRUPTED = 0.05  # share of the visible ids replaced by random ones: play shows the model its own mistakes
SHUFFLED = 0.05  # share of the input frame's blocks replaced by other blocks of it, the targets kept: after
# a few hundred steps of play the frame holds the model's own misplaced blocks, and they must not spread


def code_transitions(data: Path, lam, config: GenieConfig, out: Path, progress: bool = False) -> dict[str, torch.Tensor]:
    """Frames (C, T, H, W, 3) uint8 and, per transition, codes (C, T-1), moves (C, T-1, bands), ids (C, T-1, G, G)."""
    from safetensors.torch import load_file, save_file

    path = out / CODED
    if path.exists():
        return load_file(str(path))
    size = config.image_size
    frames = torch.from_numpy(first_clips(data, config.train.dynamics_clips, size))  # (C, T, H, W, 3)
    if frames.shape[1] < 3:
        raise file_error(data, "clips need at least 3 frames to learn a move from the move before")
    vocab = tk.vocabulary(config)
    grid = size // vocab.block
    codes, moves, ids = [], [], []
    bar = Progress(len(frames), "code transitions", unit="clips", quiet=not progress)
    for i in range(0, len(frames), 16):
        clip = frames[i:i + 16]
        codes.append(lam.infer_actions(clip))
        prev, nxt = clip[:, :-1].flatten(0, 1), clip[:, 1:].flatten(0, 1)
        band = tk.estimate_move(prev, nxt, vocab)  # (M, bands)
        moves.append(band.view(len(clip), -1, vocab.bands))
        ids.append(tk.encode(prev, nxt, vocab.move_table()[band], vocab).view(len(clip), -1, grid, grid))
        bar.update(len(clip))
    bar.close()
    coded = {"frames": frames, "codes": torch.cat(codes), "moves": torch.cat(moves), "ids": torch.cat(ids).short()}
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in coded.items()}, str(tmp))
    return coded


def move_counts(coded: dict, config: GenieConfig) -> torch.Tensor:
    """(actions, moves) long: how often the labels pair each latent action with each camera move (any band)."""
    vocab = tk.vocabulary(config)
    codes = coded["codes"].long()[..., None].expand_as(coded["moves"])  # (C, T-1, bands)
    pairs = codes.flatten() * vocab.moves + coded["moves"].long().flatten()
    return torch.bincount(pairs, minlength=config.num_actions * vocab.moves).view(config.num_actions, vocab.moves)


def overlay(coded: dict, config: GenieConfig) -> torch.Tensor:
    """(2,) long: the screen overlay's rows at the top and bottom (tokenizer.overlay_rows) in the coded
    transitions; none where the frame has bands of its own (they move the rows apart already)."""
    vocab = tk.vocabulary(config)
    if vocab.bands > 1:
        return torch.zeros(2, dtype=torch.long)
    frames = coded["frames"]
    moves = vocab.move_table()[coded["moves"][..., 0].long()].flatten(0, 1)  # (C * (T-1), 2)
    return torch.tensor(tk.overlay_rows(frames[:, :-1].flatten(0, 1), frames[:, 1:].flatten(0, 1), moves))


def batch(coded: dict, config: GenieConfig, generator: torch.Generator,
          overlay: tuple[int, int] = (0, 0)) -> dict[str, torch.Tensor]:
    """A training batch of random transitions, the moved frames and masked ids made as play makes them
    (the overlay's rows held on screen)."""
    vocab = tk.vocabulary(config)
    C, T1 = coded["codes"].shape
    B = config.train.dynamics_batch
    clip = torch.randint(C, (B,), generator=generator)
    t = torch.randint(T1, (B,), generator=generator)
    frame = shuffle_blocks(coded["frames"][clip, t], SHUFFLED, config.tokenizer.block, generator)
    moves = coded["moves"][clip, t].long()  # (B, bands)
    last = torch.where(t[:, None] > 0, coded["moves"][clip, (t - 1).clamp_min(0)].long(), vocab.moves)
    dropped = torch.rand(B, generator=generator) < LAST_MOVE_DROPPED
    last[dropped] = vocab.moves
    target = coded["ids"][clip, t].long()  # (B, G, G)
    px = vocab.move_table()[moves]
    moved = tk.hold_overlay(frame, tk.decode(frame, px, torch.full_like(target, vocab.carry), vocab), overlay)
    # MaskGIT's schedule: a cosine share of the ids masked, and half the frames fully, as its first round sees them.
    share = torch.cos(math.pi / 2 * torch.rand(B, generator=generator))
    share[torch.rand(B, generator=generator) < 0.5] = 1.0
    masked = torch.rand(target.shape, generator=generator) < share[:, None, None]
    shown = target.clone()
    valid = tk.valid_ids(px, vocab, config.image_size)
    noise = torch.rand(target.shape, generator=generator) < CORRUPTED
    random_ids = torch.multinomial(valid.flatten(0, 2).float(), 1, generator=generator).view_as(target)
    shown = torch.where(noise, random_ids, shown)
    shown[masked] = vocab.size  # mask_id
    return {"frame": frame, "action": coded["codes"][clip, t].long(), "last": last, "moves": moves, "moved": moved,
            "hole": tk.hole(px, config.image_size, overlay), "shown": shown, "target": target, "masked": masked, "valid": valid}


def shuffle_blocks(frames: torch.Tensor, share: float, block: int, generator: torch.Generator) -> torch.Tensor:
    """frames (B, H, W, 3) uint8 with about `share` of their blocks replaced by random blocks of the same frame."""
    B, H = frames.shape[:2]
    G = H // block
    grid = frames.view(B, G, block, G, block, 3).transpose(2, 3).reshape(B, G * G, block, block, 3)
    source = torch.randint(G * G, (B, G * G), generator=generator)
    swap = torch.rand(B, G * G, generator=generator) < share
    index = torch.where(swap, source, torch.arange(G * G)[None])
    grid = torch.gather(grid, 1, index[..., None, None, None].expand_as(grid))
    return grid.view(B, G, G, block, block, 3).transpose(2, 3).reshape(B, H, H, 3)


def losses(model: Dynamics, b: dict) -> tuple[torch.Tensor, dict]:
    move_logits = model.move_logits(b["frame"], b["action"], b["last"])
    move_loss = F.cross_entropy(move_logits.flatten(0, 1), b["moves"].flatten())
    context = model.token_context(b["frame"], b["moved"], b["hole"], b["action"], b["moves"])
    logits = model.token_logits(context, b["shown"])
    logits = logits.masked_fill(~b["valid"], -1e4)
    chosen = logits[b["masked"]]
    token_loss = F.cross_entropy(chosen, b["target"][b["masked"]])
    with torch.no_grad():
        stats = {"move_acc": (move_logits.argmax(-1) == b["moves"]).float().mean().item(),
                 "token_acc": (chosen.argmax(-1) == b["target"][b["masked"]]).float().mean().item()}
    return move_loss + token_loss, {"move_loss": move_loss.item(), "token_loss": token_loss.item(), **stats}


def train_dynamics(config: GenieConfig, data: Path, out: Path, lam_path: Path, resume: bool = True,
                 init: Path | None = None, log=None, progress: bool = False, checkpoint_every: int = 250,
                 log_every: int = 50) -> Path | None:
    """Train the dynamics model on `data`, labelled by the LAM at `lam_path`; returns the exported
    dynamics file, or None when stopped by a signal (its checkpoint is saved). Every `log_every`
    steps a JSON line goes to out/log.jsonl (and to `log`); `progress` shows a bar per stage."""
    from genie_play.io import load_network, read_weights, load_state

    out.mkdir(parents=True, exist_ok=True)
    lam = load_network(lam_path, "lam", LatentActionModel)[0].eval()
    if lam.config.image_size != config.image_size or lam.config.num_actions != config.num_actions:
        raise file_error(lam_path, f"the LAM is for {lam.config.image_size} px and {lam.config.num_actions} actions, "
                                   f"the world for {config.image_size} px and {config.num_actions}")
    torch.manual_seed(config.train.seed)
    model = Dynamics(config)
    if init is not None:  # a bad file is refused before minutes of coding
        load_state(model, read_weights(init, "dynamics"))
    coded = code_transitions(Path(data), lam, config, out, progress)
    model.move_counts.copy_(move_counts(coded, config))
    model.overlay.copy_(overlay(coded, config))
    optimizer = make_optimizer(model, config)
    step = 0
    checkpoint = load_checkpoint(out / "checkpoints") if resume else None
    if checkpoint is not None:
        checkpoint.model.setdefault("move_counts", model.move_counts)  # a run begun before these existed
        checkpoint.model.setdefault("overlay", model.overlay)
        restore(checkpoint, model, optimizer)
        step = checkpoint.step
    generator = torch.Generator().manual_seed(config.train.seed * 1000 + step)
    stop = {"now": False}

    def on_signal(*_):
        stop["now"] = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    start, history = time.time(), []
    bar = Progress(config.train.dynamics_steps, "train dynamics", unit="steps", initial=step, quiet=not progress)
    try:
        while step < config.train.dynamics_steps:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, config.train.dynamics_steps, config)
            loss, stats = losses(model, batch(coded, config, generator, model.overlay_rows))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.grad_clip)
            optimizer.step()
            step += 1
            history.append(stats)
            bar.update(1)
            if step % log_every == 0 or step == config.train.dynamics_steps:
                mean = {k: float(np.mean([h[k] for h in history])) for k in history[0]}
                history = []
                rate = (time.time() - start) / max(1, step - (checkpoint.step if checkpoint else 0))
                left = (config.train.dynamics_steps - step) * rate / 60
                line = json.dumps({"step": step, **{k: round(v, 4) for k, v in mean.items()}, "s_per_step": round(rate, 3),
                                   "minutes_left": round(left, 1)})
                with open(out / "log.jsonl", "a", encoding="utf-8") as f:  # append-only: survives resumes
                    f.write(line + "\n")
                if log is not None:
                    log(line)
                bar.set_postfix(move_loss=f"{mean['move_loss']:.3f}", token_loss=f"{mean['token_loss']:.3f}")
            if step % checkpoint_every == 0 or stop["now"] or step == config.train.dynamics_steps:
                save_checkpoint(out / "checkpoints", step, model, optimizer, config)
            if stop["now"]:
                return None
    finally:
        bar.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return export(model, lam, config, out, {"steps": step, "clips": int(coded["codes"].shape[0]),
                                             "cpu_minutes": round((time.time() - start) / 60, 1)})


def export(model: Dynamics, lam, config: GenieConfig, out: Path, summary: dict) -> Path:
    """Write the world's three weights files into `out`."""
    save_weights(out / "tokenizer.safetensors", "tokenizer", tk.Tokenizer(config), config,
                 {"kind": "tokenizer: camera move + block sources, found by search"})
    save_weights(out / "lam.safetensors", "lam", lam.exported_state(), lam.config, {"labelled": "the dynamics model's training transitions"})
    return save_weights(out / "dynamics.safetensors", "dynamics", model, config, summary)
