"""The dynamics model's first MaskGIT round against its simplest rival: copying the last frame.

With every token of the next frame masked and the true past in context, how often is the most
likely token the true one: overall, where copying the last frame would be wrong, and where no
sideways scroll of the last frame by a walk or a run explains the token (the character, new ground,
vertical moves, tokenizer jitter)? A model that only learned to copy scores ~0 where copying is
wrong; that was the second world's ceiling check (README, "The dynamics model").
"""

from __future__ import annotations

import torch

from genie_play.world.st_transformer import KVCache

SCROLLS = (-8, -4, 4, 8)  # pixels: the built-in world's walk and run scroll 4 and 8 px a frame


@torch.inference_mode()
def first_round_accuracy(world, frames: torch.Tensor, inferred: torch.Tensor, times=(4, 8, 12)) -> dict:
    """frames (C, T, H, W, 3) uint8 and their LAM actions (C, T-1) -> the `dynamics_first_round_*` numbers."""
    dyn, side = world.dynamics, world.config.tokens_per_side
    ids = world.tokenizer.encode(frames.to(world.device))  # (C, T, N)
    actions = inferred.to(world.device)
    hits = {"all": [0, 0], "copy_wrong": [0, 0], "no_scroll": [0, 0]}
    copy_right = 0
    for t in (t for t in times if 1 <= t < ids.shape[1]):
        cache = KVCache()
        led_in = torch.cat([torch.full_like(actions[:, :1], dyn.no_action), actions[:, :t - 1]], dim=1)
        dyn.prime(cache, ids[:, :t], led_in)
        masked = torch.full_like(ids[:, t], dyn.mask_id)
        guess = dyn.next_logits(cache, masked, actions[:, t - 1]).argmax(-1)  # (C, N)
        target, last = ids[:, t], ids[:, t - 1]
        grid, last_grid = target.view(-1, side, side), last.view(-1, side, side)
        explained = grid == last_grid
        for dx in SCROLLS:
            explained |= grid == torch.roll(last_grid, shifts=dx // world.config.tokenizer.patch_size, dims=2)
        right = guess == target
        for key, where in (("all", torch.ones_like(right)), ("copy_wrong", target != last),
                           ("no_scroll", ~explained.flatten(1))):
            hits[key][0] += int(right[where].sum())
            hits[key][1] += int(where.sum())
        copy_right += int((target == last).sum())
    return {
        "dynamics_first_round_accuracy": hits["all"][0] / max(1, hits["all"][1]),
        "dynamics_first_round_accuracy_where_copy_wrong": hits["copy_wrong"][0] / max(1, hits["copy_wrong"][1]),
        "dynamics_first_round_accuracy_where_no_scroll": hits["no_scroll"][0] / max(1, hits["no_scroll"][1]),
        "dynamics_first_round_copy_baseline": copy_right / max(1, hits["all"][1]),
        "dynamics_first_round_no_scroll_share": hits["no_scroll"][1] / max(1, hits["all"][1]),
    }
