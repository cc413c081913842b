"""Property-based: arbitrary bytes given to the three parsers of untrusted files never crash the
process; each either reads them or raises the documented one-line GenieError naming the file."""

import io
import json
import struct

import numpy as np
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from genie_play.keymap import load_keymap
from genie_play.errors import GenieError
from genie_play.images import load_image
from genie_play.io import read_weights
from robustness.registry import register

EXAMPLES = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


VALID_IMAGES = [_encoded(fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP")]


@st.composite
def mutated(draw, originals: list[bytes]) -> bytes:
    """A valid file with some bytes overwritten, cut short, or extended: past the magic number."""
    data = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=64))


def _reads_or_refuses(path, read) -> None:
    try:
        read(path)
    except GenieError as e:
        assert str(e).startswith(f"{path}: ") and "\n" not in str(e)


CASE_IMAGES = register("images", "arbitrary and mutated bytes as a picture (hypothesis, 300 examples)",
                       "each loads as RGB or is refused in one line; never a crash")


@EXAMPLES
@given(data=st.one_of(st.binary(max_size=512), mutated(VALID_IMAGES)))
def test_image_loader_never_crashes(tmp_path, data):
    path = tmp_path / "prompt.png"
    path.write_bytes(data)
    try:
        rgb = load_image(path)
    except GenieError as e:
        assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
    else:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


toml_values = st.recursive(
    st.booleans() | st.integers(-10, 20) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
keymap_like = st.fixed_dictionaries({"action": st.lists(st.dictionaries(
    st.sampled_from(["code", "label", "keys", "color"]), toml_values, max_size=4), max_size=9)})

CASE_KEYMAPS = register("keymaps", "arbitrary bytes and random keymap-shaped TOML (hypothesis, 300 examples)",
                        "each parses or is refused in one line naming the file; never a crash")


@EXAMPLES
@given(data=st.one_of(st.binary(max_size=512), st.text(max_size=300).map(str.encode),
                      keymap_like.map(lambda d: tomli_w.dumps(d).encode())))
def test_keymap_parser_never_crashes(tmp_path, data):
    path = tmp_path / "keys.toml"
    path.write_bytes(data)
    _reads_or_refuses(path, load_keymap)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=16,
)
tensor_entry = st.fixed_dictionaries({"dtype": st.sampled_from(["F32", "F16", "I64", "U8", "X9", 3]),
                                      "shape": st.lists(st.integers(-2, 6), max_size=3),
                                      "data_offsets": st.lists(st.integers(-8, 200), min_size=0, max_size=3)})
header_like = st.dictionaries(st.text(max_size=10), tensor_entry | json_values, max_size=4)


@st.composite
def safetensors_like(draw) -> bytes:
    """An 8-byte header length, a JSON header (maybe lying about its length) and a data section."""
    header = json.dumps(draw(header_like)).encode()
    length = draw(st.sampled_from([len(header), len(header) + draw(st.integers(-4, 4)), draw(st.integers(0, 2**64 - 1))]))
    return struct.pack("<Q", max(0, length)) + header + draw(st.binary(max_size=200))


CASE_WEIGHTS = register("weights", "arbitrary bytes and random safetensors-shaped headers (hypothesis, 300 examples)",
                        "each is refused in one line naming the file; never a crash, never unpickled")


@EXAMPLES
@given(data=st.one_of(st.binary(max_size=512), safetensors_like()))
def test_safetensors_header_parser_never_crashes(tmp_path, data):
    path = tmp_path / "dynamics.safetensors"
    path.write_bytes(data)
    _reads_or_refuses(path, read_weights)


CASE_CONFIGS = register("weights", "random configs in a file's metadata, as weights format 1 (genie_play 0.1) or 2 "
                        "(hypothesis, 300 examples)", "each is read, upgraded or refused in one line naming the file; "
                        "never a crash")
FIELDS = ["world", "change", "lam", "train", "tokenizer", "dynamics", "sampler", "image_size", "num_actions",
          "architecture", "quantizer", "block", "bands", "change_steps", "lam_steps", "channels", "maskgit_steps"]
config_like = st.recursive(json_values, lambda inner: st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5),
                           max_leaves=16)


@EXAMPLES
@given(config=config_like, version=st.sampled_from(["1", "2"]), kind=st.sampled_from(["tokenizer", "lam", "dynamics"]))
def test_a_files_config_never_crashes_the_reader(tmp_path, config, version, kind):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / f"{kind}.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={
        "genie_play.kind": kind, "genie_play.format_version": version, "genie_play.config": json.dumps(config),
        "genie_play.summary": "{}", "genie_play.version": "0.1.0"})
    _reads_or_refuses(path, read_weights)
