"""Retraining the painter (the tokenizer's decoder) on kept tokens: a deeper painter grows from a
shallower file and starts out painting exactly as it did, frozen training moves only the painter,
and a dynamics model trained on the tokens still plays with the result."""

from pathlib import Path

import pytest
import torch

from conftest import moving_squares
from test_carry import run  # a few tokenizer training steps on tiny clips
from genie_play.presets import resolve_config
from genie_play.errors import GenieError
from genie_play.io import load_state, read_weights, save_weights, tokens_sha256
from genie_play.train.objectives import build_objective
from genie_play.train.trainer import grown_painter, new_painter_part
from genie_play.world.dynamics import Dynamics
from genie_play.world.tokenizer import build_tokenizer
from genie_play.world.world_model import WorldModel


def test_a_deeper_painter_loads_a_shallower_file_and_paints_the_same():
    torch.manual_seed(0)
    config = resolve_config("tiny", [])
    shallow = build_tokenizer(config).eval()
    # Train a little so the painter is not the identity-started one every fresh net has.
    for p in shallow.decoder.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    deep_config = resolve_config("tiny", ["tokenizer.decoder_blocks=3"])
    grown = grown_painter(config.tokenizer, deep_config.tokenizer)
    assert grown.decoder_blocks == 3
    deep = build_tokenizer(deep_config).eval()
    new = [n for n in deep.state_dict() if n not in shallow.state_dict()]
    assert new and all(new_painter_part(n) for n in new)  # the new blocks are all the file lacks
    deep.load_state_dict(shallow.state_dict(), strict=False)
    x = moving_squares()
    ids = shallow.encode(x)
    assert torch.equal(deep.encode(x), ids)
    assert torch.allclose(deep.decode(ids), shallow.decode(ids), atol=1e-6)  # new blocks start as the identity
    assert sum(p.numel() for p in deep.decoder.parameters()) > sum(p.numel() for p in shallow.decoder.parameters())


def test_init_never_shrinks_the_painter_it_starts_from():
    deep = resolve_config("tiny", ["tokenizer.decoder_blocks=2", "tokenizer.decoder_context=true",
                                   "tokenizer.context_reach=3"]).tokenizer
    plain = resolve_config("tiny", []).tokenizer
    assert grown_painter(deep, plain) == deep  # a run without --set keeps the file's painter


def test_frozen_training_moves_only_the_painter_and_keeps_the_tokens(tmp_path):
    plain = run(tmp_path / "plain")
    painted = run(tmp_path / "deeper", plain, 6, "tokenizer.decoder_blocks=2", "train.tokenizer_frozen=true")
    a, b = read_weights(plain), read_weights(painted)
    assert a.config.tokenizer.decoder_blocks == 1 and b.config.tokenizer.decoder_blocks == 2
    assert tokens_sha256(a.tensors) == tokens_sha256(b.tensors)
    assert all(torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors if not k.startswith("decoder."))
    assert any(not torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors if k.startswith("decoder."))
    assert any(".more." in k for k in b.tensors)

    # A dynamics model trained on the first file's tokens plays with the repainted one.
    config = resolve_config("tiny", [])
    dyn = Dynamics(config)
    dyn_path = save_weights(tmp_path / "w" / "dynamics.safetensors", "dynamics", dyn, config,
                            {"tokenizer_tokens_sha256": tokens_sha256(a.tensors)})
    (tmp_path / "w" / "tokenizer.safetensors").write_bytes(Path(painted).read_bytes())
    world = WorldModel.load(dyn_path.parent, device="cpu")
    assert world.tokenizer.config.tokenizer.decoder_blocks == 2
    world.reset(moving_squares()[0, 0].numpy())
    assert world.step(0).shape == (config.image_size, config.image_size, 3)


def test_frozen_painter_training_sees_whole_frames():
    config = resolve_config("tiny", ["train.tokenizer_frozen=true", "train.tokenizer_crop=8"])
    objective = build_objective("tokenizer", config)
    trains = {n for n, p in objective.model.named_parameters() if p.requires_grad}
    assert trains and all(n.startswith("decoder.") for n in trains)
    frames = moving_squares(4, 4, config.image_size)
    seen = []
    original = objective.model.forward
    objective.model.forward = lambda x: seen.append(x.shape) or original(x)
    objective.loss(objective.model, frames)
    assert seen[0][2:4] == (config.image_size, config.image_size)  # uncropped: edge tokens as in play


def test_painter_config_errors_are_one_line():
    with pytest.raises(GenieError, match="decoder_blocks"):
        resolve_config("tiny", ["tokenizer.decoder_blocks=0"])


def test_load_state_refuses_a_missing_tensor_that_is_not_a_new_painter_part(tmp_path):
    config = resolve_config("tiny", [])
    net = build_tokenizer(config)
    path = save_weights(tmp_path / "t.safetensors", "tokenizer", net, config)
    w = read_weights(path)
    del w.tensors[next(n for n in w.tensors if n.startswith("encoder."))]
    with pytest.raises(GenieError, match="missing 1 tensor"):
        load_state(build_tokenizer(config), w, may_lack=new_painter_part)


def test_a_dynamics_file_that_names_only_its_tokenizer_file_plays_with_a_repainting_of_it(tmp_path):
    import hashlib

    from genie_play.world.pairing import check_compatible

    plain = run(tmp_path / "plain")
    repainted = run(tmp_path / "deeper", plain, 2, "tokenizer.decoder_blocks=2", "train.tokenizer_frozen=true")
    retrained = run(tmp_path / "again", plain, 2)  # the encoder moved too: other tokens
    config = resolve_config("tiny", [])
    old_style = {"tokenizer_sha256": hashlib.sha256(Path(plain).read_bytes()).hexdigest()}  # before tokens_sha256
    dyn = read_weights(save_weights(tmp_path / "dynamics.safetensors", "dynamics", Dynamics(config), config, old_style))
    check_compatible(read_weights(plain), dyn)
    check_compatible(read_weights(repainted), dyn)
    with pytest.raises(GenieError, match="another tokenizer"):
        check_compatible(read_weights(retrained), dyn)
