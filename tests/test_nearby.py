"""The nearby prior of sampling: a share of each token's probability moved onto the ids that its
3x5 window held in the frame before, renormalized over them (dynamics.nearby_prior)."""

import dataclasses

import torch

from conftest import moving_squares, save_tiny_world
from genie_play.presets import resolve_config
from genie_play.io import read_weights
from genie_play.world.dynamics import nearby_prior
from genie_play.world.world_model import WorldModel

K = 6


def test_the_prior_mixes_the_distribution_with_its_restriction_to_the_window():
    logits = torch.log(torch.tensor([[[0.5, 0.2, 0.1, 0.1, 0.05, 0.05]]]))  # (B=1, N=1, K)
    window = torch.tensor([[[2, 3, 3, K, K]]])  # ids 2 and 3 around, the rest beyond the edge
    p = nearby_prior(logits, window, 0.5).exp()[0, 0]
    local = torch.tensor([0, 0, 0.5, 0.5, 0, 0])  # 0.1 and 0.1, renormalized
    assert torch.allclose(p, 0.5 * logits.exp()[0, 0] + 0.5 * local, atol=1e-6)
    assert torch.allclose(nearby_prior(logits, window, 1.0).exp()[0, 0], local, atol=1e-6)
    nothing = torch.full((1, 1, 5), K)  # a window with no ids: the distribution as it was
    assert torch.allclose(nearby_prior(logits, nothing, 0.5).exp(), logits.exp(), atol=1e-6)


def test_sampling_with_the_whole_share_keeps_every_token_one_of_its_neighbours(tmp_path):
    config = resolve_config("tiny", ["image_size=32"])
    config = dataclasses.replace(config, dynamics=dataclasses.replace(config.dynamics, nearby=1.0))
    save_tiny_world(tmp_path, tokenizer=config, dynamics=config, lam=config)
    assert read_weights(tmp_path / "dynamics.safetensors", "dynamics").config.dynamics.nearby == 1.0
    world = WorldModel.load(tmp_path, device="cpu", temperature=2.0)  # hot: without the prior, any id
    assert world.nearby == 1.0
    world.reset(moving_squares(1, 1, 32)[0, 0].numpy())
    for action in (1, 2, 3):
        before = world._history[-1][0]  # (1, N) ids of the frame on screen
        world.step(action)
        after = world._history[-1][0]
        window = world.dynamics._window_ids(before[:, None])[0, 0]  # (N, 15)
        assert (window == after[0, :, None]).any(-1).all()

    free = WorldModel.load(tmp_path, device="cpu", temperature=2.0, nearby=0.0)
    free.reset(moving_squares(1, 1, 32)[0, 0].numpy())
    before = free._history[-1][0]
    free.step(1)
    window = free.dynamics._window_ids(before[:, None])[0, 0]
    assert not (window == free._history[-1][0][0, :, None]).any(-1).all()


def test_a_bad_share_is_one_line(tmp_path):
    import pytest

    from genie_play.app.main import PlayOptions, check_sampling
    from genie_play.errors import GenieError

    with pytest.raises(GenieError, match="--nearby must be 0..1, got 2"):
        check_sampling(PlayOptions(nearby=2))
    save_tiny_world(tmp_path)
    with pytest.raises(GenieError, match="nearby must be a share 0..1, got -0.5"):
        WorldModel.load(tmp_path, device="cpu", nearby=-0.5)


def test_headless_play_takes_the_share_and_records_it(tmp_path):
    import json

    from genie_play.cli import main
    from PIL import Image

    save_tiny_world(tmp_path / "w")
    Image.fromarray(moving_squares(1, 1, 16)[0, 0].numpy()).save(tmp_path / "p.png")
    out = tmp_path / "frames"
    assert main(["play", str(tmp_path / "p.png"), "--weights", str(tmp_path / "w"), "--headless", "--keys", "right*2",
                 "--out", str(out), "--nearby", "0.3", "--device", "cpu"]) == 0
    assert json.loads((out / "actions.json").read_text())["nearby"] == 0.3
