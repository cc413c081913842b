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
        d = config.tokenizer.d_model
        self.proj = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.register_buffer("codebook", torch.randn(config.tokenizer.codebook_size, d))


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
    config = apply_overrides(TINY, ["tokenizer.d_model=16"])
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
    _rewrite_metadata(path, **{"genie_play.config": '{"tokenizer": {"patch_size": 5}}'})
    with pytest.raises(GenieError, match="patch_size 5 does not divide"):
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
        load_state(Net(apply_overrides(TINY, ["tokenizer.d_model=16"])), weights)
