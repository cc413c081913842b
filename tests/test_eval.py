"""Evaluation metrics on hand-made cases, and `genie-play eval` end to end on generated data."""

import json

import pytest
import torch

from genie_play.cli import main
from genie_play.errors import GenieError
from genie_play.presets import PRESETS
from genie_play.eval import metrics as M
from genie_play.eval.evaluate import ROLLOUTS, EvalOptions, evaluate
from genie_play.io import save_weights
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import LatentActionModel
from genie_play.world.tokenizer import Tokenizer

TINY = PRESETS["tiny"]


def test_psnr_and_ssim_on_known_cases():
    torch.manual_seed(0)  # random pictures, but the same ones every run
    a = torch.randint(0, 256, (2, 16, 16, 3), dtype=torch.uint8)
    assert torch.all(M.psnr(a, a) >= 99) and torch.allclose(M.ssim(a, a), torch.ones(2))
    b = torch.zeros(1, 8, 8, 3)
    c = torch.full((1, 8, 8, 3), 0.1)  # MSE 0.01 -> 20 dB
    assert M.psnr(b, c).item() == pytest.approx(20.0, abs=1e-4)
    noisy = (a.float() + torch.randn(a.shape) * 40).clamp(0, 255).to(torch.uint8)
    assert torch.all(M.ssim(a, noisy) < 0.9) and torch.all(M.psnr(a, noisy) < 25)


def test_nmi_purity_and_usage():
    labels = torch.randint(0, 4, (1000,))
    perfect = M.contingency((labels + 1) % 4, labels, 8, 4)  # a relabelling: fully informative
    assert M.nmi(perfect) == pytest.approx(1.0) and M.purity(perfect)[0] == 1.0
    independent = M.contingency(torch.randint(0, 8, (100_000,)), torch.randint(0, 4, (100_000,)), 8, 4)
    assert M.nmi(independent) < 0.01
    overall, per_code = M.purity(torch.tensor([[3, 1], [0, 0], [1, 5]]))
    assert overall == pytest.approx(8 / 10) and per_code[0] == 0.75 and per_code[2] == pytest.approx(5 / 6)
    assert M.code_usage(torch.tensor([0, 0, 1, 1]), 4) == {"usage": 0.5, "perplexity": pytest.approx(2.0)}


def test_sharpness_drops_with_blur():
    sharp = torch.zeros(1, 16, 16, 3)
    sharp[:, ::2] = 1.0
    assert M.sharpness(sharp) > 10 * M.sharpness(torch.full((1, 16, 16, 3), 0.5) + 0.01 * sharp)


@pytest.fixture
def data(generated_data):
    return generated_data


def test_delta_psnr_of_a_model_that_ignores_actions_is_zero(data, tmp_path):
    torch.manual_seed(0)
    dynamics = Dynamics(TINY)
    with torch.no_grad():
        dynamics.move_action.weight.zero_()  # every latent action looks the same to both heads
        dynamics.action_embed.weight.zero_()
    for kind, net in (("tokenizer", Tokenizer(TINY)), ("lam", LatentActionModel(TINY)), ("dynamics", dynamics)):
        save_weights(tmp_path / f"{kind}.safetensors", kind, net, TINY)
    result = evaluate(EvalOptions(tmp_path, data, tmp_path / "eval", device="cpu", clips=3, rollout_steps=8, report=False))
    assert result["dynamics_delta_psnr"] == 0.0
    assert result["delta_t"] == 3  # tiny clips hold 4 frames, so t = 4 is capped at 3


def test_eval_command_writes_metrics_and_report(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "all", "--data", str(data), "--out", str(run), "--preset", "tiny", "--steps", "2",
                 "--sample-every", "0"]) == 0
    out = tmp_path / "eval"
    assert main(["eval", "--weights", str(run), "--data", str(data), "--out", str(out), "--clips", "2",
                 "--rollout-steps", "12", "--device", "cpu"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    for key in ("tokenizer_psnr", "tokenizer_ssim", "tokenizer_code_usage", "lam_code_usage", "lam_nmi",
                "lam_purity", "dynamics_psnr", "dynamics_psnr_t1", "dynamics_delta_psnr",
                "rollout_sharpness_ratio", "rollout_frozen_fraction", "lam_code0_share", "tokenizer_carry_share",
                "tokenizer_copy_psnr", "maskgit_steps", "min_p", "carry_bias"):
        assert key in result, key
    assert result["networks"] == ["tokenizer", "lam", "dynamics"]
    assert 0 <= result["lam_nmi"] <= 1 and 0 < result["tokenizer_psnr"] <= 100 and 0 <= result["tokenizer_carry_share"] <= 1
    # the tokenizer's ceiling: rebuilding each real frame from the real frame before beats showing that frame again
    assert result["tokenizer_psnr"] > result["tokenizer_copy_psnr"]
    assert result["maskgit_steps"] == TINY.sampler.maskgit_steps and result["carry_bias"] == TINY.sampler.carry_bias
    assert result["overlay_rows"] == [0, 0]  # an untrained world has no screen overlay
    # rollout PSNR comes with its standard error over the clips: a 16-clip mean moves by dB between clip sets
    assert 0 <= result["dynamics_psnr_8_stderr"] < 30
    # the stability metrics are means over several long rollouts: one sampled world varies too much
    ratios = result["rollout_sharpness_ratios"]
    assert result["rollout_count"] == len(ratios) == ROLLOUTS and result["rollout_sharpness_ratio"] == pytest.approx(sum(ratios) / ROLLOUTS)
    # ... and count only the detail a real frame or the prompt shows too (eval/survival.py, tested there)
    assert 0 <= result["rollout_found_sharpness_ratio"] < 100
    assert 0 <= result["rollout_found_share"] <= 1
    for name in ("report.html", "reconstructions.png", "rollouts.png", "actions.png", "lam_codes.png",
                 "long_rollout.gif", "training_curves.png"):
        assert (out / name).stat().st_size > 0, name
    assert "actions.png" in (out / "report.html").read_text()
    assert "dynamics_delta_psnr" in capsys.readouterr().out


def test_eval_refuses_data_of_another_size(data, tmp_path):
    from genie_play.config import apply_overrides
    from genie_play.errors import GenieError

    other = apply_overrides(TINY, ["image_size=32"])
    for kind, cls in (("tokenizer", Tokenizer), ("lam", LatentActionModel), ("dynamics", Dynamics)):
        save_weights(tmp_path / f"{kind}.safetensors", kind, cls(other), other)
    with pytest.raises(GenieError, match="frames are 16x16, the weights need 32x32"):
        evaluate(EvalOptions(tmp_path, data, tmp_path / "eval", device="cpu", clips=1))


def test_eval_of_a_lone_lam_reports_it_beside_the_ceilings(data, tmp_path, capsys):
    """`train lam` output alone: the LAM's numbers, the state ceiling and the pixel probe, no world."""
    run = tmp_path / "lam"
    assert main(["train", "lam", "--data", str(data), "--out", str(run), "--preset", "tiny", "--steps", "3",
                 "--sample-every", "0"]) == 0
    out = tmp_path / "eval"
    assert main(["eval", "--weights", str(run), "--data", str(data), "--out", str(out), "--probe-data", str(data),
                 "--probe-steps", "3", "--device", "cpu"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    assert result["networks"] == ["lam"] and "dynamics_psnr" not in result and "tokenizer_psnr" not in result
    assert result["lam_clips"] == 8 and result["lam_transitions"] > 0
    assert 0.5 < result["action_ceiling_nmi"] <= 1.0  # the built-in world shows its actions
    assert 0 <= result["action_probe_nmi"] <= 1 and 0 <= result["action_probe_accuracy"] <= 1
    assert result["lam_nmi_vs_probe"] == pytest.approx(result["lam_nmi"] / result["action_probe_nmi"])
    assert (out / "lam_codes.png").stat().st_size > 0 and "lam_codes.png" in (out / "report.html").read_text()
    assert "action_ceiling_nmi" in capsys.readouterr().out
    with pytest.raises(GenieError, match="holds no lam or dynamics weights"):
        evaluate(EvalOptions(tmp_path / "eval", data, tmp_path / "eval2", device="cpu"))


class _Painter:
    """A stand-in tokenizer that finds no move and paints the next frame through `paint`."""

    vocab = Tokenizer(TINY).vocab

    def __init__(self, paint):
        self.paint = paint

    def encode(self, prev, nxt):
        self.next = nxt
        G = nxt.shape[1] // self.vocab.block
        return (torch.full((len(nxt), self.vocab.bands), self.vocab.moves // 2),
                torch.full((len(nxt), G, G), self.vocab.carry))

    def decode(self, prev, moves, ids):
        return self.paint(self.next.float() / 255).mul(255).round().to(torch.uint8)


def blur(x):
    """(M, H, W, 3) float -> the same, each pixel the mean of its 3x3 neighbourhood."""
    pixels = x.permute(0, 3, 1, 2)
    return torch.nn.functional.avg_pool2d(pixels, 3, 1, 1, count_include_pad=False).permute(0, 2, 3, 1)


def test_tokenizer_sharpness_ratio_is_one_for_a_perfect_painter_and_falls_with_blur():
    from genie_play.eval.evaluate import _tokenizer_metrics

    g = torch.Generator().manual_seed(0)
    frames = (torch.rand(2, 4, 16, 16, 3, generator=g) * 255).to(torch.uint8)
    exact, blurred = {}, {}
    recon = _tokenizer_metrics(_Painter(lambda x: x), frames, "cpu", exact)
    assert torch.equal(recon, frames)  # the first frame of each clip, then the rebuilt ones
    _tokenizer_metrics(_Painter(blur), frames, "cpu", blurred)
    assert exact["tokenizer_sharpness_ratio"] == pytest.approx(1.0)
    assert exact["tokenizer_psnr"] >= 99 and exact["tokenizer_carry_share"] == 1.0
    assert blurred["tokenizer_sharpness_ratio"] < 0.3
    assert blurred["tokenizer_psnr"] < exact["tokenizer_psnr"]


def test_the_real_tokenizer_rebuilds_real_frames_better_than_copying_them(data):
    """Its ceiling on the built-in world: most blocks carried, and far above showing the frame before again."""
    from genie_play.eval.evaluate import _tokenizer_metrics, held_out_clips

    frames = held_out_clips(data, TINY, 4, 0)[0]
    result = {}
    recon = _tokenizer_metrics(Tokenizer(TINY), frames, "cpu", result)
    assert recon.shape == frames.shape and torch.equal(recon[:, 0], frames[:, 0])
    assert result["tokenizer_psnr"] > result["tokenizer_copy_psnr"] + 3
    assert 0.5 < result["tokenizer_carry_share"] <= 1
