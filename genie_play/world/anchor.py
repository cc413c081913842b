"""The prompt carried through play: its own pixels wherever the painted frame still shows them.

A frame painted from tokens has what ~10 bits per 4x4 patch hold, so the prompt's hatching,
paper grain and thin strokes are gone after the first keypress (the tokenizer's sharpness ratio
is 0.45 on held-out levels, 0.25 on held-out styles). But the prompt is the one frame of a game
with every pixel, and while the view has not moved far, much of what is on screen is still it,
moved by the camera. So after each frame is painted, the world model

1. adds this step's sideways camera move (phase correlation of the frame painted before and this
   one, leaving out the still peak: genie_play.world.camera.pan) to the move since the prompt. The
   least-squares `find_shift` of the carry-over lagged the view here (8 px where the view moved
   21), and a lagging prompt pins its texture while the world moves;
2. shifts the prompt by that total, and
3. takes its pixels where the blurred prompt and the blurred painted frame agree, with weight
   exp(-(d / tau)^2) of their blurred difference d; elsewhere (a sprite that moved, new ground,
   a token the dynamics model changed) the painted pixels stay.

Unlike the carry-over (genie_play.world.carry), which carries the frame shown before, it always
carries from the prompt, so a misfit is never carried again: on the true tokens of held-out
levels, 15 frames in a row scored 26.5 dB against 25.1 painted and 26.0 carried frame to frame.
It needs no training. In play it keeps the prompt's texture for the first steps; what it gains and
why it is off by default are in the README ("The prompt carried through play").
"""

from __future__ import annotations

import torch

from genie_play.world.camera import pan
from genie_play.world.carry import blur, shift_frames

# tau: how far apart the blurred frames may be (in [-1, 1] units). 0.2 played best, but it is off by
# default: on the bundled crayon prompt held jump then read as a jump to the LAM once in 3 steps, not 2.
PROMPT_CARRY = 0.0
REACH = 10  # the largest camera move per step it looks for, in pixels (the built-in world's run is 8)


@torch.no_grad()
def carry_prompt(painted: torch.Tensor, painted_before: torch.Tensor, prompt: torch.Tensor,
                 moved_by: torch.Tensor | None, tau: float) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """Painted frames (B, H, W, 3) in [0, 1], the frame painted before them (1, H, W, 3) in [0, 1],
    the prompt (1, H, W, 3) uint8 and the camera's move since the prompt (2,) (None once the prompt
    is out of view) -> the frames with the prompt's pixels where they fit, and each one's move."""
    if moved_by is None or tau <= 0:
        return painted, [None] * len(painted)
    as_image = lambda x: x.permute(0, 3, 1, 2)  # noqa: E731
    p = as_image(painted) * 2 - 1  # (B, 3, H, W) in [-1, 1]
    before = as_image(painted_before * 2 - 1).expand_as(p)
    size = p.shape[-1]
    to_u8 = lambda x: ((x + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()  # noqa: E731
    steps = torch.tensor([[0, pan(to_u8(before[b]), to_u8(p[b]), min(REACH, size // 4))] for b in range(len(p))],
                         device=p.device)
    totals = moved_by + steps  # (B, 2)
    out, moves = [], []
    for b, total in enumerate(totals):
        reach = int(total.abs().max())
        if reach >= size // 2:  # the prompt has (nearly) left the view
            out.append(p[b])
            moves.append(None)
            continue
        moved, real = shift_frames(as_image(prompt.float() / 127.5 - 1), total[None], max(reach, 1))
        apart = blur((blur(moved) - blur(p[b:b + 1])).abs().mean(1, keepdim=True))
        take = torch.exp(-(apart / tau) ** 2) * real  # (1, 1, H, W)
        out.append((take * moved + (1 - take) * p[b:b + 1])[0])
        moves.append(total)
    return ((torch.stack(out).clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1), moves
