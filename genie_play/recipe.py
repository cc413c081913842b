"""The recipe: data, one network or the whole world (LAM -> dynamics -> character; the tokenizer is a search),
then the sampler's calibration (genie_play.calibrate), evaluation and a proposed keymap. It sits
above `train` and `eval`, which know nothing of each other.

`all` trains each stage in its own sub-folder of --out, hands the exported LAM to the dynamics and
character stages, and copies the weights files to --out itself, ready for `play` or `eval --weights`.
The character (world/character.py) is trained on the built-in world's data; footage worlds are
shipped without one (`train character --data --lam` adds one where the camera follows a sprite).
With --resume, finished stages are kept and the interrupted one continues.
Without --data, `all` is the whole recipe of the shipped weights: it first generates the built-in
world's data (training clips plus held-out levels and held-out styles) in --out/data, and at the
end evaluates on both held-out sets and proposes a keymap (--out/keymap.toml) from what each
latent code turned out to mean. With --videos, `all` imports your footage instead and ends with
genie_play.footage: a keymap named from the pixels, the evaluation and a model card.
Each stage's wall time goes to --out/stages.json.
"""

from __future__ import annotations

import dataclasses
import json
import time
from contextlib import contextmanager
from pathlib import Path

from genie_play.config import GenieConfig
from genie_play.errors import GenieError
from genie_play.io import atomic_path, write_json, write_text
from genie_play.train.lam_training import RunOptions, train_lam

NETWORKS = ("lam", "dynamics", "character")  # what learns: the tokenizer is a search


# The built-in world's data for `train all` without --data: (folder, split, episodes, seed).
RECIPE_DATA = (
    ("train", "train", 2000, 0),
    ("heldout_levels", "train", 200, 777),  # training styles on levels never trained on
    ("heldout_styles", "heldout", 200, 778),  # the crayon and neon styles, never trained on
)
EVAL_SPLITS = {"levels": "heldout_levels", "styles": "heldout_styles"}


def generate_recipe_data(folder: Path, config: GenieConfig, workers: int = 2) -> Path:
    """Generate (or finish generating: shards already there are kept) the recipe's data; returns the training folder."""
    from genie_play.data.generate import generate
    from genie_play.data.record import GenerateSpec

    for name, split, episodes, seed in RECIPE_DATA:
        spec = GenerateSpec(str(folder / name), episodes, config.context_frames, config.image_size, seed, split)
        generate(spec, workers=workers)
    return folder / "train"


def evaluate_and_propose_keymap(out: Path, data: Path, device: str, num_actions: int) -> None:
    """Propose out/keymap.toml from the LAM's code -> true action table on held-out levels, then
    evaluate the run's weights on both held-out sets with that keymap (the survival measures hold
    the key it labels right)."""
    from genie_play.keymap import propose_keymap
    from genie_play.eval.evaluate import EvalOptions, code_table, evaluate, held_out_clips
    from genie_play.world.world_model import CHARACTER_FILE, WorldModel

    levels = code_table(out / "lam.safetensors", data / EVAL_SPLITS["levels"], device)
    counts = [levels.get(f"lam_code{c}_counts") or [] for c in range(num_actions)]
    keymap = propose_keymap(counts, levels.get("lam_actions") or [])
    header = ("# Proposed by `genie-play train all` from the LAM's code -> true action table on held-out\n"
              "# levels (eval/levels/metrics.json); check it in the action explorer (Tab) and fix labels by hand.\n")
    if (out / CHARACTER_FILE).exists():
        world = WorldModel.load(out, device)
        first_frames = held_out_clips(data / EVAL_SPLITS["levels"], world.config, 16, 0)[0][:, 0].numpy()
        keymap = jump_from_character(keymap, world, list(first_frames))
    write_text(out / "keymap.toml", header + keymap.to_toml())
    for name, folder in EVAL_SPLITS.items():
        evaluate(EvalOptions(out, data / folder, out / "eval" / name, device=device, probe_data=data / "train"))


def jump_from_character(keymap, world, prompts: list):
    """The jump keys on the jump code (jump, jump left or right in the table) that lifts the world's
    character from the most `prompts` (held-out first frames): the table names the transitions a
    code holds, and the code holding most "jump" frames may hold the flight, not the take-off."""
    from genie_play.eval.motion import take_off_code
    from genie_play.keymap import with_jump_on

    codes = [b.code for b in keymap.bindings if b.label.startswith("jump")]
    best, counts = take_off_code(world, prompts, codes)
    if best is None:
        return keymap
    why = (f"lifts the character from {counts[best]} of {len(prompts)} held-out first frames "
           f"(held 3 steps; {', '.join(f'code {c}: {n}' for c, n in counts.items())})")
    return with_jump_on(keymap, best, why)


@contextmanager
def timed(out: Path, stage: str):
    """Adds the stage's wall seconds to out/stages.json when it ends (a resumed stage adds its rest)."""
    start = time.monotonic()
    yield
    path = out / "stages.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    times[stage] = round(times.get(stage, 0.0) + time.monotonic() - start, 1)
    write_json(path, times)


def open_dataset(data: Path, config: GenieConfig):
    """Training clips of `context_frames` frames from a data folder (any image size is checked later)."""
    from genie_play.data.dataset import ClipDataset

    return ClipDataset(data, clip_frames=config.context_frames, seed=config.train.seed)


def train_networks(config: GenieConfig, opts: RunOptions) -> list[Path]:
    """Run `opts.network` ("lam", "dynamics" or "all"); returns the exported weights files.

    The LAM first (trained, or --lam), then the dynamics model on the transitions the LAM names;
    the tokenizer is a search and is written with them."""
    from genie_play.train.dynamics_training import train_dynamics

    if opts.network not in ("all", *NETWORKS):
        raise GenieError(f"there is no {opts.network} to train: the tokenizer is a search (train lam, dynamics, character or all)")
    generated = opts.data is None and not opts.videos
    if opts.data is None and opts.network != "all":
        raise GenieError(f"train {opts.network} needs --data DIR (only `train all` generates its own)")
    if opts.data is None:
        from genie_play.footage import import_footage

        with timed(Path(opts.out), "data"):
            data = Path(opts.out) / "data"
            train = import_footage(data, opts.videos, config) if opts.videos else generate_recipe_data(data, config)
        opts = dataclasses.replace(opts, data=train)
    if opts.network == "lam":
        exported = train_lam(config, opts, open_dataset(opts.data, config))
        return [exported] if exported else []
    out = Path(opts.out)
    lam = opts.lam
    if opts.network == "character":
        if lam is None:
            raise GenieError("train character needs --lam FILE (the LAM of the world it will play in)")
        from genie_play.train.character_training import train_character

        with timed(out, "character"):
            return [train_character(config, Path(opts.data), Path(lam), out, resume=opts.resume, progress=not opts.quiet)]
    if lam is None:
        if opts.network == "dynamics":
            raise GenieError("train dynamics needs --lam FILE (a trained LAM)")
        lam = out / "lam" / "lam.safetensors"
        if not (opts.resume and lam.exists()):  # a finished stage is kept
            stage = dataclasses.replace(opts, network="lam", out=out / "lam", resume=opts.resume and (out / "lam").exists())
            with timed(out, "lam"):
                lam = train_lam(config, stage, open_dataset(opts.data, config))
            if lam is None:  # stopped by a signal; its checkpoint is saved
                return []
    exported = out / "dynamics" / "dynamics.safetensors"
    if not (opts.resume and exported.exists()):
        if opts.videos:
            from genie_play.footage import check_steering

            check_steering(Path(lam), Path(opts.data).parent / "heldout", opts.device)
        with timed(out, "dynamics"):
            exported = train_dynamics(config, Path(opts.data), out / "dynamics", Path(lam), resume=opts.resume,
                                      init=opts.init, progress=not opts.quiet)
    if exported is None:
        return []
    files = [exported.parent / f"{name}.safetensors" for name in ("tokenizer", "lam", "dynamics")]
    if generated:
        files += train_character_stage(config, opts, Path(lam))
    return ship(files, out, opts, config, generated)


def train_character_stage(config: GenieConfig, opts, lam: Path) -> list[Path]:
    """`all`'s character stage: [out/character/character.safetensors], or [] where the clips show none
    (the world then carries its pictures whole, the character with them)."""
    from genie_play.train.character_training import NoCharacter, train_character
    from genie_play.world.world_model import CHARACTER_FILE

    out = Path(opts.out)
    character = out / "character" / "character.safetensors"
    if opts.resume and character.exists():
        return [character]
    (out / CHARACTER_FILE).unlink(missing_ok=True)  # a world from an earlier run must not keep its character
    try:
        with timed(out, "character"):
            return [train_character(config, Path(opts.data), lam, out / "character", resume=opts.resume,
                                    progress=not opts.quiet)]
    except NoCharacter as e:
        print(f"character: none ({e}); the world plays without one", flush=True)
        return []


def ship(paths: list[Path], out: Path, opts, config: GenieConfig, generated: bool) -> list[Path]:
    """Copy the run's weights files to `out`; on the recipe's own data, evaluate and propose a keymap."""
    shipped = []
    for path in paths:
        with atomic_path(out / path.name) as tmp:
            tmp.write_bytes(path.read_bytes())
        shipped.append(out / path.name)
    if generated or opts.videos:
        from genie_play.calibrate import calibrate

        with timed(out, "calibrate"):
            calibrate(out, Path(opts.data), opts.device)
    if generated:
        with timed(out, "eval"):
            evaluate_and_propose_keymap(out, Path(opts.data).parent, opts.device, config.num_actions)
    elif opts.videos:
        from genie_play.footage import evaluate_footage, write_model_card, write_prompts

        write_prompts(out, Path(opts.data).parent / "heldout", config)
        with timed(out, "eval"):
            result, effects = evaluate_footage(out, Path(opts.data).parent, opts.device)
        write_model_card(out, Path(opts.data).parent, result, effects)
    return shipped
