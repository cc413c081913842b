"""The RL example: SB3 trains on the batched dream, the LAM bridges to the real game, results are written."""

import json

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from safetensors import safe_open  # noqa: E402

from conftest import save_tiny_world  # noqa: E402
from genie_play.data.game import ACTIONS  # noqa: E402
from genie_play.env import GenieVectorEnv  # noqa: E402
from genie_play.env.dream_agent import DreamAgentOptions, latent_to_real, main, real_scores, run  # noqa: E402
from genie_play.env.sb3 import SB3VecEnv  # noqa: E402
from genie_play.errors import GenieError  # noqa: E402
from test_env import PROMPTS  # noqa: E402
from test_world_batch import make_world  # noqa: E402


def test_sb3_view_reports_dones_with_the_terminal_frame():
    venv = SB3VecEnv(GenieVectorEnv(2, world=make_world(), prompts=PROMPTS, max_episode_steps=2))
    venv.seed(3)
    first = venv.reset()
    assert first.shape == (2, 16, 16, 3)
    _, _, dones, infos = venv.step(np.array([0, 1]))
    assert not dones.any() and infos == [{}, {}]
    frames_before = venv.env.batch.frames.copy()
    obs, rewards, dones, infos = venv.step(np.array([2, 3]))
    assert dones.all() and rewards.dtype == np.float32
    for i in range(2):
        assert infos[i]["TimeLimit.truncated"] is True
        assert infos[i]["terminal_observation"].shape == (16, 16, 3)
        assert not np.array_equal(infos[i]["terminal_observation"], frames_before[i])  # the last step's frame
    assert venv.get_attr("render_mode") == [None, None]


def test_latent_actions_map_to_real_actions_through_the_lam():
    mapping, table = latent_to_real(make_world(), clips=4, length=5)
    assert mapping.shape == (8,) and all(0 <= a < len(ACTIONS) for a in mapping)
    assert table.shape == (8, len(ACTIONS)) and table.sum() == 4 * 4
    for code in range(8):
        if table[code].sum():
            assert mapping[code] == table[code].argmax()
        else:
            assert ACTIONS[mapping[code]] == "idle"


def test_real_scores_see_walking_right_as_progress_and_scroll():
    right = real_scores(lambda obs: np.full(len(obs), ACTIONS.index("right")), None, 3, 20, 64)
    idle = real_scores(lambda obs: np.full(len(obs), ACTIONS.index("idle")), None, 3, 20, 64)
    assert (right["tiles_right"] > 1).all() and (right["scroll"] > 3).all()
    assert np.allclose(idle["tiles_right"], 0) and np.abs(idle["scroll"]).max() < 1


def test_dream_agent_trains_evaluates_and_writes_results(tmp_path):
    out = tmp_path / "agent"
    result = run(DreamAgentOptions(out=out, weights=str(save_tiny_world(tmp_path / "w")), device="cpu", timesteps=64,
                                   worlds=2, episode_steps=4, eval_episodes=8, prompts=2, log=lambda _: None))
    saved = json.loads((out / "results.json").read_text())
    assert saved["timesteps_trained"] == result["timesteps_trained"] >= 64
    for key in ("dream_ppo_scroll", "dream_random_scroll", "real_ppo_tiles_right", "real_random_tiles_right",
                "real_always_right_tiles_right", "dream_hold_code7_scroll"):
        assert saved[key]["n"] >= 1 and np.isfinite(saved[key]["mean"])
    assert len(saved["latent_to_real"]) == 8
    with safe_open(str(out / "policy.safetensors"), "pt") as f:
        assert any(k.startswith("action_net") for k in f.keys())
    shares = saved["real_ppo_code_share"]
    assert len(shares) == 8 and sum(shares) == pytest.approx(1)

    # the saved policy evaluates again without training; a file that is no policy is refused in one line
    again = run(DreamAgentOptions(out=tmp_path / "again", weights=str(tmp_path / "w"), device="cpu", timesteps=0,
                                  policy=out / "policy.safetensors", worlds=2, episode_steps=4, eval_episodes=8,
                                  prompts=2, log=lambda _: None))
    assert again["timesteps_trained"] == 0 and len(again["real_ppo_code_share"]) == 8
    with pytest.raises(GenieError, match="tokenizer.safetensors: not a policy of this agent"):
        run(DreamAgentOptions(out=tmp_path / "bad", weights=str(tmp_path / "w"), device="cpu", timesteps=0,
                              policy=tmp_path / "w" / "tokenizer.safetensors", worlds=2, log=lambda _: None))


def test_dream_agent_cli_reports_a_missing_world_in_one_line(tmp_path, capsys):
    assert main(["--weights", str(tmp_path / "nowhere"), "--device", "cpu", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dream_agent: error: ") and "weights folder not found" in err and err.count("\n") == 1


def test_sb3_view_passes_reset_options_and_renders():
    venv = SB3VecEnv(GenieVectorEnv(2, world=make_world(), prompts=PROMPTS, render_mode="rgb_array"))
    venv.set_options({"prompt": PROMPTS[1]})
    obs = venv.reset()
    expected = make_world().prompt_frame(PROMPTS[1])
    assert all(np.array_equal(o, expected) for o in obs) and venv.reset_infos[0]["step"] == 0
    assert [img.shape for img in venv.get_images()] == [(16, 16, 3)] * 2
    venv.set_options([{"prompt": PROMPTS[0]}, {}])
    with pytest.raises(GenieError, match="the same options"):
        venv.reset()
