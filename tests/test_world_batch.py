"""WorldBatch: B worlds in one batched pass play exactly what lone WorldModels play, restarts included."""

import numpy as np
import pytest

from genie_play.errors import GenieError
from genie_play.world.world_batch import WorldBatch
from test_world_model import TINY, make_world


def prompts(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (20 + 4 * i, 24, 3), dtype=np.uint8) for i in range(count)]


def lone_rollout(prompt, seed, actions):
    world = make_world(seed=seed)
    return [world.reset(prompt)] + [world.step(a) for a in actions]


def test_each_world_in_the_batch_plays_what_a_lone_world_plays():
    pics, seeds = prompts(3), [5, 6, 7]
    rng = np.random.default_rng(1)
    actions = rng.integers(0, TINY.num_actions, (10, 3))  # 10 steps: the 4-frame window slides
    batch = WorldBatch(make_world(), 3)
    got = [batch.reset(pics, seeds)] + [batch.step(a).copy() for a in actions]
    for b in range(3):
        want = lone_rollout(pics[b], seeds[b], actions[:, b].tolist())
        for t, frame in enumerate(want):
            # the same tokens; the conv decoder's float sums may differ with the batch size, so a
            # pixel may round one level apart
            assert np.abs(got[t][b].astype(int) - frame).max() <= 1, f"world {b} differs at step {t}"


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
    assert batch._dynamics_cache.valid is not None  # world 1 hides the older cached frames
    got = [frames.copy()] + [batch.step(a).copy() for a in after]
    restarted = lone_rollout(fresh, fresh_seed, after[:, 1].tolist())
    for t, frame in enumerate(restarted):
        assert np.array_equal(got[t][1], frame), f"restarted world differs at step {t}"
    for b in (0, 2):  # the others never noticed
        whole = lone_rollout(pics[b], seeds[b], before[:, b].tolist() + after[:, b].tolist())
        for t in range(len(after) + 1):
            assert np.array_equal(got[t][b], whole[len(before) + t])
    assert batch._dynamics_cache.valid is None  # the window slid past the restart: no mask left


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
    with pytest.raises(GenieError, match="at least one world"):
        WorldBatch(make_world(), 0)
