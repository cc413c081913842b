"""`train all --videos`: a world from your own footage, which carries no action labels.

Before training: import the footage into DIR/data (the end of each source held out) and refuse
footage that cannot make a world. After: name the 8 codes from what they do on screen in the
held-out clips (eval/code_effects.py), write the keymap, evaluate the world on the held-out clips
with it, and write the world's model card with every stage's time.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from genie_play.config import GenieConfig
from genie_play.errors import GenieError
from genie_play.io import write_json, write_text

MIN_CLIPS = 32  # training clips below which a world learns nothing worth playing (~35 s of 15 fps video)
IMPORTED = "imported.json"  # written when the import is complete: --resume keeps it
PROMPTS = 6  # held-out first frames written to DIR/prompts: where play starts, and its gallery


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def import_footage(folder: Path, videos: tuple[Path, ...], config: GenieConfig) -> Path:
    """Import `videos` into folder/train and folder/heldout (once; an unfinished import starts over)
    and check they can make a world; returns the training folder."""
    from genie_play.data.video_import import import_paths

    if not (folder / IMPORTED).exists():
        for part in ("train", "heldout"):  # shards of an interrupted import would be imported twice
            shutil.rmtree(folder / part, ignore_errors=True)
        summary = import_paths(list(videos), folder / "train", size=config.image_size, frames=config.context_frames,
                               heldout=folder / "heldout")
        check_footage(folder, summary, config)
        write_json(folder / IMPORTED, {**summary, "videos": [str(v) for v in videos]})
    return folder / "train"


def check_footage(folder: Path, summary: dict, config: GenieConfig) -> None:
    """One line saying why imported footage cannot make a world: too little of it, or no motion."""
    from genie_play.data.dataset import ClipDataset

    seconds = MIN_CLIPS * config.context_frames / 15
    if summary["clips"] < MIN_CLIPS or not summary["heldout_clips"]:
        raise GenieError(f"{folder}: too little footage for a world: {summary['clips']} training clips of "
                         f"{config.context_frames} frames, it needs at least {MIN_CLIPS} (about {seconds:.0f} s of video) "
                         "and enough per video to hold its end out")
    data = ClipDataset(folder / "train", clip_frames=config.context_frames, seed=0)
    picks = np.linspace(0, len(data) - 1, min(64, len(data))).round().astype(int)
    frames = np.stack([data[int(i)]["frames"].numpy() for i in picks]).astype(np.int16)
    if np.abs(np.diff(frames, axis=1)).max() <= 2:  # codec noise at most
        raise GenieError(f"{folder}: every frame of the footage is the same picture: a world learns from what moves")


def write_prompts(out: Path, heldout: Path, config: GenieConfig) -> None:
    """out/prompts/: first frames of held-out clips spread over the footage, `default.png` first:
    `play --weights out` starts there and its gallery shows them, so a world is played on its own footage."""
    from PIL import Image

    from genie_play.eval.evaluate import held_out_clips
    from genie_play.io import atomic_path

    frames = held_out_clips(heldout, config, PROMPTS, 0)[0]
    for i, clip in enumerate(frames):
        with atomic_path(out / "prompts" / ("default.png" if i == 0 else f"heldout-{i}.png")) as tmp:
            Image.fromarray(clip[0].numpy()).save(tmp, format="PNG")


def code_effects(lam_path: Path, heldout: Path, device: str) -> list:
    """What each code of the LAM in `lam_path` does in the held-out clips (eval/code_effects.py)."""
    import torch

    from genie_play.device import select_device
    from genie_play.eval import code_effects as fx
    from genie_play.eval.evaluate import held_out_clips
    from genie_play.eval.lam_metrics import infer_codes
    from genie_play.io import load_network
    from genie_play.world.lam import LatentActionModel

    device = select_device(device)
    lam = load_network(lam_path, "lam", LatentActionModel)[0].to(device).eval()
    frames, _, _, _ = held_out_clips(heldout, lam.config, 256, 0)
    with torch.inference_mode():
        codes = infer_codes(lam, frames, device)
    return fx.measure(frames.numpy(), codes.numpy(), lam.config.num_actions)


def name_codes(out: Path, data: Path, device: str) -> list:
    """What each code of out/lam.safetensors does in the held-out clips; writes out/keymap.toml from it."""
    from genie_play.eval import code_effects as fx

    effects = code_effects(out / "lam.safetensors", data, device)
    header = ("# Proposed by `genie-play train all --videos` from what each code does on screen in the held-out\n"
              "# clips (view and sprite moves in px a step, beyond the resting code's); check it in the action\n"
              "# explorer (Tab) and rename or remap (M).\n")
    write_text(out / "keymap.toml", header + fx.propose_keymap(effects).to_toml())
    return effects


STEERLESS = ("no code moves the view or a sprite in the held-out clips, so no arrow key will steer the world "
             "(footage whose camera follows what the player moves works best)")


def steers(keymap) -> bool:
    """Does the keymap bind an arrow key (a code that moves the view or a sprite)?"""
    from genie_play.eval.code_effects import KEYS

    return any(keymap.code_for_key(key) is not None for key in KEYS)  # the arrows the proposal binds


def check_steering(lam_path: Path, heldout: Path, device: str) -> None:
    """Right after the LAM stage, before the long dynamics stage: warn when its codes steer nothing."""
    from genie_play.eval.code_effects import propose_keymap

    if not steers(propose_keymap(code_effects(lam_path, heldout, device))):
        print(f"genie-play: warning: {lam_path}: {STEERLESS}; training goes on (Ctrl-C stops it, --resume "
              "continues)", file=sys.stderr)


def evaluate_footage(out: Path, data: Path, device: str) -> tuple[dict, list]:
    """Name the codes (out/keymap.toml), then evaluate the world on data/heldout with that keymap."""
    from genie_play.eval.evaluate import EvalOptions, evaluate

    effects = name_codes(out, data / "heldout", device)
    return evaluate(EvalOptions(out, data / "heldout", out / "eval", device=device)), effects


def write_model_card(out: Path, data: Path, result: dict, effects: list) -> None:
    """out/MODEL_CARD.md, once every stage's time is in out/stages.json; says how to play the world."""
    from genie_play.keymap import load_keymap

    keymap = load_keymap(out / "keymap.toml")
    write_text(out / "MODEL_CARD.md", model_card(out, result, effects, keymap, read_json(data / IMPORTED)))
    if not steers(keymap):
        print(f"genie-play: warning: {out}: {STEERLESS}", file=sys.stderr)
    print(f"{out}: your world is ready (MODEL_CARD.md). Play it: genie-play play --weights {out}"
          " (it starts on a held-out frame of your footage; G shows the others)")


ROWS = (  # (metric, what it says), in the card's order
    ("tokenizer_psnr", "tokenizer PSNR: the real frame rebuilt from the one before (dB)"),
    ("dynamics_psnr_8", "rollout PSNR over 8 steps, the LAM's codes (dB)"),
    ("dynamics_delta_psnr", "ΔtPSNR: the LAM's codes against random ones (dB)"),
    ("kept_1_heldout", "kept_1: held-out first frames' structure after 1 press of {key}"),
    ("kept_8_heldout", "kept_8: ... after 8 presses"),
    ("px_per_step_heldout", "the view's move {key} while {key} is held (px a step)"),
    ("new_strip_sharpness_heldout", "sharpness of what scrolls in, over the picture's"),
    ("rollout_sharpness_ratio", "200 random keys: sharpness of the last quarter, over real frames'"),
    ("rollout_found_sharpness_ratio", "... counting only detail real frames also show (a torn frame's seams count as flat)"),
    ("rollout_found_share", "... share of its 8x8 patches found in real frames"),
    ("rollout_frozen_fraction", "200 random keys: share of moving keys that left the frame unchanged"),
    ("opposite_right_left", "right and left travel opposite ways, the view or a sprite moved whole (share of held-out first frames)"),
    ("opposite_down_up", "down and up travel opposite ways, the view or a sprite moved whole (share of held-out first frames)"),
    ("lam_perplexity", "codes in use (perplexity of 8)"),
)


def model_card(out: Path, result: dict, effects: list, keymap, imported: dict) -> str:
    """The model card of a world trained from footage: its data, stage times, numbers and keys."""
    from genie_play.calibrate import CALIBRATION, LONG_STEPS
    from genie_play.eval.code_effects import note

    times = read_json(out / "stages.json") if (out / "stages.json").exists() else {}
    lines = [f"# A world from your footage: {out.name}", "",
             f"Trained by `genie-play train all --videos` on {imported['clips']} clips of "
             f"{result.get('frames_per_clip', '?')} frames from {imported['sources']} source(s); "
             f"{imported['heldout_clips']} clips (the end of each source) held out for the numbers below.", "",
             "| stage | minutes |", "|---|---|"]
    lines += [f"| {stage} | {times[stage] / 60:.1f} |" for stage in ("data", "lam", "dynamics", "calibrate", "eval") if stage in times]
    lines.append(f"| **all** | **{sum(times.values()) / 60:.1f}** |")
    lines += ["", "| measure | value |", "|---|---|"]
    for key, what in ROWS:
        if result.get(key) is not None:
            lines.append(f"| {what.format(key=result.get('survival_key', 'right'))} | {result[key]:.3f} |")
    if (out / CALIBRATION).exists():
        found = read_json(out / CALIBRATION)
        tried = ", ".join(f"{row['carry_bias']:g}: {row['found_sharpness']:.2f}" for row in found["ladder"])
        lines += ["", f"The sampler's carry bias is {found['carry_bias']:g}, chosen on training clips by the found "
                      f"sharpness of {LONG_STEPS} random keys at each bias tried ({tried})."]
    top, bottom = result.get("overlay_rows", (0, 0))
    if top or bottom:
        lines += ["", f"The screen's overlay: {top} rows at the top and {bottom} at the bottom stay put while the "
                      "camera moves in the training clips (a score bar, a gauge); play keeps them on screen and out "
                      "of the world it remembers."]
    if keymap is not None and not steers(keymap):
        lines += ["", f"**This world does not steer:** {STEERLESS}."]
    lines += ["", "What each code does in the held-out clips (no labels: read from the pixels):", "",
              "| code | label | keys | measured |", "|---|---|---|---|"]
    for e in effects:
        b = keymap.bindings[e.code]
        lines.append(f"| {e.code} | {b.label} | {', '.join(b.keys) or '-'} | {note(e)} |")
    lines += ["", f"Play it: `genie-play play --weights {out}`: it starts on `prompts/default.png`, a held-out frame "
              "of the footage (G shows the others in `prompts/`). The full numbers: `eval/metrics.json` and "
              "`eval/report.html`.", ""]
    return "\n".join(lines)
