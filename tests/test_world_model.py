"""The world model: reset/step/undo with random tiny weights, the sliding KV cache, and loading checks."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import save_tiny_world
from genie_play.config import apply_overrides
from genie_play.presets import PRESETS
from genie_play.errors import GenieError
from genie_play.io import read_weights, save_weights
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import build_lam
from genie_play.world.st_transformer import KVCache
from genie_play.world.tokenizer import build_tokenizer
from genie_play.world.world_model import WorldModel

TINY = PRESETS["tiny"]


def make_world(config=TINY, **options):
    torch.manual_seed(0)
    return WorldModel(build_tokenizer(config), Dynamics(config), build_lam(config), **options)


@pytest.fixture
def prompt():
    return np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)  # any size and aspect


def test_reset_and_twenty_steps_give_frames(prompt):
    world = make_world(seed=3)
    first = world.reset(prompt)
    assert first.shape == (16, 16, 3) and first.dtype == np.uint8
    for i in range(20):
        frame = world.step(i % TINY.num_actions)
        assert frame.shape == (16, 16, 3) and frame.dtype == np.uint8
        assert 0 <= frame.min() and frame.max() <= 255
    assert world.num_frames == 21 and np.array_equal(world.frame, frame)
    assert len(world._dynamics_cache) == world.max_context - 1  # the window slid


def test_same_seed_same_rollout_and_reset_restarts_the_stream(prompt):
    keys = [1, 4, 4, 0, 7, 2]
    a, b = make_world(seed=5), make_world(seed=5)
    a.reset(prompt)
    b.reset(prompt)
    run_a = [a.step(k) for k in keys]
    run_b = [b.step(k) for k in keys]
    assert all(np.array_equal(x, y) for x, y in zip(run_a, run_b))
    a.reset(prompt)
    assert all(np.array_equal(x, a.step(k)) for x, k in zip(run_a, keys))


def test_undo_returns_to_earlier_frames_and_stops_at_the_prompt(prompt):
    world = make_world()
    first = world.reset(prompt)
    frames = [first] + [world.step(k) for k in (1, 2, 3)]
    assert np.array_equal(world.undo(), frames[2])
    assert np.array_equal(world.undo(), frames[1])
    assert world.num_frames == 2 and len(world._dynamics_cache) == 2
    world.undo()
    assert np.array_equal(world.undo(), first) and world.num_frames == 1
    assert world.step(0).shape == (16, 16, 3)  # play goes on from the prompt


def test_cached_step_equals_recomputing_the_whole_history(prompt):
    """After the window slides, next-frame logits from the play cache equal a full banded forward."""
    world = make_world()
    world.reset(prompt)
    for k in range(11):  # 12 frames, context window 4
        world.step(k % 8)
    ids = torch.stack([h[0] for h in world._history], dim=1)  # (1, 12, N)
    prev = torch.tensor([[h[1] for h in world._history]])
    fresh = KVCache()  # keeps everything; attention is still banded to the window
    with torch.inference_mode():
        world.dynamics.prime(fresh, ids, prev)
        masked = torch.full((1, TINY.tokens_per_frame), world.dynamics.mask_id)
        masked[0, :3] = ids[0, -1, :3]
        action = torch.tensor([6])
        cached = world.dynamics.next_logits(world._dynamics_cache, masked, action)
        recomputed = world.dynamics.next_logits(fresh, masked, action)
    assert len(fresh) == 12 and len(world._dynamics_cache) == 3
    assert (cached - recomputed).abs().max() < 1e-4


def test_bad_actions_and_order_of_calls(prompt):
    world = make_world()
    with pytest.raises(RuntimeError, match="reset"):
        world.step(0)
    world.reset(prompt)
    with pytest.raises(GenieError, match="latent action 8 is out of range 0..7"):
        world.step(8)
    with pytest.raises(GenieError, match="RGB uint8"):
        world.reset(np.zeros((4, 4), dtype=np.float32))


def test_prompt_from_a_file(tmp_path, prompt):
    from PIL import Image

    path = tmp_path / "drawing.png"
    Image.fromarray(prompt).save(path)
    world = make_world()
    assert world.reset(path).shape == (16, 16, 3)
    with pytest.raises(GenieError, match="missing.png: no such file"):
        world.reset(tmp_path / "missing.png")


def save_world(folder, tokenizer_config=TINY, dynamics_config=TINY, lam_config=TINY):
    return save_tiny_world(folder, tokenizer_config, dynamics_config, lam_config)


def test_load_plays_saved_weights(tmp_path, prompt):
    save_world(tmp_path)
    world = WorldModel.load(tmp_path, device="cpu", maskgit_steps=2, seed=1)
    assert world.maskgit_steps == 2 and world.lam is not None
    world.reset(prompt)
    assert world.step(3).shape == (16, 16, 3)


def test_load_refuses_a_dynamics_model_trained_on_another_tokenizer(tmp_path):
    other = apply_overrides(TINY, ["tokenizer.fsq_levels=4,4,4", "tokenizer.codebook_size=64"])
    save_world(tmp_path, dynamics_config=other)
    with pytest.raises(GenieError) as e:
        WorldModel.load(tmp_path, device="cpu")
    message = str(e.value)
    assert "dynamics.safetensors: was trained with a different tokenizer than" in message
    assert "codebook_size 64 vs 32" in message and "\n" not in message


def test_load_refuses_a_lam_with_another_action_count(tmp_path):
    save_world(tmp_path, lam_config=apply_overrides(TINY, ["num_actions=6"]))
    with pytest.raises(GenieError, match="lam.safetensors: has 6 latent actions at 16px, but .* expects 8"):
        WorldModel.load(tmp_path, device="cpu")


def test_load_names_missing_files(tmp_path):
    with pytest.raises(GenieError, match="weights folder not found"):
        WorldModel.load(tmp_path / "nowhere", device="cpu")
    save_world(tmp_path)
    (tmp_path / "dynamics.safetensors").unlink()
    with pytest.raises(GenieError, match="dynamics.safetensors: no such file"):
        WorldModel.load(tmp_path, device="cpu")


@pytest.mark.parametrize("max_context", [1, 4])
def test_without_kv_cache_the_frames_are_the_same_until_the_window_slides(prompt, max_context):
    cached = make_world(seed=2, max_context=max_context)
    uncached = make_world(seed=2, max_context=max_context, kv_cache=False)
    cached.reset(prompt)
    uncached.reset(prompt)
    for k in (3, 1, 6):
        assert np.array_equal(cached.step(k), uncached.step(k))


def test_preview_shows_every_action_without_changing_the_world(prompt):
    # Random weights: an added action embedding changes every token, so the eight frames differ.
    added = dataclasses.replace(TINY, dynamics=dataclasses.replace(TINY.dynamics, action_input="add"))
    world, twin = make_world(added, seed=4), make_world(added, seed=4)
    world.reset(prompt)
    twin.reset(prompt)
    world.step(1)
    twin.step(1)
    frames = world.preview(range(8))
    assert len(frames) == 8 and all(f.shape == (16, 16, 3) and f.dtype == np.uint8 for f in frames)
    assert world.num_frames == 2 and np.array_equal(world.frame, twin.frame)
    assert len({f.tobytes() for f in frames}) > 1  # actions lead to different frames
    # the preview continues the world's own random stream: a fresh step gives the same frame
    assert np.array_equal(twin.step(5), frames[5])
    # and stepping a previewed action returns exactly what was shown, then play goes on in lockstep
    assert np.array_equal(world.step(5), frames[5])
    assert np.array_equal(world.step(2), twin.step(2))


def test_previews_expire_when_the_state_or_sampling_changes(prompt):
    world = make_world(seed=4)
    world.reset(prompt)
    world.preview([0, 1])
    world.maskgit_steps = 1
    assert world._previews_made_with != world._sampling()  # old previews are not used
    world.step(0)
    assert world._previews == {}
    world.preview([3])
    world.undo()
    assert world._previews == {}
    with pytest.raises(GenieError, match="out of range"):
        world.preview([0, 9])


def test_preview_without_kv_cache_matches_too(prompt):
    world = make_world(seed=6, kv_cache=False)
    world.reset(prompt)
    frames = world.preview([2, 7])
    assert np.array_equal(world.step(7), frames[1]) and world.num_frames == 2


def test_load_refuses_a_tokenizer_with_the_same_sizes_but_other_weights(tmp_path):
    import hashlib

    save_world(tmp_path)
    weights = read_weights(tmp_path / "dynamics.safetensors")
    trained_with = hashlib.sha256((tmp_path / "tokenizer.safetensors").read_bytes()).hexdigest()
    save_weights(tmp_path / "dynamics.safetensors", "dynamics", weights.tensors, weights.config,
                 {"tokenizer_sha256": trained_with})
    WorldModel.load(tmp_path, device="cpu")  # the tokenizer it was trained with: fine
    torch.manual_seed(1)
    save_weights(tmp_path / "tokenizer.safetensors", "tokenizer", build_tokenizer(TINY), TINY)  # retrained
    with pytest.raises(GenieError, match="dynamics.safetensors: was trained with another tokenizer than .*tokenizer.safetensors"):
        WorldModel.load(tmp_path, device="cpu")


def test_a_previewed_step_runs_no_network_and_leaves_the_same_caches_as_an_on_demand_step(prompt, monkeypatch):
    world, twin = make_world(seed=2), make_world(seed=2)
    for w in (world, twin):
        w.reset(prompt)
        for k in range(6):  # past the tiny window, so the caches have slid
            w.step(k)
    frames = world.preview(range(8))
    calls = []
    monkeypatch.setattr(world.dynamics, "forward", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(world.dynamics.transformer, "forward", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(world.tokenizer.decoder, "forward", lambda *a, **k: calls.append(a))
    assert np.array_equal(world.step(3), frames[3]) and world.last_step_precomputed and calls == []
    monkeypatch.undo()
    twin.step(3)
    assert not twin.last_step_precomputed
    for mine, theirs in ((world._dynamics_cache, twin._dynamics_cache), (world._decoder_cache, twin._decoder_cache)):
        assert len(mine) == len(theirs) and mine.start == theirs.start
        for (k0, v0), (k1, v1) in zip(mine.layers, theirs.layers):
            assert (k0 - k1).abs().max() < 1e-5 and (v0 - v1).abs().max() < 1e-5
    for k in (1, 6, 0):
        assert np.array_equal(world.step(k), twin.step(k))


def test_step_timings_split_the_work_when_asked(prompt):
    world = make_world()
    world.reset(prompt)
    world.step(0)
    assert world.timings is None
    world.timings = {}
    world.step(1)
    assert set(world.timings) == {"maskgit_ms", "context_ms", "decode_ms"} and all(v > 0 for v in world.timings.values())


def test_previews_made_a_few_at_a_time_all_count(prompt):
    world, twin = make_world(seed=5), make_world(seed=5)
    world.reset(prompt)
    twin.reset(prompt)
    first, second = world.preview([0, 1]), world.preview([2, 3])
    assert sorted(world._previews) == [0, 1, 2, 3]
    assert np.array_equal(world.step(1), first[1]) and world.last_step_precomputed
    assert np.array_equal(twin.step(1), first[1])
    world.preview([4])
    world.maskgit_steps = 2
    world.preview([5])
    assert sorted(world._previews) == [5]  # older previews were made with other settings
    assert second[0].shape == (16, 16, 3)


def test_the_previous_frame_window_is_the_same_cached_recomputed_and_previewed(prompt):
    """Each token reads the frame before it: the cached step, the recomputed context and a preview agree."""
    worlds = [make_world(seed=2, max_context=4), make_world(seed=2, max_context=4, kv_cache=False),
              make_world(seed=2, max_context=4)]
    for world in worlds:
        torch.manual_seed(1)
        torch.nn.init.normal_(world.dynamics.previous.weight, std=0.5)  # zero at init: make it matter
        world.reset(prompt)
    cached, uncached, previewed = worlds
    for k in (3, 1, 6):
        shown = previewed.preview([k, 2])[0]
        assert np.array_equal(cached.step(k), uncached.step(k))
        assert np.array_equal(previewed.step(k), shown)


def test_a_step_that_leaves_its_context_update_for_later_plays_the_same_world(prompt):
    eager, lazy = make_world(seed=4), make_world(seed=4)
    eager.reset(prompt)
    lazy.reset(prompt)
    for i, k in enumerate([2, 5, 5, 0, 7, 1, 3]):  # past the tiny window, so the cache slides too
        frame = lazy.step(k, settle=False)
        assert lazy.unsettled and len(lazy._dynamics_cache) == len(eager._dynamics_cache)  # not yet added
        assert np.array_equal(frame, eager.step(k))
        if i % 2:  # as the app does once the frame is shown; otherwise the next step does it first
            lazy.settle()
            assert not lazy.unsettled
    lazy.settle()
    assert len(lazy._dynamics_cache) == len(eager._dynamics_cache)
    for (k0, v0), (k1, v1) in zip(lazy._dynamics_cache.layers, eager._dynamics_cache.layers):
        assert torch.equal(k0, k1) and torch.equal(v0, v1)
    lazy.step(4, settle=False)  # previews and undo see the unsettled frame as part of the past
    eager.step(4)
    assert all(np.array_equal(a, b) for a, b in zip(lazy.preview(range(8)), eager.preview(range(8))))
    assert np.array_equal(lazy.undo(), eager.undo()) and not lazy.unsettled


def test_a_cancelled_preview_stops_early_and_changes_nothing(prompt):
    world, twin = make_world(seed=6), make_world(seed=6)
    world.reset(prompt)
    twin.reset(prompt)
    rounds = []
    real = world.dynamics.next_logits
    world.dynamics.next_logits = lambda *a: rounds.append(1) or real(*a)
    assert world.preview([0, 1, 2], cancelled=lambda: len(rounds) >= 1) is None
    assert rounds == [1] and world._previews == {}  # one MaskGIT round ran, then it stopped
    assert world.preview([3], cancelled=lambda: False) is not None
    assert np.array_equal(world.step(5), twin.step(5)) and np.array_equal(world.step(3), twin.step(3))


def test_a_grouped_dynamics_model_plays_and_its_cache_matches_recomputing(prompt):
    """dynamics.group=2 on a patch-2 tokenizer: 2x2 tokens a transformer position, the same rollout API."""
    config = apply_overrides(TINY, ["tokenizer.patch_size=2", "dynamics.group=2"])
    world = make_world(config)
    first = world.reset(prompt)
    frames = [world.step(k % 8) for k in range(6)]
    assert all(f.shape == first.shape == (16, 16, 3) for f in frames)
    ids = torch.stack([h[0] for h in world._history], dim=1)  # (1, 7, 64)
    prev = torch.tensor([[h[1] for h in world._history]])
    fresh = KVCache()
    with torch.inference_mode():
        world.dynamics.prime(fresh, ids, prev)
        masked = torch.full((1, config.tokens_per_frame), world.dynamics.mask_id)
        cached = world.dynamics.next_logits(world._dynamics_cache, masked, torch.tensor([3]), nearby=0.3)
        recomputed = world.dynamics.next_logits(fresh, masked, torch.tensor([3]), nearby=0.3)
    assert (cached - recomputed).abs().max() < 1e-4
