"""Context-aware decoding (world/carry.py): the camera's move is found, the old frame is carried over
where it fits, the tokens keep their meaning, and play uses the frame on screen."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import moving_squares
from genie_play.presets import resolve_config
from genie_play.errors import GenieError
from genie_play.io import read_weights, save_weights, tokens_sha256
from genie_play.train.trainer import RunOptions, train
from genie_play.world.carry import CarryOver, blur, find_shift, shift_frames
from genie_play.world.dynamics import Dynamics
from genie_play.world.tokenizer import build_tokenizer
from genie_play.world.world_model import WorldModel

CONTEXT = ["tokenizer.decoder_context=true", "tokenizer.context_reach=3"]


def texture(batch=2, size=32, seed=0):
    """Grainy pictures (B, 3, H, W) in [-1, 1]: detail a blurred painter loses."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.interpolate(torch.rand(batch, 3, size // 8, size // 8, generator=g), size=size, mode="bilinear")
    return (coarse + 0.5 * torch.rand(batch, 3, size, size, generator=g)) * 1.3 - 1


def test_find_shift_recovers_the_camera_move():
    before = texture(batch=3, size=48)
    moves = torch.tensor([[0, 0], [2, -5], [-4, 3]])
    after, _ = shift_frames(before, moves, 6)
    assert torch.equal(find_shift(before, after, 6), moves)


def test_shift_marks_the_uncovered_pixels():
    moved, real = shift_frames(torch.ones(1, 3, 8, 8), torch.tensor([[0, 2]]), 3)
    assert real[0, 0, :, :2].sum() == 0 and real[0, 0, :, 2:].min() == 1  # a move right uncovers the left edge
    assert moved[0, :, :, :2].abs().sum() == 0


def test_untrained_carry_over_keeps_the_painted_frame():
    carry = CarryOver(reach=4)
    painted, before = texture(seed=1), texture(seed=2)
    out = carry(painted, before)
    assert (out - painted).abs().max() < 0.05 * (before - painted).abs().max()  # takes ~5% of the old frame


def test_carry_over_learns_to_bring_back_the_detail():
    """Painted = the new frame blurred (what tokens keep); the old frame is the new one moved: the
    carry-over must learn to take the old pixels, lined up, and beat the painted frame by far."""
    torch.manual_seed(0)
    carry = CarryOver(channels=16, reach=4)
    optimizer = torch.optim.Adam(carry.parameters(), lr=3e-3)
    new = texture(batch=8, size=32, seed=3)
    old, _ = shift_frames(new, torch.tensor([[1, -2]] * 8), 4)  # the old frame is the new one moved back
    old = torch.where(old == 0, new, old)  # fill the uncovered edge
    painted = blur(new, 5)
    for _ in range(60):
        loss = F.l1_loss(carry(painted, old), new)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    before, after = F.mse_loss(painted, new).item(), F.mse_loss(carry(painted, old), new).item()
    assert after < before / 4, (before, after)


def context_config(*extra):
    return resolve_config("tiny", [*CONTEXT, *extra])


def test_decoding_a_clip_is_decoding_it_frame_by_frame():
    """The eval decodes a clip at once, play one frame at a time after the frame on screen: the same frames."""
    torch.manual_seed(0)
    tok = build_tokenizer(context_config()).eval()
    clip = moving_squares(2, 5, 16)
    ids = tok.encode(clip)
    with torch.inference_mode():
        whole = tok.decode(ids[:, 1:], previous=clip[:, 0])
        shown, one_by_one = clip[:, 0], []
        for t in range(1, 5):
            frame = tok.decode(ids[:, t:t + 1], previous=shown)[:, 0]
            shown = (frame * 255).round().to(torch.uint8)
            one_by_one.append(frame)
    assert torch.allclose(whole, torch.stack(one_by_one, dim=1), atol=1e-6)


def test_carry_over_config_errors():
    with pytest.raises(GenieError, match="context_reach"):
        resolve_config("tiny", ["tokenizer.decoder_context=true", "tokenizer.context_reach=8"])


def run(out: Path, init=None, steps=4, *extra):
    sizes = [f"train.tokenizer_{k}={v}" for k, v in (("steps", steps), ("batch", 4))]
    opts = RunOptions("tokenizer", Path("clips"), out, device="cpu", quiet=True, init=init)
    return train(resolve_config("tiny", [*sizes, "train.warmup_steps=1", *extra]), opts, list(moving_squares(8, 4, 16)))


def test_carry_over_trains_on_top_and_the_tokens_keep_their_meaning(tmp_path):
    plain = run(tmp_path / "plain")
    carried = run(tmp_path / "carry", plain, 4, *CONTEXT, "train.tokenizer_frozen=true")
    a, b = read_weights(plain), read_weights(carried)
    assert b.config.tokenizer.decoder_context and not a.config.tokenizer.decoder_context
    assert any(k.startswith("carry.") for k in b.tensors)
    kept = [k for k in a.tensors if not k.startswith("decoder.")]  # only the painter learned
    assert kept and all(torch.equal(a.tensors[k], b.tensors[k]) for k in kept)
    assert tokens_sha256(a.tensors) == tokens_sha256(b.tensors)

    # A dynamics model trained on the first file's tokens plays with the second file.
    world_dir = tmp_path / "world"
    world_dir.mkdir()
    (world_dir / "tokenizer.safetensors").write_bytes(carried.read_bytes())
    dynamics_config = b.config
    summary = {"tokenizer_tokens_sha256": tokens_sha256(a.tensors), "tokenizer_sha256": "0" * 64}
    save_weights(world_dir / "dynamics.safetensors", "dynamics", Dynamics(dynamics_config), dynamics_config, summary)
    world = WorldModel.load(world_dir, device="cpu")
    world.reset(np.zeros((16, 16, 3), np.uint8))
    assert world.step(0).shape == (16, 16, 3)

    # ... but not with a tokenizer whose encoder is another.
    other = run(tmp_path / "other", None, 4, *CONTEXT, "train.seed=1")
    (world_dir / "tokenizer.safetensors").write_bytes(other.read_bytes())
    with pytest.raises(GenieError, match="another tokenizer"):
        WorldModel.load(world_dir, device="cpu")


def test_play_carries_over_the_frame_on_screen():
    """The first step after a prompt carries the prompt itself over; a preview shows the frame the step does."""
    torch.manual_seed(0)
    config = context_config()
    tok = build_tokenizer(config)
    with torch.no_grad():  # make the carry-over take the old frame wherever it is real
        tok.carry.chooser[-2].bias.fill_(10.0)
    world = WorldModel(tok, Dynamics(config), device="cpu", seed=1)
    prompt = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    world.reset(prompt)
    preview = world.preview([2])[0]
    frame = world.step(2)
    assert np.array_equal(preview, frame)
    # Taking the old pixels everywhere they are real: the inside of the frame is the prompt, moved.
    reach = config.tokenizer.context_reach
    moved = [np.roll(prompt, (dy, dx), (0, 1))[reach:-reach, reach:-reach]
             for dy in range(-reach, reach + 1) for dx in range(-reach, reach + 1)]
    assert any(np.abs(m.astype(int) - frame[reach:-reach, reach:-reach]).max() <= 1 for m in moved)
