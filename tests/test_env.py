"""The Gymnasium environments: API checks, seeding, truncation, batched = single, bad prompts, rewards."""

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from conftest import save_tiny_world  # noqa: E402
from genie_play.env import GenieEnv, GenieVectorEnv, horizontal_scroll  # noqa: E402
from genie_play.errors import GenieError  # noqa: E402
from test_world_batch import TINY, make_world  # noqa: E402

PROMPTS = [np.random.default_rng(i).integers(0, 256, (24, 24, 3), dtype=np.uint8) for i in range(3)]


def single(**options):
    return GenieEnv(world=make_world(), prompts=PROMPTS, **options)


def play(env, seed, actions):
    frames = [env.reset(seed=seed)[0]]
    return frames + [env.step(a)[0] for a in actions]


@pytest.mark.filterwarnings("ignore:.*alternative render modes")  # made without gymnasium.make: no spec
def test_gymnasium_env_checker_passes():
    check_env(single(render_mode="rgb_array"), skip_render_check=False)


def test_spaces_info_and_labels():
    env = single()
    obs, info = env.reset(seed=0)
    assert env.observation_space.shape == (16, 16, 3) and env.observation_space.dtype == np.uint8
    assert env.action_space.n == TINY.num_actions
    assert obs in env.observation_space
    assert info["step"] == 0 and len(info["action_labels"]) == TINY.num_actions
    assert info["action_labels"] == env.action_labels


def test_same_seed_same_episode_and_another_seed_another():
    actions = [0, 3, 3, 5, 1, 7, 2]
    a, b = play(single(), 4, actions), play(single(), 4, actions)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = play(single(), 5, actions)
    assert not all(np.array_equal(x, y) for x, y in zip(a[1:], c[1:]))


def test_episodes_truncate_after_max_episode_steps_and_never_terminate():
    env = single(max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(1)[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]
    _, info = env.reset()
    assert info["step"] == 0


def test_reward_fn_hook_sees_both_frames_and_info():
    seen = []

    def reward(prev, frame, info):
        seen.append((prev.shape, frame.shape, info["step"]))
        return 2.5

    env = single(reward_fn=reward)
    env.reset(seed=0)
    assert env.step(0)[1] == 2.5
    assert seen == [((16, 16, 3), (16, 16, 3), 1)]


def test_vector_env_worlds_equal_single_envs_with_the_same_seeds_across_autoreset():
    B, steps = 3, 7  # episodes of 4 steps: every world restarts once, within step()
    actions = np.random.default_rng(0).integers(0, TINY.num_actions, (steps, B))
    vec = GenieVectorEnv(B, world=make_world(), prompts=PROMPTS, max_episode_steps=4)
    obs, _ = vec.reset(seed=20)
    got, truncations, finals = [obs], [], []
    for a in actions:
        obs, rewards, terminated, truncated, info = vec.step(a)
        got.append(obs)
        truncations.append(truncated)
        if truncated.any():
            finals.append(info["final_obs"])
    assert [t.tolist() for t in truncations] == [[False] * B] * 3 + [[True] * B] + [[False] * B] * 3
    for i in range(B):
        env = single(max_episode_steps=4)
        want = [env.reset(seed=20 + i)[0]]
        for t in range(steps):
            frame, _, _, truncated, _ = env.step(actions[t, i])
            if truncated:
                assert np.array_equal(finals[0][i], frame)  # the vector env's final_obs
                frame = env.reset()[0]  # the vector env restarted this world within the step
            want.append(frame)
        for t in range(steps + 1):
            assert np.array_equal(got[t][i], want[t]), f"world {i} differs at step {t}"


def test_vector_env_restarts_only_the_masked_worlds():
    vec = GenieVectorEnv(2, world=make_world(), prompts=PROMPTS)
    vec.reset(seed=0)
    before = vec.step([1, 1])[0]
    obs, info = vec.reset(options={"reset_mask": np.array([False, True]), "prompt": PROMPTS[2]})
    assert np.array_equal(obs[0], before[0])
    assert info["_step"].tolist() == [False, True]
    assert np.array_equal(obs[1], make_world().prompt_frame(PROMPTS[2]))
    assert vec.step([0, 0])[0].shape == (2, 16, 16, 3)


def test_bad_prompts_and_options_get_one_line_errors(tmp_path):
    env = single()
    missing = tmp_path / "missing.png"
    with pytest.raises(GenieError, match="missing.png") as e:
        env.reset(options={"prompt": str(missing)})
    assert "\n" not in str(e.value)
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture")
    with pytest.raises(GenieError, match="notes.png"):
        env.reset(options={"prompt": not_image})
    with pytest.raises(GenieError, match="prompt must be an image path, a PIL image or an RGB uint8 array, got int"):
        env.reset(options={"prompt": 42})
    with pytest.raises(GenieError, match="unknown reset option 'promt'"):
        env.reset(options={"promt": "x.png"})
    with pytest.raises(GenieError, match="unknown environment option 'max_steps'"):
        GenieEnv(world=make_world(), max_steps=5)
    with pytest.raises(GenieError, match="prompts is empty"):
        GenieEnv(world=make_world(), prompts=[])
    with pytest.raises(GenieError, match="reset_mask must be 2 bools"):
        GenieVectorEnv(2, world=make_world(), prompts=PROMPTS).reset(options={"reset_mask": np.array([1, 0])})


def test_registered_id_makes_single_and_vector_envs_from_a_weights_folder(tmp_path):
    folder = save_tiny_world(tmp_path)
    env = gymnasium.make("GeniePlay-v0", weights=str(folder), device="cpu", prompts=PROMPTS)
    assert env.reset(seed=0)[0].shape == (16, 16, 3)
    assert env.unwrapped.action_labels[0] == "left"  # the folder's own keymap
    vec = gymnasium.make_vec("GeniePlay-v0", num_envs=3, vectorization_mode="vector_entry_point",
                             weights=str(folder), device="cpu", prompts=PROMPTS)
    assert vec.reset(seed=0)[0].shape == (3, 16, 16, 3)


def test_horizontal_scroll_measures_how_far_the_picture_slid():
    texture = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    view = lambda x: texture[:, x:x + 64]  # noqa: E731 -- a camera at x
    assert horizontal_scroll(view(8), view(8)) == 0
    assert horizontal_scroll(view(8), view(10)) == pytest.approx(2, abs=0.1)  # camera moved right
    assert horizontal_scroll(view(8), view(5)) == pytest.approx(-3, abs=0.1)


def test_a_failed_reset_leaves_every_episode_as_it_was(tmp_path):
    vec = GenieVectorEnv(2, world=make_world(), prompts=PROMPTS, max_episode_steps=50)
    vec.reset(seed=np.int64(3))  # numpy integers are seeds too
    vec.step([0, 1])
    _, info = vec.reset(options={"reset_mask": np.array([True, False]), "prompt": PROMPTS[0]})
    vec.step([0, 1])
    with pytest.raises(GenieError, match="nope.png"):
        vec.reset(options={"reset_mask": np.array([True, False]), "prompt": str(tmp_path / "nope.png")})
    _, _, _, _, info = vec.step([2, 2])
    assert info["step"].tolist() == [2, 3] and info["prompt"][0] == "ndarray"
    single = GenieEnv(world=make_world(), prompts=PROMPTS)
    single.reset(seed=0)
    single.step(0)
    with pytest.raises(GenieError, match="nope.png"):
        single.reset(options={"prompt": str(tmp_path / "nope.png")})
    assert single.step(0)[4]["step"] == 2


def test_options_that_load_a_world_clash_with_a_given_world_and_labels_follow_the_world():
    with pytest.raises(GenieError, match="'device' chooses how a world is loaded, but world= was given"):
        GenieEnv(world=make_world(), device="cpu")
    assert single().action_labels[0] == "code 0"  # a world made in code has no keymap beside it
