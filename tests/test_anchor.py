"""The prompt carried through play (world/anchor.py): its pixels come back where the painted frame
still shows them, moved with the view; elsewhere the painted frame stays; play stays consistent."""

import numpy as np
import pytest
import torch

from genie_play.world.anchor import PROMPT_CARRY, carry_prompt
from genie_play.world.carry import blur
from test_world_model import make_world


def stripes(size=64, seed=0):
    """A picture (1, H, W, 3) uint8 with fine vertical detail, which blur takes away."""
    g = torch.Generator().manual_seed(seed)
    columns = torch.rand(size, generator=g) > 0.5
    picture = torch.zeros(size, size, 3)
    picture[:, columns] = 0.8
    picture[: size // 4] = 0.3  # a plain sky: a still peak to leave out, as in the game
    return (picture * 255).to(torch.uint8)[None]


def blurred(frame_u8: torch.Tensor) -> torch.Tensor:
    """(1, H, W, 3) uint8 -> the same, blurred, in [0, 1]: what a painter that lost the detail gives."""
    return blur(frame_u8.permute(0, 3, 1, 2).float() / 255).permute(0, 2, 3, 1)


def test_the_prompt_comes_back_sharp_where_it_still_fits_moved_with_the_view():
    prompt = stripes()
    moved = torch.roll(prompt, shifts=3, dims=2)  # the content moved 3 px right
    painted, before = blurred(moved), blurred(prompt)
    out, moves = carry_prompt(painted, before, prompt, torch.zeros(2, dtype=torch.long), tau=0.2)
    assert moves[0].tolist() == [0, 3]
    inside = (slice(8, -8), slice(8, -8))  # away from the edge the roll wrapped
    truth = moved.float()[0] / 255
    error = lambda x: (x[0] - truth)[inside].abs().mean().item()  # noqa: E731
    assert error(out) < 0.3 * error(painted)


def test_where_the_painted_frame_differs_it_is_kept():
    prompt = stripes()
    painted = blurred(prompt).clone()
    painted[0, 40:56, 20:36] = torch.tensor([1.0, 0.0, 0.0])  # something new: a red block
    out, _ = carry_prompt(painted, blurred(prompt), prompt, torch.zeros(2, dtype=torch.long), tau=0.2)
    assert torch.allclose(out[0, 44:52, 24:32], painted[0, 44:52, 24:32], atol=0.05)


def test_off_gone_or_out_of_view_changes_nothing():
    prompt = stripes()
    painted = blurred(torch.roll(prompt, shifts=2, dims=2))
    for moved_by, tau in ((torch.zeros(2, dtype=torch.long), 0.0), (None, 0.2),
                          (torch.tensor([0, 40]), 0.2)):  # off; left the view before; leaves it now
        out, moves = carry_prompt(painted, blurred(prompt), prompt, moved_by, tau)
        assert torch.allclose(out, painted, atol=1e-6) and moves == [None]
    assert PROMPT_CARRY == 0.0  # off by default (the shipped jump check, README)


@pytest.mark.parametrize("kv_cache", [True, False])
def test_play_with_the_prompt_carried_is_consistent(kv_cache):
    world = make_world(prompt_carry=0.2, kv_cache=kv_cache)
    image = stripes(world.config.image_size).numpy()[0]
    world.reset(image)
    first = world.step(1)
    previews = world.preview([0, 2])
    assert np.array_equal(world.step(2), previews[1])  # a preview is the step
    world.undo()
    world.undo()
    assert np.array_equal(world.frame, image)
    world.reset(image)
    assert np.array_equal(world.step(1), first)  # same seed, same world, carried the same way
    assert world._history[-1][3] is None or world._history[-1][3].shape == (2,)


def test_a_bad_prompt_carry_is_one_line():
    from genie_play.app.main import PlayOptions, check_sampling
    from genie_play.errors import GenieError

    with pytest.raises(GenieError, match="--prompt-carry must be 0..2"):
        check_sampling(PlayOptions(prompt_carry=-1))
