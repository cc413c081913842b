"""The training loop, the same for all three networks, on one CPU, one GPU or many ranks.

Per step: draw a batch (a pure function of seed, step and rank; batches.py loads the next ones while
this one computes), forward under bf16 autocast on CUDA only, backward, clip gradients, AdamW step
with linear warmup then cosine decay (over a length `--minutes` may set: budget.py). Rank 0
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

from genie_play.config import DynamicsConfig, GenieConfig, TokenizerConfig
from genie_play.device import autocast, describe_device, select_device
from genie_play.errors import GenieError, file_error
from genie_play.io import atomic_write, load_state, read_weights, save_weights, tokens_sha256
from genie_play.train import distributed
from genie_play.train.batches import Batches, frames_of
from genie_play.train.budget import Budget
from genie_play.train.checkpoint import load_checkpoint, restore, save_checkpoint
from genie_play.train.objectives import Objective, build_objective, psnr_from_mse


@dataclass
class RunOptions:
    """Where and how to run; the model and optimisation settings live in GenieConfig."""

    network: str
    data: Path | None  # None: `train all` generates the built-in world's data
    out: Path
    device: str = "auto"
    resume: bool = False
    tokenizer: Path | None = None  # dynamics only: trained tokenizer weights
    lam: Path | None = None  # dynamics only: trained LAM weights
    checkpoint_every: int = 500
    sample_every: int = 1000
    log_every: int = 10
    compile: bool = False
    quiet: bool = False
    minutes: float | None = None  # a wall-clock budget: the run's length is set from its measured speed
    init: Path | None = None  # start from these weights (same network), e.g. to fine-tune on your own video


def learning_rate(step: int, config: GenieConfig, network: str) -> float:
    """Linear warmup to the network's peak rate, then cosine decay to a tenth of it at its last step."""
    t, peak = config.train, config.train.learning_rate(network)
    if step < t.warmup_steps:
        return peak * (step + 1) / t.warmup_steps
    progress = min(1.0, (step - t.warmup_steps) / max(1, t.steps(network) - t.warmup_steps))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model: torch.nn.Module, config: GenieConfig) -> torch.optim.AdamW:
    """AdamW; matrices decay, biases/norms/embedding-like vectors don't (nanoGPT's split)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.train.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.train.lr, betas=(0.9, 0.95))


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


def train(config: GenieConfig, opts: RunOptions, dataset) -> Path | None:
    """Train `opts.network` on `dataset` (clips of uint8 frames); returns the exported weights path."""
    device = select_device(opts.device)
    ctx = distributed.setup(device)
    device = distributed.device_for(ctx, device)
    out = Path(opts.out)
    ckpt_dir = out / "checkpoints"

    checkpoint = load_checkpoint(ckpt_dir) if opts.resume else None
    if not opts.resume and (ckpt_dir / "latest.json").exists():
        raise file_error(out, "already holds a training run; pass --resume to continue it or choose another --out")
    if checkpoint is not None:  # the run keeps its own architecture; only its length may change
        length = {f"{opts.network}_steps": config.train.steps(opts.network)}
        config = replace(checkpoint.config, train=replace(checkpoint.config.train, **length))

    init = read_weights(opts.init, opts.network) if opts.init is not None else None
    if checkpoint is None and init is not None:  # the file's architecture, this run's training settings
        # ... and the one change it may take: a grown painter on top of a tokenizer's tokens
        tokenizer = grown_painter(init.config.tokenizer, config.tokenizer) if opts.network == "tokenizer" \
            else init.config.tokenizer
        dynamics = replace(init.config.dynamics, **{f: getattr(config.dynamics, f) for f in DynamicsConfig.TRAINING})
        config = replace(init.config, train=config.train, tokenizer=tokenizer, dynamics=dynamics)

    torch.manual_seed(config.train.seed)  # the same initial weights for the same seed
    objective = build_objective(opts.network, config, opts.tokenizer, opts.lam)
    if checkpoint is None and init is not None:
        _check_init_pairing(init, objective)
        load_state(objective.model, init, may_lack=new_painter_part if opts.network == "tokenizer" else None)
    objective.to(device)
    config = objective.model.config  # dynamics adopts its tokenizer's codebook
    _check_data(dataset, config, opts.data)
    optimizer = make_optimizer(objective.model, config)
    start = 0
    if checkpoint is not None:
        restore(checkpoint, objective.model, optimizer)
        start = checkpoint.step
    model = distributed.wrap(objective.model, ctx, device)
    if opts.compile:
        model = torch.compile(model)
    per_rank = max(1, config.train.batch(opts.network) // ctx.world_size)

    log = _Log(out, ctx, opts, config, start)
    budget = Budget(opts.minutes, opts.network, start, ctx, device, opts.quiet)
    samples_every = opts.sample_every
    losses = []
    step = start
    with _StopFlag() as stop, Batches(dataset, config.train.seed, ctx, per_rank, start, device) as batches:
        while step < config.train.steps(opts.network):
            torch.manual_seed(hash((config.train.seed, step, ctx.rank)) % (2**62))  # exact resumes
            frames = batches.next(step)
            config = budget.fit(step, config, log)
            lr = learning_rate(step, config, opts.network)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            with autocast(device, config.train.bf16):
                loss, metrics = objective.loss(model, frames)
            if not torch.isfinite(loss):
                raise _diverged(f"{opts.network} loss became {loss.item()} at step {step + 1}", ckpt_dir, log)  # as the log counts
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(objective.model.parameters(), config.train.grad_clip)
            optimizer.step()
            distributed.sync_codebooks(objective.model, ctx)
            step += 1
            losses.append(loss.item())
            log.step(step, lr, grad_norm, metrics, frames.shape[0] * ctx.world_size, device)

            if ctx.is_main and samples_every and step % samples_every == 0:
                _save_samples(objective, frames, out / "samples" / f"{opts.network}-{step:08d}.png")
            stopping = distributed.any_rank(stop.set, ctx, device)
            if step % opts.checkpoint_every == 0 or stopping or step == config.train.steps(opts.network):
                _check_finite(objective.model, optimizer, opts.network, step, ckpt_dir, log)  # the last step's too: exports
                if ctx.is_main:
                    save_checkpoint(ckpt_dir, step, objective.model, optimizer, config, {"network": opts.network})
            if stopping:
                log.close()
                print(f"genie-play: stopped at step {step}; checkpoint saved in {ckpt_dir} (continue with --resume)",
                      file=sys.stderr)
                distributed.teardown(ctx)
                return None
    log.close()
    distributed.check_in_sync(objective.model, ctx, device)
    exported = None
    if ctx.is_main:
        exported = out / f"{opts.network}.safetensors"
        save_weights(exported, opts.network, objective.model, config, _summary(objective, opts, config, losses, ctx, init))
        if not opts.quiet:
            ranks = f" (weights identical on all {ctx.world_size} ranks)" if ctx.enabled else ""
            print(f"{opts.network}: {step} steps done; weights in {exported}{ranks}", file=sys.stderr)
    distributed.teardown(ctx)
    return exported


def grown_painter(file: TokenizerConfig, run: TokenizerConfig) -> TokenizerConfig:
    """The tokenizer `train --init` builds: the file's, with the run's painter where it is bigger
    (more decoder blocks, or a carry-over the file lacks), so its tokens keep their meaning."""
    grown = {}
    if run.decoder_blocks > file.decoder_blocks:
        grown["decoder_blocks"] = run.decoder_blocks
    if run.decoder_context and not file.decoder_context:
        grown.update(decoder_context=True, context_reach=run.context_reach)
    return replace(file, **grown)


def new_painter_part(name: str) -> bool:
    """The tensors a grown painter has and its file may lack: new decoder blocks (they start as the
    identity) and a carry-over (it starts trusting the painted frame)."""
    return name.startswith("carry.") or ".more." in name


def _check_init_pairing(init, objective: Objective) -> None:
    """A dynamics model to start from must have learned on the tokens and actions it will train on."""
    for name, path in (("tokenizer", objective.tokenizer_path), ("lam", objective.lam_path)):
        if path is None:
            continue
        if name == "tokenizer" and "tokenizer_tokens_sha256" in init.summary:  # the tokens, not the file
            same = init.summary["tokenizer_tokens_sha256"] == tokens_sha256(objective.tokenizer.state_dict())
        else:
            trained_with = init.summary.get(f"{name}_sha256")
            same = not trained_with or trained_with == _sha256(path)
        if not same:
            raise file_error(init.path, f"was trained with another {name} than {path}; start from weights trained "
                                        f"with it, or train from scratch")


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _check_finite(model: torch.nn.Module, optimizer, network: str, step: int, ckpt_dir: Path, log) -> None:
    """Stop before saving NaN/inf: a finite loss can still produce a non-finite update (an overflowing gradient)."""
    tensors = [*model.state_dict().items(),
               *((f"optimizer {k}", v) for state in optimizer.state.values() for k, v in state.items())]
    for name, t in tensors:
        if torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all():
            what = "nan" if torch.isnan(t).any() else "inf"
            raise _diverged(f"{network} weights became {what} ({name}) at step {step}", ckpt_dir, log)


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


def _summary(objective: Objective, opts: RunOptions, config: GenieConfig, losses: list, ctx, init) -> dict:
    summary = {
        "network": opts.network, "steps": config.train.steps(opts.network), "batch_size": config.train.batch(opts.network),
        "ranks": ctx.world_size, "data": str(opts.data), "final_loss": sum(losses[-50:]) / max(1, len(losses[-50:])),
    }
    for name, path in (("tokenizer", objective.tokenizer_path), ("lam", objective.lam_path)):
        if path is not None:  # lets the world model notice a dynamics model paired with another tokenizer
            summary[f"{name}_sha256"] = _sha256(path)
    if objective.tokenizer is not None:
        summary["tokenizer_tokens_sha256"] = tokens_sha256(objective.tokenizer.state_dict())
    if init is not None:  # what the run started from, and how far that one was trained
        summary["init"] = {"file": init.path.name, "sha256": _sha256(init.path), "steps": init.summary.get("steps")}
        if opts.network == "tokenizer":  # a repainted file: a dynamics model that names the old file plays with it
            summary["init"]["tokens_sha256"] = tokens_sha256(init.tensors)
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

            self.bar = Progress(config.train.steps(opts.network), f"train {opts.network}", unit="steps", initial=start)
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


def _save_samples(objective: Objective, frames: torch.Tensor, path: Path) -> None:
    """A PNG grid: real frames above, what the network made of them below."""
    from genie_play.images import save_grid

    model = objective.model
    model.eval()
    with torch.no_grad():
        clip = frames[:2, :8]
        if objective.network == "tokenizer":
            made = ((model(clip).recon + 1) / 2).clamp(0, 1)
            real = clip
        elif objective.network == "lam":
            made = ((model(clip).prediction + 1) / 2).clamp(0, 1)
            real = clip[:, 1:]
        else:
            made = objective.tokenizer.decode(model(objective.tokenizer.encode(clip), objective.lam.infer_actions(clip)).logits.argmax(-1))
            real = clip[:, 1:]
    rows = []
    for b in range(clip.shape[0]):
        rows.append([f.cpu().numpy() for f in real[b]])
        rows.append([(f * 255).round().to(torch.uint8).cpu().numpy() for f in made[b]])
    save_grid(path, rows)
