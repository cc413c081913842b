import json
import pickle
import struct

import pytest
import torch
from torch import nn

from genie_play.config import apply_overrides
from genie_play.presets import PRESETS
from genie_play.errors import GenieError
from genie_play.io import (
    FORMAT_VERSION, MAX_HEADER_BYTES, load_network, load_state, read_weights, save_weights,
)

TINY = PRESETS["tiny"]


class Net(nn.Module):
    """A stand-in network whose shapes depend on the config, like the real ones."""

    def __init__(self, config):
        super().__init__()
        d = config.dynamics.d_model
        self.proj = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.register_buffer("codebook", torch.randn(config.num_actions, d))


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    net = Net(TINY)
    path = save_weights(tmp_path / "tokenizer.safetensors", "tokenizer", net, TINY, {"steps": 10, "psnr": 31.5})
    return net, path


def _one_line(exc_info, path):
    message = str(exc_info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_round_trip_keeps_config_tensors_and_summary(saved):
    net, path = saved
    loaded, weights = load_network(path, "tokenizer", Net)
    assert weights.kind == "tokenizer" and weights.config == TINY
    assert weights.summary == {"steps": 10, "psnr": 31.5}
    assert weights.format_version == FORMAT_VERSION and weights.written_by
    for name, tensor in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert not list(path.parent.glob("*.tmp"))


def test_config_from_the_file_rebuilds_the_network(tmp_path):
    config = apply_overrides(TINY, ["dynamics.d_model=16"])
    path = save_weights(tmp_path / "t.safetensors", "tokenizer", Net(config), config)
    loaded, _ = load_network(path, "tokenizer", Net)
    assert loaded.proj.weight.shape == (16, 16)


def test_shared_tensors_are_saved(tmp_path):
    net = Net(TINY)
    state = dict(net.state_dict(), alias=net.proj.weight)  # two names, one storage
    path = save_weights(tmp_path / "t.safetensors", "tokenizer", state, TINY)
    assert torch.equal(read_weights(path).tensors["alias"], net.proj.weight.detach())


def test_wrong_kind_is_refused(saved):
    _, path = saved
    with pytest.raises(GenieError) as e:
        read_weights(path, "dynamics")
    assert "holds tokenizer weights, but dynamics weights are needed" in _one_line(e, path)


def test_truncated_file_is_refused(saved):
    _, path = saved
    data = path.read_bytes()
    for cut in (len(data) - 10, 100, 5, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(GenieError) as e:
            read_weights(path, "tokenizer")
        assert "truncated" in _one_line(e, path) or "not a safetensors" in str(e.value)


def test_missing_and_extra_tensors_are_refused(saved, tmp_path):
    net, _ = saved
    state = net.state_dict()
    del state["norm.bias"]
    path = save_weights(tmp_path / "missing.safetensors", "tokenizer", state, TINY)
    with pytest.raises(GenieError) as e:
        load_network(path, "tokenizer", Net)
    assert "missing 1 tensor(s) the tokenizer needs: norm.bias" in _one_line(e, path)

    state = dict(net.state_dict(), stray=torch.zeros(2))
    path = save_weights(tmp_path / "extra.safetensors", "tokenizer", state, TINY)
    with pytest.raises(GenieError) as e:
        load_network(path, "tokenizer", Net)
    assert "does not use: stray" in _one_line(e, path)


def test_wrong_shape_and_dtype_are_refused(saved, tmp_path):
    net, _ = saved
    state = dict(net.state_dict(), **{"proj.bias": torch.zeros(7)})
    path = save_weights(tmp_path / "shape.safetensors", "tokenizer", state, TINY)
    with pytest.raises(GenieError) as e:
        load_network(path, "tokenizer", Net)
    assert "tensor 'proj.bias' has shape (7,), the tokenizer expects (32,)" in _one_line(e, path)

    state = dict(net.state_dict(), **{"proj.bias": torch.zeros(32, dtype=torch.float64)})
    path = save_weights(tmp_path / "dtype.safetensors", "tokenizer", state, TINY)
    with pytest.raises(GenieError, match="is torch.float64, the tokenizer expects torch.float32"):
        load_network(path, "tokenizer", Net)


def test_nan_weights_are_refused(saved, tmp_path):
    net, _ = saved
    state = net.state_dict()
    state["proj.weight"][0, 0] = float("nan")
    path = save_weights(tmp_path / "nan.safetensors", "tokenizer", state, TINY)
    with pytest.raises(GenieError) as e:
        read_weights(path)
    assert "tensor 'proj.weight' contains NaN or Inf" in _one_line(e, path)


def test_pickle_renamed_to_safetensors_is_refused_without_unpickling(tmp_path):
    pickled = tmp_path / "evil.safetensors"
    pickled.write_bytes(pickle.dumps({"weight": [1.0] * 100}))
    with pytest.raises(GenieError, match="pickle/PyTorch checkpoint.*never unpickles"):
        read_weights(pickled)
    zipped = tmp_path / "ckpt.safetensors"
    torch.save({"w": torch.zeros(3)}, zipped)
    with pytest.raises(GenieError, match="never unpickles"):
        read_weights(zipped)


def test_oversized_and_garbage_headers_are_refused(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}")
    with pytest.raises(GenieError, match="exceeds the .*-byte limit"):
        read_weights(path)
    path.write_bytes(struct.pack("<Q", 4) + b"\xff\xfe\x00\x01")
    with pytest.raises(GenieError, match="header is not JSON"):
        read_weights(path)


def test_plain_safetensors_without_our_metadata(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(GenieError, match="not genie_play weights"):
        read_weights(path)


def _rewrite_metadata(path, **changes):
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    header["__metadata__"].update(changes)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + length:])


def test_newer_format_and_broken_config_are_refused(saved):
    _, path = saved
    original = path.read_bytes()
    _rewrite_metadata(path, **{"genie_play.format_version": str(FORMAT_VERSION + 1)})
    with pytest.raises(GenieError, match="newer genie_play"):
        read_weights(path)
    path.write_bytes(original)
    _rewrite_metadata(path, **{"genie_play.config": '{"tokenizer": {"block": 5}}'})
    with pytest.raises(GenieError, match="tokenizer.block must be 4"):
        read_weights(path)
    _rewrite_metadata(path, **{"genie_play.config": '{"tokenizer": {"patch_size": 4}}'})  # a 0.1 field in format 2
    with pytest.raises(GenieError, match="unknown config field 'tokenizer.patch_size'"):
        read_weights(path)
    _rewrite_metadata(path, **{"genie_play.format_version": "two"})
    with pytest.raises(GenieError, match="no valid genie_play.format_version"):
        read_weights(path)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(GenieError, match="nope.safetensors: no such file"):
        read_weights(tmp_path / "nope.safetensors")
    with pytest.raises(GenieError, match="is a directory"):
        read_weights(tmp_path)


def test_load_state_into_a_mismatched_config_names_the_file(saved):
    _, path = saved
    weights = read_weights(path)
    with pytest.raises(GenieError, match="has shape"):
        load_state(Net(apply_overrides(TINY, ["dynamics.d_model=16"])), weights)


# --- files written by genie_play 0.1 (weights format 1) -------------------------------------------

# The tiny change world as genie_play 0.1 wrote its config: the change world's sizes and sampling in
# a "change" section, beside the token world's sections (whose values must not leak into the upgrade).
V1_TINY_CHANGE = {
    "world": "change", "image_size": 16, "context_frames": 4, "num_actions": 8,
    "tokenizer": {"architecture": "conv", "patch_size": 4, "channels": 16, "decoder_channels": 16, "quantizer": "fsq",
                  "fsq_levels": "4,4,2", "codebook_size": 32, "d_model": 32, "num_heads": 2, "latent_dim": 8},
    "lam": {"architecture": "conv", "quantizer": "categorical", "channels": 8, "max_shift": 8.0, "patch_size": 8,
            "d_model": 32, "num_heads": 2, "encoder_layers": 1, "decoder_layers": 1, "latent_dim": 8},
    "dynamics": {"d_model": 64, "num_heads": 2, "num_layers": 4, "maskgit_steps": 4, "temperature": 2.0,
                 "action_input": "token", "nearby": 0.0, "pointer": False},
    "change": {"block": 4, "reach_y": 2, "reach_x": 4, "move_y": 2, "move_x": 4, "bands": 2, "channels": 8,
               "d_model": 32, "num_heads": 2, "num_layers": 1, "maskgit_steps": 3, "temperature": 1.0, "min_p": 0.3,
               "carry_bias": 3.0},
    "train": {"tokenizer_steps": 50, "tokenizer_batch": 4, "tokenizer_lr": 0.002, "tokenizer_crop": 32, "lam_steps": 50,
              "lam_batch": 4, "dynamics_steps": 50, "dynamics_batch": 4, "change_steps": 30, "change_batch": 8,
              "change_clips": 8, "lr": 0.001, "weight_decay": 0.05, "warmup_steps": 5, "grad_clip": 1.0, "seed": 0,
              "bf16": True},
}


def save_v1(path, kind, module, config: dict):
    """Write `module` as genie_play 0.1 did: weights format 1, its config layout."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path), metadata={
        "genie_play.kind": kind, "genie_play.format_version": "1", "genie_play.config": json.dumps(config),
        "genie_play.summary": json.dumps({"steps": 30}), "genie_play.version": "0.1.0"})
    return path


def without_character(config) -> dict:
    """A config's fields as a dict, less the character's (its section and training settings)."""
    out = config.to_dict()
    del out["character"]
    out["train"] = {k: v for k, v in out["train"].items() if not k.startswith(("character", "detector", "mover", "ground"))}
    return out


def test_a_genie_play_0_1_change_world_is_upgraded_and_plays(tmp_path):
    import numpy as np

    from genie_play.world.dynamics import Dynamics
    from genie_play.world.lam import LatentActionModel
    from genie_play.world.tokenizer import Tokenizer
    from genie_play.world.world_model import WorldModel

    torch.manual_seed(0)
    nets = {"tokenizer": Tokenizer(TINY), "lam": LatentActionModel(TINY), "dynamics": Dynamics(TINY)}
    for kind, net in nets.items():
        save_v1(tmp_path / f"{kind}.safetensors", kind, net, V1_TINY_CHANGE)
    for kind, net in nets.items():
        weights = read_weights(tmp_path / f"{kind}.safetensors", kind)
        # The change section became tokenizer / dynamics / sampler, change_* the dynamics' training; the token
        # world's dynamics section and training fields are dropped: the upgraded config is today's tiny preset
        # (but for the character, which 0.1 did not have: its fields take the defaults).
        assert without_character(weights.config) == without_character(TINY), kind
        assert weights.format_version == 1 and weights.written_by == "0.1.0" and weights.summary == {"steps": 30}
    lam, _ = load_network(tmp_path / "lam.safetensors", "lam", LatentActionModel)
    assert all(torch.equal(a, b) for a, b in zip(lam.state_dict().values(), nets["lam"].state_dict().values()))
    world = WorldModel.load(tmp_path, device="cpu")
    assert world.sampler.maskgit_steps == 3 and world.sampler.min_p == 0.3  # the change section's, not dynamics'
    prompt = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.array_equal(world.reset(prompt), prompt)
    frame = world.step(2)
    assert frame.shape == (16, 16, 3) and frame.dtype == np.uint8


@pytest.mark.parametrize("kind, change", [
    ("dynamics", {"world": "tokens"}),
    ("tokenizer", {"world": None}),  # written before the world field existed: a token world
    ("lam", {"lam": {"architecture": "st_transformer", "patch_size": 8}}),
    ("lam", {"lam": {"patch_size": 16}}),  # before the conv LAM existed: the transformer LAM
    ("lam", {"lam": {"architecture": "conv", "quantizer": "vq", "channels": 8}}),
])
def test_a_genie_play_0_1_token_world_file_is_refused_in_one_line(tmp_path, kind, change):
    config = {k: v for k, v in {**V1_TINY_CHANGE, **change}.items() if v is not None}
    path = save_v1(tmp_path / f"{kind}.safetensors", kind, Net(TINY), config)
    with pytest.raises(GenieError) as e:
        read_weights(path, kind)
    message = _one_line(e, path)
    assert f"is a token-world {kind} (weights format 1)" in message
    assert "genie_play 0.1" in message and "pip install 'genie_play<0.2'" in message


def test_a_genie_play_0_1_file_with_a_broken_config_is_refused_in_one_line(tmp_path):
    for config in ([1, 2], {**V1_TINY_CHANGE, "change": 3}, {**V1_TINY_CHANGE, "train": "fast"},
                   {**V1_TINY_CHANGE, "lam": None}):
        path = save_v1(tmp_path / "lam.safetensors", "lam", Net(TINY), config)
        with pytest.raises(GenieError) as e:
            read_weights(path, "lam")
        _one_line(e, path)
