"""The sampler's calibration: the carry bias a trained world plays with, chosen by its own long rollouts."""

import json

import pytest

import torch
from conftest import save_tiny_world, short_rollouts

from genie_play.calibrate import FROZEN_CAP, LADDER, NOISE, calibrate, choose, still_codes
from genie_play.io import read_weights


def row(bias, found, frozen=0.0):
    return {"carry_bias": bias, "found_sharpness": found, "found_share": 1.0, "frozen": frozen}


def test_the_smallest_bias_about_as_sharp_as_the_best_wins():
    assert choose([row(3, 0.46), row(8, 0.43), row(16, 0.98)]) == 16  # Defender: the skyline survives
    assert choose([row(3, 0.65), row(8, 0.55), row(16, 0.34)]) == 3  # River Raid: new boats need the tokens
    assert choose([row(3, 0.95), row(8, 0.95 + NOISE / 2), row(16, 0.96)]) == 3  # within noise: the smaller


def test_a_bias_that_freezes_moving_keys_is_not_chosen():
    assert choose([row(3, 0.5), row(8, 0.7), row(16, 1.0, frozen=FROZEN_CAP + 0.01)]) == 8
    frozen = FROZEN_CAP + 0.1
    assert choose([row(3, 0.5, frozen), row(8, 0.7, frozen)]) == 3  # none allowed: the first, as trained


def test_calibration_writes_the_chosen_bias_into_the_world_and_a_resume_reuses_it(trained_world, monkeypatch):
    from genie_play import calibrate as calibration

    weights, data = trained_world
    found = calibrate(weights, data, "cpu")
    assert found["carry_bias"] in LADDER and len(found["ladder"]) == len(LADDER)
    assert all(0 <= r["frozen"] <= 1 and r["found_sharpness"] >= 0 for r in found["ladder"])
    assert read_weights(weights / "dynamics.safetensors", "dynamics").config.sampler.carry_bias == found["carry_bias"]
    assert json.loads((weights / "calibration.json").read_text()) == found
    monkeypatch.setattr(calibration, "measure", lambda *a, **k: pytest.fail("a resumed run measures again"))
    assert calibrate(weights, data, "cpu") == found


@pytest.fixture
def trained_world(tmp_path, generated_data, monkeypatch):
    """An untrained tiny world and the clips it is calibrated on (short rollouts: a test, not a measurement)."""
    short_rollouts(monkeypatch)
    return save_tiny_world(tmp_path / "world"), generated_data


def test_codes_that_move_nothing_on_screen_may_leave_the_frame_as_it_was(tmp_path):
    import numpy as np

    from genie_play.presets import resolve_config
    from genie_play.world.world_model import WorldModel

    config = resolve_config("tiny", ["image_size=64"])  # the size code_effects reads views at
    world = WorldModel.load(save_tiny_world(tmp_path, config, config, config), "cpu")
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (6, 3)).astype(np.uint8)[rng.integers(0, 6, (16, 24)).repeat(4, 0).repeat(4, 1)]
    scroll = torch.from_numpy(np.stack([np.stack([picture[:, 2 * t:2 * t + 64] for t in range(6)])] * 4))
    static = scroll[:, :1].expand(-1, 6, -1, -1, -1).contiguous()
    assert still_codes(world, static) == frozenset(range(world.num_actions))  # none of them moves anything
    codes = world.lam.infer_actions(scroll).flatten().tolist()  # every transition scrolls the view 2 px
    assert max(set(codes), key=codes.count) not in still_codes(world, scroll)
