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
    assert set(PRESETS) == {"tiny", "default"}
    tiny, default = PRESETS["tiny"], PRESETS["default"]
    assert tiny.dynamics.d_model < default.dynamics.d_model
    assert tiny.image_size == 16 and tiny.num_actions == 8
    assert default.num_actions == 8 and default.image_size == 64 and default.context_frames == 16
    assert set(default.to_dict()) == {"image_size", "context_frames", "num_actions", "tokenizer", "lam", "dynamics", "character",
                                      "sampler", "train"}


def test_unknown_preset_lists_choices():
    with pytest.raises(GenieError, match="unknown preset 'huge'.*tiny"):
        get_preset("huge")
    with pytest.raises(GenieError, match="unknown preset 'tiny_change'"):  # the old name of "tiny"
        get_preset("tiny_change")


def test_from_json_rejects_unknown_fields_and_wrong_types():
    data = PRESETS["tiny"].to_dict()
    data["tokenizer"]["colour"] = 3
    with pytest.raises(GenieError, match="cfg.json: unknown config field 'tokenizer.colour'"):
        GenieConfig.from_dict(data, source="cfg.json")
    data = PRESETS["tiny"].to_dict()
    data["world"] = "change"  # genie_play 0.1's field: gone (io.py upgrades those files)
    with pytest.raises(GenieError, match="unknown config field 'world'"):
        GenieConfig.from_dict(data)
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
    config = GenieConfig.from_dict({"sampler": {"temperature": 1}})
    assert config.sampler.temperature == 1.0 and isinstance(config.sampler.temperature, float)
    assert config.tokenizer == PRESETS["default"].tokenizer


@pytest.mark.parametrize("override,message", [
    ("tokenizer.block=8", "tokenizer.block must be 4"),
    ("image_size=40", "image_size 40 must be a multiple of 16"),
    ("tokenizer.bands=3", "bands of whole block rows"),
    ("dynamics.num_heads=5", "not a multiple of dynamics.num_heads"),
    ("num_actions=1", "num_actions must be at least 2"),
    ("sampler.min_p=1.5", "sampler.min_p must be a share"),
    ("sampler.temperature=-1", "sampler.temperature must be >= 0"),
    ("sampler.maskgit_steps=0", "sampler.maskgit_steps must be at least 1"),
    ("train.dynamics_clips=0", "train.dynamics_clips must be at least 1"),
])
def test_invalid_combinations_are_refused(override, message):
    with pytest.raises(GenieError, match=message):
        apply_overrides(PRESETS["default"], [override])


def test_overrides_set_nested_fields_with_types():
    config = resolve_config("tiny", ["tokenizer.reach_x=6", "sampler.temperature=0.5", "context_frames=8",
                                     "train.bf16=no"])
    assert config.tokenizer.reach_x == 6
    assert config.sampler.temperature == 0.5
    assert config.context_frames == 8
    assert config.train.bf16 is False
    assert PRESETS["tiny"].tokenizer.reach_x == 4  # presets are never mutated


@pytest.mark.parametrize(
    "item, message",
    [
        ("dynamics.d_model", "expected FIELD=VALUE"),
        ("tokenizer.width=3", "unknown config field"),
        ("tokenizer=3", "is a section"),
        ("image_size.x=3", "has no sub-fields"),
        ("image_size=big", "'big' is not a valid int"),
        ("change.block=4", "unknown config field"),  # genie_play 0.1's section: gone
    ],
)
def test_bad_overrides_say_what_is_wrong(item, message):
    with pytest.raises(GenieError, match=message):
        apply_overrides(PRESETS["tiny"], [item])


def test_fields_that_must_change_together_can_be_set_together():
    config = apply_overrides(PRESETS["default"], ["dynamics.d_model=256", "dynamics.num_heads=8"])
    assert (config.dynamics.d_model, config.dynamics.num_heads) == (256, 8)
