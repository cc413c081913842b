"""The latent action model's training loop, on one CPU, one GPU or many ranks.

Per step: draw a batch (a pure function of seed, step and rank; batches.py loads the next ones while
this one computes), take one random transition of each clip, measure its camera move (the code must
name it: world/lam.py), forward under bf16 autocast on CUDA only, backward, clip gradients, AdamW
step with linear warmup then cosine decay (over a length `--minutes` may set: budget.py). Rank 0
logs JSON lines, shows progress, writes samples and atomic checkpoints; SIGTERM or Ctrl-C saves
a checkpoint and exits cleanly; a non-finite loss stops the run and keeps the last good
checkpoint. At the end the shippable weights are exported with their config and a summary.
"""

from __future__ import annotations

import hashlib
import json
import math
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from genie_play.config import GenieConfig
from genie_play.device import autocast, select_device
from genie_play.errors import GenieError, file_error
from genie_play.io import load_state, read_weights, save_weights
from genie_play.train import distributed
from genie_play.train.batches import Batches, frames_of
from genie_play.train.budget import Budget
from genie_play.train.checkpoint import load_checkpoint, restore, save_checkpoint
from genie_play.train.optimizer import learning_rate, make_optimizer
from genie_play.world.lam import LatentActionModel
from genie_play.world.tokenizer import estimate_move, vocabulary


@dataclass
class RunOptions:
    """Where and how to run; the model and optimisation settings live in GenieConfig."""

    network: str
    data: Path | None  # None: `train all` generates the built-in world's data
    out: Path
    device: str = "auto"
    resume: bool = False
    lam: Path | None = None  # dynamics only: trained LAM weights
    checkpoint_every: int = 500
    sample_every: int = 1000
    log_every: int = 10
    compile: bool = False
    quiet: bool = False
    minutes: float | None = None  # a wall-clock budget: the run's length is set from its measured speed
    init: Path | None = None  # start from these weights (same network), e.g. to fine-tune on your own video
    videos: tuple[Path, ...] = ()  # `train all --videos`: footage imported into out/data first


class _StopFlag:
    """Turns SIGTERM / Ctrl-C into "finish this step, save, exit" instead of dying mid-write."""

    def __init__(self):
        self.set = False
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum, frame):
        self.set = True

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def train_lam(config: GenieConfig, opts: RunOptions, dataset) -> Path | None:
    """Train the LAM on `dataset` (clips of uint8 frames); returns the exported weights path, or
    None when stopped by a signal (its checkpoint is saved)."""
    device = select_device(opts.device)
    ctx = distributed.setup(device)
    device = distributed.device_for(ctx, device)
    out = Path(opts.out)
    ckpt_dir = out / "checkpoints"

    checkpoint = load_checkpoint(ckpt_dir) if opts.resume else None
    if not opts.resume and (ckpt_dir / "latest.json").exists():
        raise file_error(out, "already holds a training run; pass --resume to continue it or choose another --out")
    if checkpoint is not None:  # the run keeps its own architecture; only its length may change
        config = replace(checkpoint.config, train=replace(checkpoint.config.train, lam_steps=config.train.lam_steps))
    init = read_weights(opts.init, "lam") if opts.init is not None else None
    if checkpoint is None and init is not None:  # the file's architecture, this run's training settings
        config = replace(init.config, train=config.train)

    torch.manual_seed(config.train.seed)  # the same initial weights for the same seed
    lam = LatentActionModel(config)
    if checkpoint is None and init is not None:
        load_state(lam, init)
    lam.to(device)
    _check_data(dataset, config, opts.data)
    optimizer = make_optimizer(lam, config)
    start = 0
    if checkpoint is not None:
        _check_resumable(checkpoint, lam)
        restore(checkpoint, lam, optimizer)
        start = checkpoint.step
    model = distributed.wrap(lam, ctx, device)
    if opts.compile:
        model = torch.compile(model)
    per_rank = max(1, config.train.lam_batch // ctx.world_size)
    camera_moves = CameraMoves(vocabulary(config))  # the camera moves the code must name

    log = _Log(out, ctx, opts, config, start)
    budget = Budget(opts.minutes, "lam", start, ctx, device, opts.quiet)
    losses = []
    step = start
    with _StopFlag() as stop, Batches(dataset, config.train.seed, ctx, per_rank, start, device) as batches:
        while step < config.train.lam_steps:
            torch.manual_seed(hash((config.train.seed, step, ctx.rank)) % (2**62))  # exact resumes
            frames = batches.next(step)
            config = budget.fit(step, config, log)
            lr = learning_rate(step, config.train.lam_steps, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            pairs = random_pairs(frames)
            moves = camera_moves(pairs)
            with autocast(device, config.train.bf16):
                result = model(pairs, moves)
            loss = result.loss
            if not torch.isfinite(loss):
                raise _diverged(f"lam loss became {loss.item()} at step {step + 1}", ckpt_dir, log)  # as the log counts
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(lam.parameters(), config.train.grad_clip)
            optimizer.step()
            step += 1
            losses.append(loss.item())
            metrics = {"loss": loss, "recon_mse": result.recon_loss, "move_ce": result.move_loss,
                       "perplexity": result.vq.perplexity, "code_usage": result.vq.usage}
            log.step(step, lr, grad_norm, metrics, frames.shape[0] * ctx.world_size, device)

            if ctx.is_main and opts.sample_every and step % opts.sample_every == 0:
                _save_samples(lam, frames, out / "samples" / f"lam-{step:08d}.png")
            stopping = distributed.any_rank(stop.set, ctx, device)
            if step % opts.checkpoint_every == 0 or stopping or step == config.train.lam_steps:
                _check_finite(lam, optimizer, step, ckpt_dir, log)  # the last step's too: exports
                if ctx.is_main:
                    save_checkpoint(ckpt_dir, step, lam, optimizer, config, {"network": "lam"})
            if stopping:
                log.close()
                print(f"genie-play: stopped at step {step}; checkpoint saved in {ckpt_dir} (continue with --resume)",
                      file=sys.stderr)
                distributed.teardown(ctx)
                return None
    log.close()
    distributed.check_in_sync(lam, ctx, device)
    exported = None
    if ctx.is_main:
        exported = out / "lam.safetensors"
        save_weights(exported, "lam", lam.exported_state(), config, _summary(opts, config, losses, ctx, init))
        if not opts.quiet:
            ranks = f" (weights identical on all {ctx.world_size} ranks)" if ctx.enabled else ""
            print(f"lam: {step} steps done; weights in {exported}{ranks}", file=sys.stderr)
    distributed.teardown(ctx)
    return exported


def random_pairs(frames: torch.Tensor) -> torch.Tensor:
    """One random transition of each clip: (B, T, H, W, 3) -> (B, 2, H, W, 3).

    It may be a cut to a new level (under 1% of transitions in the built-in world): the LAM has no
    labels to leave cuts out with, and one code for "everything changed" is what it learns."""
    start = torch.randint(frames.shape[1] - 1, (frames.shape[0],), device=frames.device)
    rows = torch.arange(frames.shape[0], device=frames.device)
    return torch.stack([frames[rows, start], frames[rows, start + 1]], dim=1)


class CameraMoves:
    """The camera's move class of each pair (B, 2, H, W, 3), as the tokenizer's search measures it
    for the whole frame (one band: its largest move): (B, 1).

    The search is about a quarter of a LAM step, and it is exact and the same for a pair in any
    batch, so each pair's move is remembered (by a digest of its pixels): every transition of the
    data comes back many times."""

    def __init__(self, vocab):
        self.vocab = replace(vocab, bands=1)
        self.known: dict[bytes, torch.Tensor] = {}

    @torch.no_grad()
    def __call__(self, pairs: torch.Tensor) -> torch.Tensor:
        if pairs.dtype != torch.uint8:  # frames in [0, 1]
            pairs = (pairs * 255).round().to(torch.uint8)
        keys = [hashlib.blake2b(p.tobytes(), digest_size=16).digest() for p in pairs.cpu().numpy()]
        new = [i for i, key in enumerate(keys) if key not in self.known]
        if new:
            found = estimate_move(pairs[new, 0], pairs[new, 1], self.vocab)  # (len(new), 1)
            self.known.update({keys[i]: move for i, move in zip(new, found)})
        return torch.stack([self.known[key] for key in keys])


def psnr_from_mse(mse_pm1: float) -> float:
    """PSNR in dB for an MSE measured on pixels scaled to [-1, 1]."""
    return 10 * math.log10(4.0 / max(mse_pm1, 1e-12))


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _check_resumable(checkpoint, lam: LatentActionModel) -> None:
    """A run begun by an older genie_play, whose LAM had no move heads, cannot continue exactly."""
    lacking = [n for n in lam.state_dict() if n not in checkpoint.model]
    if lacking:
        raise file_error(checkpoint.path, f"was written by an older genie_play (its LAM has no '{lacking[0]}'); "
                         "train the LAM again into a new --out")


def _check_finite(model: torch.nn.Module, optimizer, step: int, ckpt_dir: Path, log) -> None:
    """Stop before saving NaN/inf: a finite loss can still produce a non-finite update (an overflowing gradient)."""
    tensors = [*model.state_dict().items(),
               *((f"optimizer {k}", v) for state in optimizer.state.values() for k, v in state.items())]
    for name, t in tensors:
        if torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all():
            what = "nan" if torch.isnan(t).any() else "inf"
            raise _diverged(f"lam weights became {what} ({name}) at step {step}", ckpt_dir, log)


def _diverged(problem: str, ckpt_dir: Path, log) -> GenieError:
    """The one-line error for a diverged run, naming the checkpoint it keeps."""
    log.close()  # ends the progress bar's line, so that the error is a line of its own
    last = load_checkpoint(ckpt_dir)
    kept = f"the last good checkpoint (step {last.step}) is kept in {ckpt_dir}" if last else "no checkpoint was written"
    return GenieError(f"{problem}; stopping ({kept})")


def _check_data(dataset, config: GenieConfig, where) -> None:
    if len(dataset) == 0:
        raise file_error(where, "holds no clips")
    frames = frames_of(dataset[0])
    if frames.shape[0] < 2 or tuple(frames.shape[1:]) != (config.image_size, config.image_size, 3):
        raise file_error(where, f"clips are {tuple(frames.shape)} but this run needs "
                         f"(>=2, {config.image_size}, {config.image_size}, 3) frames")


def _summary(opts: RunOptions, config: GenieConfig, losses: list, ctx, init) -> dict:
    summary = {
        "network": "lam", "steps": config.train.lam_steps, "batch_size": config.train.lam_batch,
        "ranks": ctx.world_size, "data": str(opts.data), "final_loss": sum(losses[-50:]) / max(1, len(losses[-50:])),
    }
    if init is not None:  # what the run started from, and how far that one was trained
        summary["init"] = {"file": init.path.name, "sha256": _sha256(init.path), "steps": init.summary.get("steps")}
    return summary


class _Log:
    """JSON-lines metrics (+ TensorBoard if installed) and a progress bar, on rank 0 only."""

    def __init__(self, out: Path, ctx, opts: RunOptions, config: GenieConfig, start: int):
        self.ctx, self.every, self.quiet = ctx, opts.log_every, opts.quiet
        self.first = start + 1  # always logged, so that a resumed run shows where it continues
        self.t0, self.clips = time.monotonic(), 0
        self.file = self.bar = self.tb = None
        if not ctx.is_main:
            return
        out.mkdir(parents=True, exist_ok=True)
        self.file = open(out / "log.jsonl", "a", encoding="utf-8")  # append-only: survives resumes
        if not opts.quiet:
            from genie_play.progress import Progress

            self.bar = Progress(config.train.lam_steps, "train lam", unit="steps", initial=start)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tensorboard"))
        except ImportError:
            pass

    def step(self, step: int, lr: float, grad_norm, metrics: dict, clips: int, device) -> None:
        self.clips += clips
        if step % self.every and step != self.first:
            if self.bar:
                self.bar.update(1)
            return
        values = {k: distributed.all_mean(float(v.detach()), self.ctx, device) for k, v in metrics.items()}
        if "recon_mse" in values:
            values["psnr"] = psnr_from_mse(values["recon_mse"])
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        record = {"step": step, "lr": lr, "grad_norm": float(grad_norm), "clips_per_s": self.clips / elapsed, **values}
        if self.file:
            self.file.write(json.dumps(record) + "\n")
            self.file.flush()
        if self.tb:
            for k, v in record.items():
                if k != "step":
                    self.tb.add_scalar(k, v, step)
        if self.bar:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{values['loss']:.4f}", clips_s=f"{record['clips_per_s']:.1f}")

    def set_total(self, steps: int) -> None:
        if self.bar:
            self.bar.set_total(steps)

    def close(self) -> None:
        for thing in (self.file, self.bar, self.tb):
            if thing is not None:
                thing.close()


def _save_samples(lam: LatentActionModel, frames: torch.Tensor, path: Path) -> None:
    """A PNG grid: real next frames above, what the LAM's decoder made of them below."""
    from genie_play.images import save_grid

    lam.eval()
    with torch.no_grad():
        clip = frames[:2, :8]
        made = ((lam(clip).prediction + 1) / 2).clamp(0, 1)
    rows = []
    for b in range(clip.shape[0]):
        rows.append([f.cpu().numpy() for f in clip[b, 1:]])
        rows.append([(f * 255).round().to(torch.uint8).cpu().numpy() for f in made[b]])
    save_grid(path, rows)
