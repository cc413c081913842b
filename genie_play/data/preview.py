"""`data preview`: a picture of what the model learns from: random clips with their style and true actions.

A .png is a contact sheet (each clip as a strip of consecutive frames, the action that led to
each frame written under it); a .gif is an animated grid that plays the clips side by side.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from genie_play.data.shards import Shard, clip_actions, open_folder
from genie_play.data.styles import HELDOUT_FAMILIES
from genie_play.errors import GenieError
from genie_play.io import atomic_path

STRIP_FRAMES = 6  # frames per clip on a contact sheet
BG, FG, DIM = (24, 24, 28), (235, 235, 235), (150, 150, 160)


def write_preview(folder: str | Path, out: str | Path, clips: int = 16, seed: int = 0) -> Path:
    """Write a contact sheet (.png) or an animated grid (.gif) of `clips` random clips of `folder`."""
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".png", ".gif"):
        raise GenieError(f"{out}: preview must be a .png or .gif file")
    if clips < 1:
        raise GenieError(f"--clips must be at least 1, got {clips}")
    shards = open_folder(folder)
    chosen = _choose(shards, clips, seed)
    if kind == ".png":
        img = contact_sheet(chosen)
        with atomic_path(out) as tmp:
            img.save(tmp, format="PNG", optimize=True)
    else:
        frames, fps = animated_grid(chosen)
        with atomic_path(out) as tmp:
            frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                           duration=round(1000 / fps))
    print(f"{out}: {len(chosen)} clips from {folder}")
    return out


def _choose(shards: list[Shard], n: int, seed: int) -> list[tuple[Shard, int]]:
    """n distinct clips at random (all of them if there are fewer), in a reproducible order."""
    pairs = [(s, c) for s in shards for c in range(s.meta["shape"][0])]
    rng = np.random.default_rng(seed)
    return [pairs[i] for i in rng.permutation(len(pairs))[:n]]


def _title(shard: Shard, c: int) -> str:
    clip = shard.clips[c]
    style = clip.get("style")
    if style:
        held = " (held out)" if style["family"] in HELDOUT_FAMILIES else ""
        return f"{style['family']}{held}  {style.get('player', '')}/{style.get('tiles', '')}"
    source = Path(str(clip.get("source", "?"))).name
    return f"{source[:24]} @{clip.get('start', 0)}"


def _font():
    return ImageFont.load_default()


def contact_sheet(chosen: list[tuple[Shard, int]]) -> Image.Image:
    """Strips of consecutive frames, two columns, each frame labelled with the action that led to it."""
    h, w = chosen[0][0].meta["shape"][2:4]
    scale = max(1, 64 // h)
    fw, fh = w * scale, h * scale
    n_frames = min(STRIP_FRAMES, min(s.meta["shape"][1] for s, _ in chosen))
    line, pad = 12, 6
    strip_w, strip_h = n_frames * (fw + 2), line + fh + line + pad
    cols = 2 if len(chosen) > 1 else 1
    rows = math.ceil(len(chosen) / cols)
    sheet = Image.new("RGB", (cols * strip_w + (cols + 1) * pad, rows * strip_h + pad), BG)
    draw, font = ImageDraw.Draw(sheet), _font()
    for k, (shard, c) in enumerate(chosen):
        x0, y0 = pad + (k % cols) * (strip_w + pad), pad + (k // cols) * strip_h
        draw.text((x0, y0), _title(shard, c), fill=FG, font=font)
        frames = np.asarray(shard.frames[c, :n_frames])
        names = shard.meta.get("action_names") or []
        actions = clip_actions(shard.clips[c], shard.meta["shape"][1])
        resets = set(shard.clips[c].get("resets") or [])
        for t in range(n_frames):
            img = Image.fromarray(frames[t]).resize((fw, fh), Image.NEAREST)
            sheet.paste(img, (x0 + t * (fw + 2), y0 + line))
            if t == 0:
                label = "start"
            elif t in resets:
                label = "new level"
            elif actions[t - 1] >= 0 and names:
                label = names[actions[t - 1]]
            else:
                label = "?"
            draw.text((x0 + t * (fw + 2), y0 + line + fh + 1), label, fill=DIM, font=font)
    return sheet


def animated_grid(chosen: list[tuple[Shard, int]], max_frames: int = 64) -> tuple[list[Image.Image], float]:
    """GIF frames of all clips playing at once, each captioned with its style and current action."""
    h, w = chosen[0][0].meta["shape"][2:4]
    scale = max(1, 128 // h)
    fw, fh, cap = w * scale, h * scale, 24
    cols = math.ceil(math.sqrt(len(chosen)))
    rows = math.ceil(len(chosen) / cols)
    length = min(max_frames, max(s.meta["shape"][1] for s, _ in chosen))
    fps = float(chosen[0][0].meta.get("fps") or 15)
    font = _font()
    out = []
    for t in range(length):
        canvas = Image.new("RGB", (cols * (fw + 4) + 4, rows * (fh + cap) + 4), BG)
        draw = ImageDraw.Draw(canvas)
        for k, (shard, c) in enumerate(chosen):
            T = shard.meta["shape"][1]
            tt = min(t, T - 1)
            x0, y0 = 4 + (k % cols) * (fw + 4), 4 + (k // cols) * (fh + cap)
            canvas.paste(Image.fromarray(np.asarray(shard.frames[c, tt])).resize((fw, fh), Image.NEAREST), (x0, y0))
            names = shard.meta.get("action_names") or []
            a = clip_actions(shard.clips[c], T)[tt - 1] if tt > 0 else -1
            draw.text((x0, y0 + fh), _title(shard, c).split("  ")[0], fill=FG, font=font)
            draw.text((x0, y0 + fh + 11), names[a] if a >= 0 and names else "", fill=DIM, font=font)
        out.append(canvas)
    return out, fps
