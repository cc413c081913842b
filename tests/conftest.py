"""Shared test setup: no real display or sound device, ever."""

import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def pytest_sessionfinish(session, exitstatus):
    """A run in which no test passed (all skipped, or none collected) is not a success."""
    import pytest

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if exitstatus == 0 and reporter is not None and not reporter.stats.get("passed"):
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED


# --- helpers shared by several test modules (import them with `from conftest import ...`) -----

import pytest  # noqa: E402


def moving_squares(batch=2, frames=4, size=16):
    """Deterministic little clips (B, T, H, W, 3) uint8: a square sliding right over a fixed bar."""
    import torch

    x = torch.zeros(batch, frames, size, size, 3, dtype=torch.uint8)
    for b in range(batch):
        for t in range(frames):
            x[b, t, 4:9, 2 + 2 * t + b % 4:7 + 2 * t + b % 4, b % 3] = 255
            x[b, t, 10:14, 3:12, 2] = 128
    return x


LABELLED_KEYMAP = Path(__file__).parent / "labelled_keymap.toml"


def save_tiny_world(folder, tokenizer=None, dynamics=None, lam=None):
    """Randomly initialised networks (tiny preset unless a config is given) saved as a weights folder."""
    import torch

    from genie_play.presets import PRESETS
    from genie_play.io import save_weights
    from genie_play.world.dynamics import Dynamics
    from genie_play.world.lam import LatentActionModel
    from genie_play.world.tokenizer import Tokenizer

    tiny = PRESETS["tiny"]
    torch.manual_seed(0)
    for kind, build, config in (("tokenizer", Tokenizer, tokenizer), ("dynamics", Dynamics, dynamics),
                                ("lam", LatentActionModel, lam)):
        save_weights(folder / f"{kind}.safetensors", kind, build(config or tiny), config or tiny)
    # The weights' own keymap: labels the tests can rely on, whatever the shipped model's codes mean.
    (folder / "keymap.toml").write_text(LABELLED_KEYMAP.read_text())
    return folder


def short_rollouts(monkeypatch):
    """The sampler's calibration (genie_play.calibrate) with short rollouts: a test, not a measurement."""
    from genie_play import calibrate

    monkeypatch.setattr(calibrate, "LONG_STEPS", 24)
    monkeypatch.setattr(calibrate, "ROLLOUTS", 2)


@pytest.fixture(scope="session")
def generated_data(tmp_path_factory):
    """A small folder of the built-in world's clips: 8 episodes of 8 frames at 16x16."""
    from genie_play.cli import main

    folder = tmp_path_factory.mktemp("data")
    assert main(["data", "generate", "--out", str(folder), "--episodes", "8", "--frames", "8", "--size", "16"]) == 0
    return folder
