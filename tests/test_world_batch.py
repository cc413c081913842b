"""WorldBatch: B worlds in one batched pass play exactly what lone WorldModels play, restarts included."""

import numpy as np
import pytest
import torch

from genie_play.errors import GenieError
from genie_play.presets import PRESETS
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import LatentActionModel
from genie_play.world.tokenizer import Tokenizer
from genie_play.world.world_batch import WorldBatch
from genie_play.world.world_model import WorldModel

TINY = PRESETS["tiny"]


def make_world(config=TINY, **options):
    """A tiny world with random (seeded) weights, made in code: no weights folder, no keymap."""
    torch.manual_seed(0)
    return WorldModel(Tokenizer(config), Dynamics(config), LatentActionModel(config), device="cpu", **options)


def prompts(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (20 + 4 * i, 24, 3), dtype=np.uint8) for i in range(count)]


def lone_rollout(prompt, seed, actions):
    world = make_world(seed=seed)
    return [world.reset(prompt)] + [world.step(a) for a in actions]


def test_each_world_in_the_batch_plays_what_a_lone_world_plays():
    pics, seeds = prompts(3), [5, 6, 7]
    rng = np.random.default_rng(1)
    actions = rng.integers(0, TINY.num_actions, (10, 3))
    batch = WorldBatch(make_world(), 3)
    got = [batch.reset(pics, seeds).copy()] + [batch.step(a).copy() for a in actions]
    assert got[-1].shape == (3, 16, 16, 3) and got[-1].dtype == np.uint8
    for b in range(3):
        want = lone_rollout(pics[b], seeds[b], actions[:, b].tolist())
        for t, frame in enumerate(want):  # every pixel is copied, never computed: equal bit for bit
            assert np.array_equal(got[t][b], frame), f"world {b} differs at step {t}"
    assert any(not np.array_equal(got[t][0], got[t + 1][0]) for t in range(10))  # the world does move


def test_the_seed_is_each_worlds_own_random_stream():
    pic = prompts(1)[0]
    actions = [[1, 1, 1]] * 8
    batch = WorldBatch(make_world(), 3)
    batch.reset([pic] * 3, [4, 4, 9])
    frames = [batch.step(a).copy() for a in actions]
    assert all(np.array_equal(f[0], f[1]) for f in frames)  # same prompt, seed and keys: same frames
    assert not all(np.array_equal(f[0], f[2]) for f in frames)  # another seed samples other blocks


def test_a_world_restarted_mid_batch_starts_clean_and_the_others_play_on():
    pics, seeds = prompts(3), [5, 6, 7]
    fresh, fresh_seed = prompts(1, seed=9)[0], 11
    rng = np.random.default_rng(2)
    before, after = rng.integers(0, TINY.num_actions, (5, 3)), rng.integers(0, TINY.num_actions, (6, 3))
    batch = WorldBatch(make_world(), 3)
    batch.reset(pics, seeds)
    for a in before:
        batch.step(a)
    frames = batch.reset([fresh], [fresh_seed], rows=[False, True, False])
    got = [frames.copy()] + [batch.step(a).copy() for a in after]
    restarted = lone_rollout(fresh, fresh_seed, after[:, 1].tolist())
    for t, frame in enumerate(restarted):  # no move, frame or random state of its old episode left
        assert np.array_equal(got[t][1], frame), f"restarted world differs at step {t}"
    for b in (0, 2):  # the others never noticed
        whole = lone_rollout(pics[b], seeds[b], before[:, b].tolist() + after[:, b].tolist())
        for t in range(len(after) + 1):
            assert np.array_equal(got[t][b], whole[len(before) + t])
    assert batch.reset([], [], rows=[False, False, False]) is batch.frames  # restarting none changes nothing


def test_world_batch_refuses_bad_calls():
    batch = WorldBatch(make_world(), 2)
    with pytest.raises(RuntimeError, match="reset"):
        batch.step([0, 0])
    with pytest.raises(GenieError, match="first reset must start every world"):
        batch.reset(prompts(1), [0], rows=[True, False])
    batch.reset(prompts(2), [0, 1])
    with pytest.raises(GenieError, match="expected 2 actions, got 3"):
        batch.step([0, 1, 2])
    with pytest.raises(GenieError, match="latent action 9 is out of range 0..7"):
        batch.step([0, 9])
    with pytest.raises(GenieError, match="1 worlds restart but got 2 prompts"):
        batch.reset(prompts(2), [0, 1], rows=[False, True])
    with pytest.raises(GenieError, match="rows must hold 2 bools"):
        batch.reset(prompts(1), [0], rows=[True])
    with pytest.raises(GenieError, match="at least one world"):
        WorldBatch(make_world(), 0)
