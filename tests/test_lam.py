"""The latent action model: its motion-measuring encoder, its camera-like decoder, its quantizer."""

from pathlib import Path

import pytest
import torch

from conftest import moving_squares
from genie_play.presets import PRESETS
from genie_play.io import load_network, load_state, read_weights, save_weights
from genie_play.train.lam_training import CameraMoves
from genie_play.world.lam import MOVE_WEIGHT, LatentActionModel, NextFrameDecoder, cost_volume, frames_to_float
from genie_play.world.tokenizer import vocabulary
from genie_play.world.quantizer import CategoricalQuantizer

TINY = PRESETS["tiny"]
SHIPPED_LAM = Path(__file__).parent.parent / "models" / "lam.safetensors"


def test_cost_volume_finds_the_shift():
    torch.manual_seed(0)
    a = torch.rand(2, 3, 16, 16)
    b = torch.roll(a, shifts=(1, -2), dims=(2, 3))  # moved down 1, left 2
    vol = cost_volume(a, b, radius=3)
    assert vol.shape == (2, 49, 16, 16)
    best = vol[:, :, 4:-4, 4:-4].mean(dim=(2, 3)).argmax(dim=1)  # away from the edges
    dy, dx = best // 7 - 3, best % 7 - 3
    assert dy.tolist() == [1, 1] and dx.tolist() == [-2, -2]  # channel (dy + r) * (2r + 1) + dx + r
    assert vol[:, 24].abs().sum() > 0  # "no move" is not a match


def test_decoder_starts_as_the_identity_and_can_translate():
    torch.manual_seed(0)
    dec = NextFrameDecoder(channels=8, action_dim=4, max_shift=8.0)
    frame = torch.rand(3, 16, 16, 3) * 2 - 1
    assert torch.allclose(dec(frame, torch.randn(3, 4)), frame, atol=1e-5)  # untrained: nothing moves
    x = frame.permute(0, 3, 1, 2)
    raw = torch.zeros(3, 2, 2)
    raw[:, :, 0] = torch.atanh(torch.tensor(3 / dec.max_shift))  # 3 px right, every band
    moved = dec._translate(x, raw)
    assert torch.allclose(moved[..., 3:], x[..., :-3], atol=1e-5)


def test_categorical_quantizer_uses_every_code_and_passes_gradients():
    torch.manual_seed(0)
    q = CategoricalQuantizer(num_codes=8, dim=16)
    z = torch.randn(64, 16, requires_grad=True)
    out = q(z)
    assert out.ids.shape == (64,) and out.quantized.shape == (64, 16)
    assert torch.allclose(out.quantized, q.lookup(out.ids), atol=1e-6)  # forward: exactly the chosen code
    out.quantized.sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0  # backward: through the softmax
    # Everything on one code is penalised; an even spread is not.
    with torch.no_grad():
        q.classify.weight.zero_()
        q.classify.bias.copy_(torch.tensor([9.0] + [0.0] * 7))
    collapsed = q(torch.randn(64, 16))
    assert collapsed.perplexity.item() == pytest.approx(1.0) and collapsed.loss.item() > 0.01
    with torch.no_grad():
        q.classify.bias.zero_()
    assert q(torch.randn(64, 16)).loss.item() == pytest.approx(0.0, abs=1e-6)


def test_tiny_lam_learns_which_way_things_move():
    """Unsupervised: clips whose square moves left or right get two different codes."""
    torch.manual_seed(0)
    lam = LatentActionModel(TINY)
    clips = torch.zeros(16, 2, 16, 16, 3, dtype=torch.uint8)
    for i in range(16):
        start, step = 3 + i % 6, (3 if i % 2 else -3)
        clips[i, 0, 5:10, start + 3:start + 8] = 255
        clips[i, 1, 5:10, start + 3 + step:start + 8 + step] = 255
    opt = torch.optim.AdamW(lam.parameters(), lr=3e-3)
    for _ in range(150):
        loss = lam(clips).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    lam.eval()
    codes = lam.infer_actions(clips)[:, 0]
    left, right = set(codes[0::2].tolist()), set(codes[1::2].tolist())
    assert not left & right, (left, right)


def test_lam_shapes_and_overfit():
    """It overfits one small batch: the reconstruction loss falls by at least 90%."""
    torch.manual_seed(0)
    net, x = LatentActionModel(TINY), moving_squares()
    out = net(x)
    assert out.prediction.shape == (2, 3, 16, 16, 3) and out.actions.shape == (2, 3)
    assert torch.allclose(out.loss, out.recon_loss + out.vq.loss)
    codes = net.infer_actions(x)
    assert codes.shape == (2, 3) and codes.min() >= 0 and codes.max() < TINY.num_actions
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.0)
    losses = []
    for _ in range(200):
        out = net(x)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.recon_loss.item())
    assert losses[-1] <= 0.1 * losses[0], (losses[0], losses[-1])
    with pytest.raises(ValueError, match="at least two frames"):
        net.infer_actions(x[:, :1])
    with pytest.raises(ValueError, match="at least two frames"):
        net(x[:, :1])


def test_frames_to_float_maps_uint8_and_unit_floats_to_minus_one_one():
    frames = torch.tensor([0, 255], dtype=torch.uint8)
    assert frames_to_float(frames).tolist() == [-1.0, 1.0]
    assert frames_to_float(torch.tensor([0.0, 0.5, 1.0])).tolist() == [-1.0, 0.0, 1.0]


def test_the_shipped_lam_loads_as_the_latent_action_model():
    """The shipped file names its own architecture: it builds the conv LAM with the categorical quantizer."""
    lam, weights = load_network(SHIPPED_LAM, "lam", LatentActionModel)
    assert isinstance(lam, LatentActionModel) and isinstance(lam.vq, CategoricalQuantizer)
    assert weights.config.num_actions == lam.vq.num_codes == 8
    clip = torch.zeros(1, 2, weights.config.image_size, weights.config.image_size, 3, dtype=torch.uint8)
    codes = lam.eval().infer_actions(clip)
    assert codes.shape == (1, 1) and 0 <= codes.item() < 8


def _camera_clips() -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs of 16 px frames cut from wider random pictures, the second moved by dx in {0, 2, -2} px."""
    g = torch.Generator().manual_seed(0)
    wide = (torch.rand(12, 16, 24, 3, generator=g) * 255).to(torch.uint8)
    dx = torch.tensor([0, 2, -2] * 4)
    pairs = torch.stack([torch.stack([wide[i, :, 4:20], wide[i, :, 4 - d:20 - d]]) for i, d in enumerate(dx.tolist())])
    return pairs, dx


def test_training_measures_the_camera_move_and_the_code_learns_to_name_it(monkeypatch):
    """The training's move (the tokenizer's search, no labels) is the true one; trained on it, each
    code's head names its transitions' move."""
    torch.manual_seed(0)
    pairs, dx = _camera_clips()
    camera_moves = CameraMoves(vocabulary(TINY))
    moves = camera_moves(pairs)
    assert moves.shape == (12, 1)
    # Each pair is searched once: a batch of pairs seen before, in another order, is remembered.
    import genie_play.train.lam_training as lam_training

    monkeypatch.setattr(lam_training, "estimate_move", None)  # a search now would fail
    assert torch.equal(camera_moves(pairs[[11, 0, 5]]), moves[[11, 0, 5]]) and len(camera_moves.known) == 12
    monkeypatch.undo()
    assert vocabulary(TINY).move_table()[moves[:, 0]].tolist() == [[0, d] for d in dx.tolist()]
    lam = LatentActionModel(TINY)
    out = lam(pairs, moves)
    assert torch.allclose(out.loss, out.recon_loss + out.vq.loss + MOVE_WEIGHT * out.move_loss)
    assert lam(pairs).move_loss == 0  # no moves given: reconstruction only
    opt = torch.optim.AdamW(lam.parameters(), lr=3e-3)
    first = out.move_loss.item()
    for _ in range(150):
        out = lam(pairs, moves)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert out.move_loss.item() < 0.5 * first, (first, out.move_loss.item())
    codes = [set(out.actions[dx == d, 0].tolist()) for d in (0, 2, -2)]
    assert not (codes[0] & codes[1] or codes[0] & codes[2] or codes[1] & codes[2]), codes
    named = lam.move_head(lam.vq.lookup(out.actions)).argmax(-1)  # (12, 1): the move each code names
    assert (named == moves).float().mean() >= 0.8


def test_exported_weights_leave_the_training_heads_out_and_load(tmp_path):
    torch.manual_seed(0)
    lam = LatentActionModel(TINY).eval()
    path = save_weights(tmp_path / "lam.safetensors", "lam", lam.exported_state(), TINY)
    weights = read_weights(path, "lam")
    assert weights.tensors and not [n for n in weights.tensors if n.startswith(LatentActionModel.TRAINING_ONLY)]
    again = load_state(LatentActionModel(TINY), weights).eval()
    pairs, _ = _camera_clips()
    assert torch.equal(again.infer_actions(pairs), lam.infer_actions(pairs))
