import dataclasses
import json

import pytest

from genie_play.config import GenieConfig, apply_overrides
from genie_play.presets import PRESETS, get_preset, resolve_config
from genie_play.errors import GenieError


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_json(name):
    config = get_preset(name)
    again = GenieConfig.from_json(config.to_json())
    assert again == config
    assert json.loads(again.to_json()) == dataclasses.asdict(config)


def test_required_presets_exist_and_tiny_is_small():
    assert {"tiny", "default"} <= set(PRESETS)
    tiny, default = PRESETS["tiny"], PRESETS["default"]
    assert tiny.tokenizer.d_model < default.tokenizer.d_model
    assert default.num_actions == 8 and default.image_size == 64 and default.context_frames == 16
    assert default.tokens_per_frame == (64 // default.tokenizer.patch_size) ** 2


def test_unknown_preset_lists_choices():
    with pytest.raises(GenieError, match="unknown preset 'huge'.*tiny"):
        get_preset("huge")


def test_from_json_rejects_unknown_fields_and_wrong_types():
    data = PRESETS["tiny"].to_dict()
    data["tokenizer"]["colour"] = 3
    with pytest.raises(GenieError, match="cfg.json: unknown config field 'tokenizer.colour'"):
        GenieConfig.from_dict(data, source="cfg.json")
    data = PRESETS["tiny"].to_dict()
    data["dynamics"]["num_layers"] = "8"
    with pytest.raises(GenieError, match="'dynamics.num_layers' must be int"):
        GenieConfig.from_dict(data)
    data["dynamics"]["num_layers"] = True  # a bool is not an int here
    with pytest.raises(GenieError, match="must be int"):
        GenieConfig.from_dict(data)
    with pytest.raises(GenieError, match="not valid JSON"):
        GenieConfig.from_json("{nope", source="x")
    with pytest.raises(GenieError, match="must be an object"):
        GenieConfig.from_json("[1, 2]", source="x")


def test_missing_fields_take_defaults_and_int_is_accepted_for_float():
    config = GenieConfig.from_dict({"dynamics": {"temperature": 1}})
    assert config.dynamics.temperature == 1.0 and isinstance(config.dynamics.temperature, float)
    assert config.tokenizer == PRESETS["default"].tokenizer


def test_invalid_combinations_are_refused():
    with pytest.raises(GenieError, match="patch_size 5 does not divide image_size 64"):
        apply_overrides(PRESETS["default"], ["tokenizer.patch_size=5"])
    with pytest.raises(GenieError, match="not a multiple of num_heads"):
        apply_overrides(PRESETS["default"], ["dynamics.num_heads=5"])
    with pytest.raises(GenieError, match="num_actions must be at least 2"):
        apply_overrides(PRESETS["default"], ["num_actions=1"])


def test_overrides_set_nested_fields_with_types():
    config = resolve_config("tiny", ["tokenizer.fsq_levels=4,4,4", "tokenizer.codebook_size=64", "dynamics.temperature=0.5", "context_frames=8"])
    assert config.tokenizer.codebook_size == 64
    assert config.dynamics.temperature == 0.5
    assert config.context_frames == 8
    assert PRESETS["tiny"].tokenizer.codebook_size == 32  # presets are never mutated


@pytest.mark.parametrize(
    "item, message",
    [
        ("tokenizer.d_model", "expected FIELD=VALUE"),
        ("tokenizer.width=3", "unknown config field"),
        ("tokenizer=3", "is a section"),
        ("image_size.x=3", "has no sub-fields"),
        ("image_size=big", "'big' is not a valid int"),
    ],
)
def test_bad_overrides_say_what_is_wrong(item, message):
    with pytest.raises(GenieError, match=message):
        apply_overrides(PRESETS["tiny"], [item])


def test_fields_that_must_change_together_can_be_set_together():
    config = apply_overrides(PRESETS["default"], ["dynamics.d_model=256", "dynamics.num_heads=4"])
    assert (config.dynamics.d_model, config.dynamics.num_heads) == (256, 4)


def test_the_gpu_preset_trains_the_token_worlds_sizes_with_bigger_batches():
    """The token world's files were trained with `gpu` and play on a CPU: only the training section differs."""
    from genie_play.presets import PRESETS

    gpu, default = PRESETS["gpu"], PRESETS["tokens"]
    assert {k: v for k, v in gpu.to_dict().items() if k != "train"} == {k: v for k, v in default.to_dict().items() if k != "train"}
    assert all(gpu.train.batch(n) > default.train.batch(n) for n in ("tokenizer", "lam", "dynamics"))
    assert gpu.train.tokenizer_crop == 0 and gpu.train.bf16
