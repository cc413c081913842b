"""Measuring what a key does from the pixels: how far the view scrolls, by phase correlation."""

import numpy as np
import pytest

from genie_play.eval.motion import pan, scroll


def _scene(seed=0, size=64):
    rng = np.random.default_rng(seed)
    return (rng.random((size // 4, size // 4, 3)) * 255).astype(np.uint8).repeat(4, 0).repeat(4, 1)


@pytest.mark.parametrize("dx", [4, -8, 5, -1])
def test_pan_finds_how_far_the_picture_moved_sideways(dx):
    a = _scene()
    assert pan(a, np.roll(a, dx, axis=1)) == dx


def test_scroll_adds_up_the_steps_and_its_sign_says_the_direction():
    frames = [np.roll(_scene(1), -4 * i, axis=1) for i in range(6)]  # content moving left: the view goes right
    assert scroll(frames) == -20
    assert scroll(frames[::-1]) == 20


def test_pan_ignores_what_stands_still_and_reports_no_motion_as_zero():
    a = _scene(3)
    b = np.roll(a, 4, axis=1)
    b[24:40, 24:40] = a[24:40, 24:40]  # a character that the view follows stays where it was
    assert pan(a, b) == 4
    assert pan(a, a) == 0
