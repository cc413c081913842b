"""Picture survival: does the player's picture stay on screen, intact, while "right" is held?

PSNR against the real clip says little when a world is sampled, and nothing on a picture the
world never saw. These measures read the picture itself: `kept` is the share of the prompt's
structured patches that a frame still shows somewhere along the way a rightward scroll would
have carried them (a world that blurs, repaints or freezes the picture loses them), `view_move`
is how fast the view moves, and `new_strip_sharpness` asks whether the columns that scrolled in
are as detailed as the picture's own. Real frames of the built-in world give the ceiling of
`kept` (`real_ceiling`), a flat grey frame its floor (nothing kept), and `player_box_psnr` asks whether the
player's sprite survives a rollout. Pure NumPy apart from the sharpness and PSNR helpers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genie_play.eval import metrics as M
from genie_play.eval.code_effects import opposite_keys
from genie_play.eval.motion import hold, lifts, scroll, view_scroll

HELDOUT_PROMPTS = 8  # held-out first frames of own footage played as pictures


def _grey(frame: np.ndarray) -> np.ndarray:
    return np.asarray(frame, np.float32).mean(axis=-1)


def structured_patches(frame: np.ndarray, patch: int = 8) -> list[tuple[int, int]]:
    """Top-left corners (y, x) of the non-overlapping patches whose gradient energy is above the
    frame's median: the detail a world has to keep (flat sky matches anything)."""
    g = _grey(frame)
    rows, cols = g.shape[0] // patch, g.shape[1] // patch
    blocks = g[:rows * patch, :cols * patch].reshape(rows, patch, cols, patch)
    energy = (np.diff(blocks, axis=1) ** 2).sum(axis=(1, 3)) + (np.diff(blocks, axis=3) ** 2).sum(axis=(1, 3))
    ys, xs = np.nonzero(energy > np.median(energy))  # strictly above: a flat frame has none
    return [(int(y) * patch, int(x) * patch) for y, x in zip(ys, xs)]


def kept(prompt: np.ndarray, frame: np.ndarray, steps: int, direction: int = -1, per_step: int = 4,
         patch: int = 8, threshold_db: float = 24.0, slack: int = 1, vertical: int = 2) -> float | None:
    """Share of the prompt's structured patches, among those a scroll of up to `per_step` px a step
    for `steps` steps in `direction` (-1: content moves left) keeps in view, that `frame` still
    shows within that scroll (and a little vertical play); None when no patch stays in view."""
    reach = per_step * steps
    corners = np.array([(y, x) for y, x in structured_patches(prompt, patch)
                        if 0 <= x + direction * reach <= prompt.shape[1] - patch], dtype=int).reshape(-1, 2)
    if not len(corners):
        return None
    lo, hi = (-reach - slack, slack) if direction < 0 else (-slack, reach + slack)  # the dx searched
    # A border no window touching it can match, so only windows wholly inside the frame count.
    side = reach + slack
    padded = np.pad(np.asarray(frame, np.float64) / 255, ((vertical, vertical), (side, side), (0, 0)), constant_values=10.0)
    ys = corners[:, 0, None] + np.arange(2 * vertical + patch)
    xs = corners[:, 1, None] + side + np.arange(lo, hi + patch)
    regions = padded[ys[:, :, None], xs[:, None, :]]  # (P, rows, columns, 3): where each patch may be now
    windows = np.lib.stride_tricks.sliding_window_view(regions, (patch, patch), axis=(1, 2))  # (P, dy, dx, 3, p, p)
    ref = np.stack([prompt[y:y + patch, x:x + patch] for y, x in corners]).transpose(0, 3, 1, 2) / 255.0
    # |w - r|^2 = |w|^2 - 2 w.r + |r|^2: no (P, dy, dx, 3, p, p) temporary, whose page faults cost more than the sums.
    cross = np.einsum("pijcyx,pcyx->pij", windows, ref)
    energy = np.lib.stride_tricks.sliding_window_view((regions**2).sum(-1), (patch, patch), axis=(1, 2)).sum(axis=(-2, -1))
    mse = (energy - 2 * cross + (ref**2).sum(axis=(1, 2, 3))[:, None, None]) / ref[0].size
    return float((mse.reshape(len(corners), -1).min(axis=1) <= 10 ** (-threshold_db / 10)).mean())


def view_move(frames: list[np.ndarray]) -> float:
    """Mean view move per step in px over consecutive frames; + when the view moves right."""
    return -scroll(frames) / (len(frames) - 1) if len(frames) > 1 else 0.0


def _strip_sharpness(strips: np.ndarray) -> torch.Tensor:
    return M.sharpness(torch.from_numpy(np.ascontiguousarray(strips)))


def new_strip_sharpness(prompt: np.ndarray, frame: np.ndarray, columns: int = 12, direction: int = -1) -> float:
    """Sharpness of the columns that scrolled in last over that of the prompt's typical strip of as
    many columns: a world that invents mush where the view opens scores near 0."""
    new = frame[:, -columns:] if direction < 0 else frame[:, :columns]
    strips = np.stack([prompt[:, i:i + columns] for i in range(0, prompt.shape[1] - columns + 1, columns)])
    return (_strip_sharpness(new[None])[0] / _strip_sharpness(strips).mean().clamp_min(1e-8)).item()


ARROWS = ("right", "left", "up", "down")


def turned(frame: np.ndarray, key: str) -> np.ndarray:
    """`frame` turned so that a view moving the way of arrow `key` moves right in it: one horizontal
    measure then serves a world that scrolls any way (River Raid's view only goes up)."""
    if key == "left":
        return frame[:, ::-1]
    if key in ("up", "down"):
        frame = frame.transpose(1, 0, 2)  # a view moving up now moves left
        return frame[:, ::-1] if key == "up" else frame
    return frame


def survival(world, prompt: np.ndarray, code: int, steps=(1, 4, 8, 32), key: str = "right") -> dict:
    """Hold `code` (the code of arrow `key`) from `world.reset(prompt)`: kept_k after k presses,
    the view's px per step the key's way over the first 8 and the new strip's sharpness at the end,
    against the frame reset returned."""
    frames = [turned(f, key) for f in hold(world, prompt, code, max(steps))]
    out = {f"kept_{k}": kept(frames[0], frames[k], k) for k in steps}
    out["px_per_step"] = view_move(frames[:9])
    out["new_strip_sharpness"] = new_strip_sharpness(frames[0], frames[-1])
    return out


def found(frames: np.ndarray, bank: np.ndarray, patch: int = 8, threshold_db: float = 24.0) -> np.ndarray:
    """(F, rows, columns): whether each non-overlapping patch of `frames` matches, at `threshold_db`
    or better, some patch-sized window anywhere in `bank` (frames the world's pictures come from)."""
    def unit(x):  # (N, 3, H, W) in [0, 1]
        return torch.tensor(np.asarray(x)).permute(0, 3, 1, 2).float() / 255

    queries = torch.nn.functional.unfold(unit(frames), patch, stride=patch)  # (F, 3*p*p, rows*columns)
    f, d = queries.shape[:2]
    queries = queries.transpose(1, 2).reshape(-1, d)  # (F*rows*columns, D)
    best = torch.full((len(queries),), float("inf"))
    q2 = (queries**2).sum(1)
    for start in range(0, len(bank), 8):  # 8 bank frames (~26k windows) at a time
        windows = torch.nn.functional.unfold(unit(bank[start:start + 8]), patch).transpose(1, 2).reshape(-1, d)
        distance = q2[:, None] - 2 * queries @ windows.T + (windows**2).sum(1)[None]  # (Q, W)
        best = torch.minimum(best, distance.min(1).values)
    rows, cols = frames.shape[1] // patch, frames.shape[2] // patch
    return (best / d <= 10 ** (-threshold_db / 10)).reshape(f, rows, cols).numpy()


def found_sharpness(frames: np.ndarray, bank: np.ndarray, patch: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the sharpness of its detail that real frames (`bank`) also show, and the share of
    its patches found: a frame torn into stripes has sharp seams no real frame has, so they count
    as flat here, while the plain sharpness counts them as detail."""
    hit = found(frames, bank, patch)  # (F, rows, columns)
    mask = torch.from_numpy(hit).float().repeat_interleave(patch, 1).repeat_interleave(patch, 2)
    detail = M.laplacian(torch.tensor(np.asarray(frames)))  # (F, H-2, W-2)
    h, w = min(detail.shape[1], mask.shape[1] - 2), min(detail.shape[2], mask.shape[2] - 2)
    detail = detail[:, :h, :w] * mask[:, 1:h + 1, 1:w + 1]  # the Laplacian at pixel (y, x) sits at (y-1, x-1)
    return detail.flatten(1).var(1).numpy(), hit.reshape(len(hit), -1).mean(1)


def real_ceiling(clips_frames, views, steps=(1, 4, 8), per_step: int = 4, resets=None) -> dict:
    """kept_k of real frames k steps apart where the camera moved right by 1..per_step*k px: what a
    perfect world would score. kept_real_k (None without such pairs) and kept_real_pairs_k.
    `resets` (per clip, frame indices where a new level began) rules out pairs across a new level."""
    frames = np.asarray(clips_frames)
    out = {}
    for k in steps:
        scores = []
        for c, view in enumerate(views):
            if view is None:
                continue
            cuts = (resets[c] or []) if resets else []
            for t in range(len(view) - k):
                moved = view[t + k][0] - view[t][0]
                if 1 <= moved <= per_step * k and not any(t < r <= t + k for r in cuts):
                    score = kept(frames[c, t], frames[c, t + k], k, per_step=per_step)
                    if score is not None:
                        scores.append(score)
        out[f"kept_real_{k}"] = float(np.mean(scores)) if scores else None
        out[f"kept_real_pairs_{k}"] = len(scores)
    return out


def player_box_psnr(real, rolled, views, box: int = 12) -> list[float]:
    """PSNR inside a box around the player's true position at each of the first steps, the mean over
    clips with views: the frame PSNR hardly notices a sprite that vanished, this does."""
    real, rolled = torch.as_tensor(np.asarray(real)), torch.as_tensor(np.asarray(rolled))
    size = real.shape[2]
    out = []
    for t in range(1, min(8, real.shape[1] - 1) + 1):
        values = []
        for c, view in enumerate(views):
            if view is None:
                continue
            # The view holds the sprite's bottom centre (its feet); the sprite is about a tile tall.
            cx, cy = int(view[t][1]), int(view[t][2]) - round(size / 12)
            x0, y0 = max(0, cx - box // 2), max(0, cy - box // 2)
            x1, y1 = min(real.shape[3], cx - box // 2 + box), min(size, cy - box // 2 + box)
            if x0 < x1 and y0 < y1:  # off screen (falling out of a level): nothing to compare
                values.append(M.psnr(real[c, t, y0:y1, x0:x1], rolled[c, t, y0:y1, x0:x1]).item())
        out.append(float(np.mean(values)) if values else float("nan"))
    return out


def world_keymap(world):
    """The keymap beside the world's weights, or each code on its digit key when there is none (or it is broken)."""
    from genie_play.errors import GenieError
    from genie_play.keymap import KEYMAP_FILE, Binding, Keymap, load_keymap

    source = getattr(world, "source", None)
    if source is not None and (Path(source) / KEYMAP_FILE).exists():
        try:
            return load_keymap(Path(source) / KEYMAP_FILE, world.num_actions)
        except GenieError:
            pass
    return Keymap(tuple(Binding(c, f"code {c}", (str(c + 1),)) for c in range(world.num_actions)))


def right_code(world, prompt: np.ndarray) -> int:
    """The code the weights' keymap labels (or keys) right; without one, the code whose 8-step hold
    moves the view right the most."""
    from genie_play.errors import GenieError

    try:
        return world_keymap(world).resolve("right")
    except GenieError:  # no code labelled or keyed right
        return int(np.argmax(view_scroll(world, prompt)))


def scroll_key(world, prompt: np.ndarray) -> tuple[str, int]:
    """The arrow whose hold the survival measures use, and its code: right, else the first other
    arrow the keymap binds (footage whose view never goes right), else right's fallback."""
    keymap = world_keymap(world)
    bound = [key for key in ARROWS if keymap.code_for_key(key) is not None]
    if bound and bound[0] != "right" and "right" not in (b.label for b in keymap.bindings):
        return bound[0], keymap.code_for_key(bound[0])
    return "right", right_code(world, prompt)


def character_on_player(world, frames, views, reach: int = 8) -> float | None:
    """Share of the clips (with a true player place) whose first frame's character, as the world
    finds it at reset, is centred within `reach` px of the player (feet up a sprite's half height)."""
    hits = []
    for c, view in enumerate(views):
        if view is None:
            continue
        world.reset(np.asarray(frames[c, 0]))
        sprite = world.sprite
        if sprite is None:
            hits.append(False)
            continue
        ys, xs = np.nonzero(sprite.mask)
        cx, cy = xs.mean() + sprite.x, ys.mean() + sprite.y
        hits.append(abs(cx - view[0][1]) <= reach and abs(cy - (view[0][2] - round(frames.shape[2] / 12))) <= reach)
    return float(np.mean(hits)) if hits else None


def character_metrics(world, pictures: dict, result: dict) -> None:
    """For a world with a character: on each group of pictures, the share where one is found and
    where the key labelled jump (if the keymap has one) lifts it."""
    from genie_play.errors import GenieError

    try:
        jump = world_keymap(world).resolve("jump")
    except GenieError:
        jump = None
    for group, pics in pictures.items():
        found = lifted = 0
        for pic in pics.values():
            if jump is None:
                world.reset(pic)
                found += world.sprite is not None
            else:  # lifts() resets to the picture itself, and says None where no character is found
                lift = lifts(world, pic, jump)
                found += lift is not None
                lifted += bool(lift)
        result[f"character_found_{group}"] = found / len(pics)
        if jump is not None:
            result[f"jump_lifts_{group}"] = lifted / len(pics)


def _mean(runs: dict, key: str) -> float | None:
    values = [r[key] for r in runs.values() if r[key] is not None]
    return float(np.mean(values)) if values else None


def survival_metrics(world, frames, rolled, windows, result: dict) -> None:
    """Add the survival measures of `eval` to `result`: the player box PSNR of the LAM-driven
    rollouts and the real ceiling of kept_k (from the held-out clips' views), then survival while
    right (or `scroll_key`'s arrow) is held on the bundled prompts and the own pictures, per picture and as means."""
    from genie_play.eval.own_pictures import PICTURES, own_picture
    from genie_play.images import fit_frame, load_image
    from genie_play.paths import prompts_dir

    views = [w.get("view") for w in windows or []]
    if any(v is not None for v in views):
        boxes = player_box_psnr(frames, rolled, views)
        result.update({f"player_box_psnr_t{t + 1}": v for t, v in enumerate(boxes)})
        result["player_box_psnr_8"] = float(np.nanmean(boxes)) if boxes else None
        result.update(real_ceiling(frames, views, resets=[w.get("resets") for w in windows]))
    size = world.config.image_size
    pictures = {
        "prompts": {p.stem: fit_frame(load_image(p), size) for p in sorted(prompts_dir().glob("*.png"))},
        "own": {name: fit_frame(own_picture(name), size) for name in PICTURES},
    }
    if not any(v is not None for v in views):  # own footage: its held-out first frames are the pictures
        picks = np.unique(np.linspace(0, len(frames) - 1, min(HELDOUT_PROMPTS, len(frames))).round().astype(int))
        pictures["heldout"] = {f"clip{i}": np.asarray(frames[i, 0]) for i in picks}
        result.update(opposite_keys(world, world_keymap(world), list(pictures["heldout"].values())))
    if getattr(world, "character", None) is not None:
        if any(v is not None for v in views):
            result["character_on_player"] = character_on_player(world, frames, views)
        character_metrics(world, pictures, result)
    key, code = scroll_key(world, next(iter(pictures["own"].values())))
    result["survival_right_code"], result["survival_key"] = code, key
    for group, pics in pictures.items():
        runs = {name: survival(world, pic, code, key=key) for name, pic in pics.items()}
        result[f"survival_{group}"] = runs
        for measure in ("kept_1", "kept_8", "px_per_step", "new_strip_sharpness"):
            result[f"{measure}_{group}"] = _mean(runs, measure)
