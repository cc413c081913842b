"""`genie-play eval`: measure trained weights on held-out clips the way the Genie paper does.

It measures the networks the weights folder holds: all three (a world), or a lone LAM (a
training stage's output). Tokenizer: how well its search rebuilds each real frame from the real
frame before (its ceiling: what a perfect dynamics model would show) and the ids it uses. LAM
(genie_play.eval.lam_metrics): code usage and, where the data has ground-truth actions (the
built-in world), NMI and purity of codes vs true actions, the code -> action table that proposes
a keymap, and beside them the ceilings of what the data reveals. Dynamics: PSNR/SSIM of rollouts driven by
LAM-inferred actions, ΔtPSNR at t = delta_t (inferred vs random actions, same prompt and seed),
and a long random-action rollout checked for blur and freezing. Every rollout is the world
model's own `step`, so evaluation measures exactly what the player gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genie_play.device import select_device
from genie_play.errors import GenieError, file_error
from genie_play.eval import metrics as M
from genie_play.eval.lam_metrics import code_examples, lam_metrics
from genie_play.eval.motion import hold, view_scroll
from genie_play.eval.survival import found_sharpness, survival_metrics
from genie_play.io import check_can_write, load_network, write_json
from genie_play.world.lam import LatentActionModel
from genie_play.world.tokenizer import Tokenizer
from genie_play.world.world_model import WEIGHT_FILES, WorldModel

EFFECT_CLIPS = 64  # held-out clips whose transitions say what each code does on screen (about 20 s)
BANK_FRAMES = 48  # real frames whose 8x8 patches count as found in a long rollout (~1.5 s a rollout)
ROLLOUTS = 8  # long rollouts per prompt for the stability metrics: a sampled world varies a lot, and three
# put River Raid's found sharpness anywhere from 0.48 to 0.65 with the same world


@dataclass
class EvalOptions:
    weights: Path
    data: Path
    out: Path
    device: str = "auto"
    clips: int = 16  # held-out clips for the tokenizer and the rollouts (rollouts dominate the cost)
    lam_clips: int = 256  # held-out clips for the LAM and its ceilings (cheap; NMI needs many transitions)
    probe_data: Path | None = None  # labelled training clips for the inverse-dynamics probe; None: no probe
    probe_steps: int = 600
    delta_t: int = 4  # the paper's t for ΔtPSNR
    rollout_steps: int = 200  # length of each stability rollout (ROLLOUTS of them per prompt)
    maskgit_steps: int | None = None  # None: the weights' own setting
    seed: int = 0
    report: bool = True


@dataclass
class Rollouts:
    """Frames kept for the report: (clips, T, H, W, 3) uint8 each."""

    real: torch.Tensor
    recon: torch.Tensor | None = None
    inferred: torch.Tensor | None = None  # None (and the rest too) without a dynamics model
    random: torch.Tensor | None = None
    long: torch.Tensor | None = None  # (rollout_steps + 1, H, W, 3)
    panel: list[list[np.ndarray]] | None = None  # one row per latent action, stepped from the first prompt
    lam_examples: list[list[np.ndarray]] | None = None  # one row per code: transitions the LAM labelled with it


def evaluate(opts: EvalOptions) -> dict:
    """Compute every metric, write out/metrics.json (and the report); returns the metrics."""
    check_can_write(opts.out, folder=True)  # a bad --out is refused now, not after the rollouts
    for flag, value in (("--clips", opts.clips), ("--lam-clips", opts.lam_clips), ("--probe-steps", opts.probe_steps)):
        if value < 1:
            raise GenieError(f"{flag} must be at least 1, got {value}")
    world, tokenizer, lam, device = _load(Path(opts.weights), opts)
    probe = None
    config = (world or tokenizer or lam).config
    wanted = max(opts.clips, opts.lam_clips) if lam is not None else opts.clips
    frames, true_actions, clips, action_names = held_out_clips(opts.data, config, wanted, opts.seed)
    step = max(1, len(frames) // opts.clips)
    spread = slice(None, step * opts.clips, step)
    few = frames[spread]  # `clips` of them, spread over the folder like the LAM's
    result: dict = {"clips": len(few), "frames_per_clip": frames.shape[1], "image_size": config.image_size,
                    "networks": [n for n, net in (("tokenizer", tokenizer), ("lam", lam), ("dynamics", world)) if net]}
    rollouts = Rollouts(few)
    if tokenizer is not None:
        rollouts.recon = _tokenizer_metrics(tokenizer, few, device, result)
    if lam is not None:
        codes, probe = lam_metrics(lam, frames, true_actions, action_names, clips, result, device,
                            opts.probe_data, opts.probe_steps, opts.seed)
        rollouts.lam_examples = code_examples(frames, codes, lam.config.num_actions)
        every = slice(None, None, max(1, len(frames) // EFFECT_CLIPS))  # spread over the folder, like the clips
        effect_table(frames[every], codes[every], lam.config.num_actions, result)
    if world is not None:
        result.update(maskgit_steps=world.sampler.maskgit_steps, temperature=world.sampler.temperature,
                      min_p=world.sampler.min_p, carry_bias=world.sampler.carry_bias, overlay_rows=list(world.overlay))
        _dynamics_metrics(world, few, codes[spread], opts, result, rollouts, clips[spread])  # the LAM's codes of those clips
        if probe is not None:
            _probe_reads(world, few, probe, action_names, result)
    out = Path(opts.out)
    write_json(out / "metrics.json", result)
    if opts.report:
        from genie_play.eval.report import write_report

        write_report(out, result, rollouts, Path(opts.weights))
    return result


def effect_table(frames: torch.Tensor, codes: torch.Tensor, num_codes: int, result: dict) -> list:
    """Adds what each code does on screen (eval/code_effects.py, no labels) and the names it gives;
    returns the effects."""
    from genie_play.eval import code_effects as fx

    effects = fx.measure(frames.numpy(), codes.numpy(), num_codes)
    rest = effects[fx.resting_code(effects)]
    for e in effects:
        result[f"lam_code{e.code}_effect"] = {"name": fx.name(e, rest, effects), "transitions": e.transitions,
                                              "view_px": list(e.view), "sprite_px": list(e.sprite), "changed": e.changed,
                                              "cuts": e.cuts}
    return effects


def code_table(lam_path: Path, data: Path, device: str = "auto", clips: int = 256, seed: int = 0) -> dict:
    """The LAM's numbers alone (no world, no probe): its code -> true action table on `data`, what a
    keymap is proposed from before the world is evaluated with that keymap."""
    device = select_device(device)
    lam = load_network(Path(lam_path), "lam", LatentActionModel)[0].to(device).eval()
    frames, true_actions, windows, names = held_out_clips(data, lam.config, clips, seed)
    result: dict = {}
    lam_metrics(lam, frames, true_actions, names, windows, result, device, None, 0, seed)
    return result


def _load(folder: Path, opts: EvalOptions):
    """(world or None, tokenizer or None, LAM or None, device): a world when the folder holds a
    dynamics model (then all three are needed), else the LAM it holds."""
    if not folder.is_dir():
        raise file_error(folder, "weights folder not found")
    if (folder / WEIGHT_FILES["dynamics"]).exists():
        world = WorldModel.load(folder, device=opts.device, maskgit_steps=opts.maskgit_steps, seed=opts.seed)
        if world.lam is None:
            raise file_error(folder / WEIGHT_FILES["lam"], "no such file; eval of a world needs all three networks")
        return world, world.tokenizer, world.lam, world.device
    device = select_device(opts.device)
    if not (folder / WEIGHT_FILES["lam"]).exists():
        raise file_error(folder, "holds no lam or dynamics weights (*.safetensors) to evaluate")
    lam = load_network(folder / WEIGHT_FILES["lam"], "lam", LatentActionModel)[0].to(device).eval()
    return None, None, lam, device


def held_out_clips(data: Path, config, clips: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[dict], list[str]]:
    """`clips` evenly spread clips of a data folder: frames (C, T, H, W, 3) uint8, true actions
    (C, T-1), each window's recorded metadata (view, actions, resets) and the action names."""
    from genie_play.data.dataset import ClipDataset
    from genie_play.data.shards import open_folder

    dataset = ClipDataset(data, clip_frames=config.context_frames, seed=seed)
    if dataset.size != (config.image_size, config.image_size):
        raise file_error(data, f"frames are {dataset.size[0]}x{dataset.size[1]}, the weights need {config.image_size}x{config.image_size}")
    shards = open_folder(data)
    picks = np.unique(np.linspace(0, len(dataset) - 1, min(clips, len(dataset))).round().astype(int))
    items = [dataset[int(i)] for i in picks]
    frames = torch.stack([it["frames"] for it in items])
    true_actions = torch.stack([it["actions"] for it in items])  # -1 where unknown
    windows = []
    for i in picks:
        shard, clip, start = dataset.window(int(i))
        windows.append(_window(shards[shard].clips[clip], start, start + config.context_frames))
    return frames, true_actions, windows, shards[0].meta.get("action_names") or []


def _window(clip: dict, start: int, end: int) -> dict:
    """A clip's metadata cut to frames [start, end)."""
    view, actions = clip.get("view"), clip.get("actions")
    return {"view": view[start:end] if view else None, "actions": actions[start:end - 1] if actions else None,
            "resets": [t - start for t in clip.get("resets") or [] if start < t < end]}


@torch.inference_mode()
def _tokenizer_metrics(tok: Tokenizer, frames: torch.Tensor, device, result: dict) -> torch.Tensor:
    """Frames 2..T of each clip rebuilt by the tokenizer from the real frame before: its
    ceiling, what a perfect dynamics model would show. Also the share of blocks it carries."""
    prev, nxt = frames[:, :-1].flatten(0, 1).to(device), frames[:, 1:].flatten(0, 1).to(device)
    moves, ids = tok.encode(prev, nxt)
    recon = tok.decode(prev, moves, ids).cpu()
    nxt = nxt.cpu()
    usage = M.code_usage(ids.cpu(), tok.vocab.size)
    sharpness_ratio = M.sharpness(recon).mean() / M.sharpness(nxt).mean().clamp_min(1e-8)
    result.update(tokenizer_psnr=M.psnr(nxt, recon).mean().item(), tokenizer_ssim=M.ssim(nxt, recon).mean().item(),
                  tokenizer_sharpness_ratio=sharpness_ratio.item(), tokenizer_code_usage=usage["usage"],
                  tokenizer_perplexity=usage["perplexity"],
                  tokenizer_carry_share=(ids == tok.vocab.carry).float().mean().item(),
                  tokenizer_copy_psnr=M.psnr(nxt, prev.cpu()).mean().item())  # showing the frame before again
    return torch.cat([frames[:, :1], recon.view(frames.shape[0], -1, *frames.shape[2:])], dim=1)


def _rollout(world: WorldModel, prompt: torch.Tensor, actions: list[int]) -> torch.Tensor:
    frames = [world.reset(prompt.numpy())] + [world.step(a) for a in actions]
    return torch.from_numpy(np.stack(frames))  # (len(actions) + 1, H, W, 3)


@torch.inference_mode()
def _probe_reads(world: WorldModel, frames: torch.Tensor, probe, names: list[str], result: dict,
                 prompts: int = 4, steps: int = 4) -> None:
    """What the supervised probe (trained on the real game's labelled transitions) reads in the
    world's own transitions when each latent action is held: dynamics_code{c}_reads (the true action
    it most often sees) and its share, and dynamics_probe_agreement, the share of transitions read
    as the action the LAM's code table gives the code -- does a key do what its label says?"""
    device = next(probe.parameters()).device
    agree = total = 0
    for c in range(world.num_actions):
        pairs = []
        for prompt in frames[:prompts, 0]:
            rolled = hold(world, prompt.numpy(), c, steps)
            pairs += [np.stack([a, b]) for a, b in zip(rolled, rolled[1:])]
        reads = probe(torch.from_numpy(np.stack(pairs)).to(device)).argmax(-1).cpu()
        counts = torch.bincount(reads, minlength=len(names))
        best = int(counts.argmax())
        result[f"dynamics_code{c}_reads"] = names[best] if best < len(names) else str(best)
        result[f"dynamics_code{c}_reads_share"] = counts[best].item() / len(reads)
        meaning = result.get(f"lam_code{c}_action")
        if meaning in names:
            agree += int((reads == names.index(meaning)).sum())
            total += len(reads)
    if total:
        result["dynamics_probe_agreement"] = agree / total


@dataclass
class LongRollout:
    """One long rollout of random keys and what it kept."""

    frames: torch.Tensor  # (steps + 1, H, W, 3) uint8
    sharpness: float  # of its last quarter, over real frames'
    found_sharpness: float  # the same, counting only the detail real frames or the prompt also show
    found_share: float  # share of the last quarter's 8x8 patches found there
    frozen: float  # share of presses of a key that moves that left the frame unchanged


def stability(world: WorldModel, prompt: torch.Tensor, actions: list[int], real_sharpness: torch.Tensor,
              bank: np.ndarray, still: frozenset = frozenset()) -> LongRollout:
    """A long rollout from `prompt` under `actions`; `bank` (N, H, W, 3) holds real frames whose
    patches count as found (with the prompt's), `still` the codes allowed to leave the frame as it was."""
    long = _rollout(world, prompt, actions)
    tail = long[-max(1, len(long) // 4):]
    moving = [i for i in range(len(actions)) if actions[i] not in still]
    frozen = sum(torch.equal(long[i], long[i + 1]) for i in moving) / max(1, len(moving))
    found, share = found_sharpness(tail[::5].numpy(), np.concatenate([bank, prompt.numpy()[None]]))
    scale = real_sharpness.clamp_min(1e-8).item()
    return LongRollout(long, (M.sharpness(tail).mean() / scale).item(), float(found.mean()) / scale,
                       float(share.mean()), frozen)


def long_rollouts(world: WorldModel, frames: torch.Tensor, prompts: list[torch.Tensor], sequences: list[list[int]],
                  still: frozenset = frozenset()) -> list[LongRollout]:
    """Each prompt's long rollout under its keys, scored against the real clips `frames` (C, T, H, W, 3)."""
    real_sharpness = M.sharpness(frames.flatten(0, 1)).mean()
    bank = frames[:, ::5].flatten(0, 1)[:BANK_FRAMES].numpy()  # real frames: what a kept patch may look like
    return [stability(world, prompt, keys, real_sharpness, bank, still) for prompt, keys in zip(prompts, sequences)]


def long_rollout_means(prefix: str, runs: list[LongRollout]) -> dict:
    """The means over `runs` (and each run's sharpness ratio) under `prefix`_... keys."""
    return {f"{prefix}_sharpness_ratio": float(np.mean([r.sharpness for r in runs])),
            f"{prefix}_sharpness_ratios": [r.sharpness for r in runs],
            f"{prefix}_found_sharpness_ratio": float(np.mean([r.found_sharpness for r in runs])),
            f"{prefix}_found_share": float(np.mean([r.found_share for r in runs])),
            f"{prefix}_frozen_fraction": float(np.mean([r.frozen for r in runs]))}


def moving_nothing(result: dict, num_actions: int) -> frozenset:
    """The codes whose effect on screen (effect_table's, in `result`) moves nothing, or is rare."""
    return frozenset(c for c in range(num_actions) if _moves_nothing(result.get(f"lam_code{c}_effect")))


def _moves_nothing(effect: dict | None) -> bool:
    from genie_play.eval.code_effects import MOVES

    if effect is None:
        return False
    return effect["name"] == "rare" or max(map(abs, effect["view_px"] + effect["sprite_px"])) < MOVES


def _sketch_prompt(size: int) -> torch.Tensor | None:
    """The first bundled sketch prompt at the model's size, or None when none is bundled."""
    from genie_play.images import fit_frame, load_image
    from genie_play.paths import prompts_dir

    paths = sorted(prompts_dir().glob("sketch-*.png"))
    return torch.from_numpy(fit_frame(load_image(paths[0]), size)) if paths else None


def controllability(world: WorldModel, frames: torch.Tensor, inferred: torch.Tensor, delta_t: int,
                    rng: torch.Generator, result: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Rollout PSNR with LAM-inferred actions and ΔtPSNR against random actions (the paper's measure).

    Adds dynamics_psnr, dynamics_ssim, dynamics_psnr_t{i}, delta_t, dynamics_delta_psnr to `result`;
    returns the rollouts: inferred (C, T, H, W, 3) and random (C, t+1, H, W, 3).
    """
    t = min(delta_t, frames.shape[1] - 1)
    with_inferred, with_random = [], []
    for c in range(len(frames)):
        with_inferred.append(_rollout(world, frames[c, 0], inferred[c].tolist()))
        random_actions = torch.randint(world.num_actions, (t,), generator=rng).tolist()
        with_random.append(_rollout(world, frames[c, 0], random_actions))
    rolled, randomised = torch.stack(with_inferred), torch.stack(with_random)
    psnr = M.psnr(frames[:, 1:], rolled[:, 1:])  # (C, T-1)
    per_step = psnr.mean(0)  # (T-1,)
    per_clip = psnr[:, :8].mean(1)  # (C,) over our bar's horizon, the first 8 steps; clips differ by far more
    # than worlds do, so the mean comes with its standard error
    result.update(
        dynamics_psnr=per_step.mean().item(),
        dynamics_ssim=M.ssim(frames[:, 1:], rolled[:, 1:]).mean().item(),
        **{f"dynamics_psnr_t{i + 1}": v.item() for i, v in enumerate(per_step)},
        dynamics_psnr_8=per_clip.mean().item(),
        dynamics_psnr_8_stderr=(per_clip.std() / len(per_clip) ** 0.5).item() if len(per_clip) > 1 else float("nan"),
        delta_t=t,
        dynamics_delta_psnr=M.delta_psnr(frames[:, t], rolled[:, t], randomised[:, t]),
    )
    return rolled, randomised


def _dynamics_metrics(world: WorldModel, frames: torch.Tensor, inferred: torch.Tensor, opts: EvalOptions,
                      result: dict, rollouts: Rollouts, windows: list[dict] | None = None) -> None:
    rng = torch.Generator().manual_seed(opts.seed)
    rolled, randomised = controllability(world, frames, inferred, opts.delta_t, rng, result)
    # One long rollout is one draw of a sampled world: from a sketch, three sequences of random keys
    # gave sharpness ratios from 0.005 to 0.19. So each prompt plays ROLLOUTS sequences (from the
    # first clips' first frames, and the sketch), and the metrics are their means.
    sequences = [torch.randint(world.num_actions, (opts.rollout_steps,), generator=rng).tolist() for _ in range(ROLLOUTS)]
    prompts = [frames[i % len(frames), 0] for i in range(ROLLOUTS)]
    # Standing still may leave a frame as it was; every other key must change it. Still: the true
    # action idle where the data has true actions, else a code that moves nothing on screen.
    still = frozenset(c for c in range(world.num_actions) if result.get(f"lam_code{c}_action") == "idle")
    if not any(result.get(f"lam_code{c}_action") for c in range(world.num_actions)):
        still = moving_nothing(result, world.num_actions)
    result["rollout_still_codes"] = sorted(still)
    runs = long_rollouts(world, frames, prompts, sequences, still)
    long = runs[0].frames
    tails = [run.frames[-max(1, len(run.frames) // 4):] for run in runs]
    result.update(
        rollout_steps=opts.rollout_steps, rollout_count=len(runs), **long_rollout_means("rollout", runs),
        rollout_tail_psnr_vs_prompt=float(np.mean([M.psnr(t, p.expand_as(t)).mean().item() for t, p in zip(tails, prompts)])),
    )
    sketch = _sketch_prompt(world.config.image_size)
    if sketch is not None:  # players draw: the same random keys from a bundled sketch
        sketch_sharpness = M.sharpness(sketch[None]).mean()
        runs = [stability(world, sketch, keys, sketch_sharpness, np.zeros((0, *sketch.shape), np.uint8), still)
                for keys in sequences]
        result.update(long_rollout_means("rollout_sketch", runs))
    for code, px in enumerate(view_scroll(world, frames[0, 0].numpy())):
        result[f"action{code}_scroll_px"] = px  # what holding the code 8 steps does to the view
    panel = []
    for a in range(world.num_actions):  # the same prompt stepped with each latent action
        panel.append(list(_rollout(world, frames[0, 0], [a] * 5).numpy()))
    rollouts.inferred, rollouts.random, rollouts.long, rollouts.panel = rolled, randomised, long, panel
    # Does the picture survive holding right, and the player the rollout? (eval/survival.py)
    survival_metrics(world, frames, rolled, windows, result)
