"""Configs: one frozen dataclass per network, the sampler and the training settings (named
presets: presets.py).

A `GenieConfig` is the whole recipe. Every weights file carries it as JSON, so a file alone says
which network it holds and how to rebuild it. Field defaults *are* the `default` preset; other
presets override some fields; the CLI overrides single fields with `--set section.field=value`.
There are no other defaults anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field

from genie_play.errors import GenieError


@dataclass(frozen=True)
class TokenizerConfig:
    """The tokenizer (world/tokenizer.py): a transition is the camera's move plus one token per
    block naming where in the frame before the block's pixels come from."""

    block: int = 4  # pixels per block token side: 16x16 tokens at 64 px
    reach_y: int = 8  # a block copies from up to this many pixels above or below where the move puts it
    reach_x: int = 16  # ... and left or right (the strip that scrolls in is painted from its neighbours)
    move_y: int = 4  # the camera's largest move per frame, in pixels
    move_x: int = 8  # the built-in world's run scrolls 8 px
    bands: int = 1  # bands of rows with moves of their own; one: the picture scrolls whole, never tears


@dataclass(frozen=True)
class LAMConfig:
    """Latent action model (world/lam.py): a pair of frames -> one of `num_actions` codes."""

    channels: int = 32  # width of the first layer; doubles twice
    latent_dim: int = 32  # the code vectors the decoder reads
    max_shift: float = 8.0  # the decoder's largest camera move in pixels (tanh-bounded: keep it above the
    # largest scroll of the data)


@dataclass(frozen=True)
class DynamicsConfig:
    """Dynamics model (world/dynamics.py): the frame on screen and a latent action -> the camera's
    move and the block tokens."""

    channels: int = 32  # CNN width at half resolution
    d_model: int = 128  # transformer over the block grid
    num_heads: int = 4
    num_layers: int = 2


@dataclass(frozen=True)
class CharacterConfig:
    """The character (world/character.py): the piece of the picture the camera follows, found by
    the detector at reset, cut out of the background and moved as one piece by the mover."""

    detector_width: int = 16  # channels of the detector's dilated CNN
    found: float = 0.5  # detector probability for a pixel to be part of a piece
    min_pixels: int = 6  # smaller pieces are noise (a dot of texture, a raindrop)
    grow: int = 3  # px a found piece may grow into pixels unlike every colour just around it
    unlike: int = 40  # ... by more than this (0..255) in some channel
    crop: int = 32  # the mover reads a crop this size around the piece
    reach: int = 8  # the mover moves it at most this many px a step on screen
    history: int = 4  # last moves the mover reads: a jump's arc is its velocity changing a pixel a step
    floor: float = 0.5  # ground network probability for a pixel to be ground the character stands on
    support: float = 0.5  # share of the feet's columns on ground that stops a fall (half a sprite on a ledge)


@dataclass(frozen=True)
class SamplerConfig:
    """How play samples the block tokens (world/sampler.py); the networks know none of this."""

    maskgit_steps: int = 3  # MaskGIT rounds over the block tokens
    temperature: float = 1.0  # of the new strip's blocks (the rest and the camera take the most likely)
    min_p: float = 0.3  # a new-strip block takes only sources at least this share as likely as its best
    # (min-p): variety among good candidates, never the long tail of stray objects
    carry_bias: float = 3.0  # added to the carry id's logit, so a block leaves the moved frame only when
    # the model is sure (a misplaced block is a visible scar; a missed change is not)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of the two trained networks (the tokenizer is a search).

    The defaults are the recipe of the shipped weights on a 2-core CPU (docs/training.md)."""

    lam_steps: int = 8_000
    footage_lam_minutes: float = 22.0  # `train all --videos` without --steps or --minutes: the LAM's wall-clock
    # budget, so that footage to a world fits in about an hour of a 2-core CPU
    lam_batch: int = 32  # clips, one random transition each
    dynamics_steps: int = 2_400
    dynamics_batch: int = 32  # transitions
    dynamics_clips: int = 600  # training clips whose transitions are coded once, before training
    character_clips: int = 1_600  # training clips the character's three networks learn from
    detector_steps: int = 2_000  # of 16 frames
    mover_steps: int = 2_000  # of 256 tracked steps
    ground_steps: int = 1_500  # of 16 frames
    mover_event_weight: float = 10.0  # take-offs, tops and landings: 5% of the steps, what a jump is made of
    mover_ground: int = 3  # px a sprite on the ground is also shown above or in it, the move back as target
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    grad_clip: float = 1.0
    seed: int = 0
    bf16: bool = True  # CUDA only: bf16 autocast (CPUs train in fp32, where bf16 matmuls are far slower)


@dataclass(frozen=True)
class GenieConfig:
    """Everything needed to build, train and play one world model."""

    image_size: int = 64  # frames are square, image_size x image_size RGB
    context_frames: int = 16  # frames per training clip
    num_actions: int = 8  # latent action codes, shared by the LAM and the dynamics model
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    lam: LAMConfig = field(default_factory=LAMConfig)
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    character: CharacterConfig = field(default_factory=CharacterConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self):
        _validate(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data, source: str = "config") -> GenieConfig:
        """Build a config from parsed JSON; unknown fields and wrong types are errors."""
        return _from_dict(cls, data, source, prefix="")

    @classmethod
    def from_json(cls, text: str, source: str = "config") -> GenieConfig:
        return cls.from_dict(parse_json(text, source), source)


def parse_json(text: str, source: str) -> dict:
    """A config's JSON text as a dict, or a one-line error naming `source`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise GenieError(f"{source}: config is not valid JSON ({e.msg} at line {e.lineno})") from None


# --- parsing and validation -------------------------------------------------------------------


def _field_types(cls) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _from_dict(cls, data, source: str, prefix: str):
    where = prefix.rstrip(".") or "top level"
    if not isinstance(data, dict):
        raise GenieError(f"{source}: config {where} must be an object, got {type(data).__name__}")
    types = _field_types(cls)
    unknown = sorted(set(data) - set(types))
    if unknown:
        raise GenieError(f"{source}: unknown config field '{prefix}{unknown[0]}'")
    values = {}
    for name, kind in types.items():
        if name not in data:  # missing fields take their defaults
            continue
        if dataclasses.is_dataclass(kind):
            values[name] = _from_dict(kind, data[name], source, f"{prefix}{name}.")
        else:
            values[name] = _check_scalar(data[name], kind, f"{prefix}{name}", source)
    try:
        return cls(**values)
    except GenieError as e:
        raise GenieError(f"{source}: {e}" if source else str(e)) from None


def _check_scalar(value, kind: type, name: str, source: str):
    # bool is a subclass of int in Python, so test it explicitly in both directions.
    ok = (
        (kind is bool and isinstance(value, bool))
        or (kind is int and isinstance(value, int) and not isinstance(value, bool))
        or (kind is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (kind is str and isinstance(value, str))
    )
    if not ok:
        raise GenieError(f"{source}: config field '{name}' must be {kind.__name__}, got {value!r}")
    return float(value) if kind is float else value


def _parse_text(text: str, kind: type, key: str):
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return lowered in ("true", "1", "yes")
        return kind(text)
    except ValueError:
        raise GenieError(f"--set {key}={text}: '{text}' is not a valid {kind.__name__}") from None


def _set_path(cls, data: dict, parts: list[str], text: str, key: str) -> None:
    types = _field_types(cls)
    name = parts[0]
    if name not in types:
        raise GenieError(f"--set {key}: unknown config field (fields here: {', '.join(types)})")
    kind = types[name]
    if dataclasses.is_dataclass(kind):
        if len(parts) == 1:
            raise GenieError(f"--set {key}: '{name}' is a section; name a field, e.g. {name}.{next(iter(_field_types(kind)))}")
        _set_path(kind, data[name], parts[1:], text, key)
    elif len(parts) > 1:
        raise GenieError(f"--set {key}: '{name}' has no sub-fields")
    else:
        data[name] = _parse_text(text, kind, key)


def _validate(c: GenieConfig) -> None:
    t, d, s = c.tokenizer, c.dynamics, c.sampler
    at_least_one = {
        "image_size": c.image_size, "context_frames": c.context_frames, "lam.channels": c.lam.channels,
        "lam.latent_dim": c.lam.latent_dim, **{f"tokenizer.{f.name}": getattr(t, f.name) for f in dataclasses.fields(t)},
        **{f"dynamics.{f.name}": getattr(d, f.name) for f in dataclasses.fields(d)},
        **{f"character.{f.name}": getattr(c.character, f.name) for f in dataclasses.fields(c.character)
           if f.name not in ("found", "grow", "unlike", "floor", "support")},
        "sampler.maskgit_steps": s.maskgit_steps,
        **{f"train.{f.name}": getattr(c.train, f.name) for f in dataclasses.fields(c.train)
           if f.name.endswith(("_steps", "_batch", "_clips")) and f.name != "warmup_steps"},
    }
    for name, value in at_least_one.items():
        if value < 1:
            raise GenieError(f"config: {name} must be at least 1, got {value}")
    if c.num_actions < 2:
        raise GenieError(f"config: num_actions must be at least 2, got {c.num_actions}")
    if t.block != 4:
        raise GenieError(f"config: tokenizer.block must be 4 (the dynamics' CNN brings pixels to a 4-px grid), got {t.block}")
    if c.image_size % 16 or c.image_size % t.bands or (c.image_size // t.block) % t.bands:
        raise GenieError(f"config: image_size {c.image_size} must be a multiple of 16 and split into "
                         f"tokenizer.bands ({t.bands}) bands of whole block rows")
    if d.d_model % d.num_heads:
        raise GenieError(f"config: dynamics.d_model {d.d_model} is not a multiple of dynamics.num_heads {d.num_heads}")
    for name in ("found", "floor"):
        if not 0 < getattr(c.character, name) < 1:
            raise GenieError(f"config: character.{name} must be a probability in (0, 1), got {getattr(c.character, name)}")
    if not 0 < c.character.support <= 1:
        raise GenieError(f"config: character.support must be a share in (0, 1], got {c.character.support}")
    if not 0 <= s.min_p <= 1:
        raise GenieError(f"config: sampler.min_p must be a share in [0, 1], got {s.min_p}")
    if s.temperature < 0:
        raise GenieError(f"config: sampler.temperature must be >= 0, got {s.temperature}")
    if c.train.lr <= 0 or c.train.warmup_steps < 0 or c.train.grad_clip <= 0 or c.train.weight_decay < 0:
        raise GenieError("config: train.lr and train.grad_clip must be > 0, warmup_steps and weight_decay >= 0")


def apply_overrides(config: GenieConfig, overrides: list[str]) -> GenieConfig:
    """Apply `section.field=value` strings (e.g. `sampler.temperature=0.5`, `image_size=32`).

    All overrides are applied before the result is validated, so fields that must change
    together (d_model and num_heads) can be set in one go.
    """
    data = config.to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GenieError(f"--set '{item}': expected FIELD=VALUE, e.g. sampler.temperature=0.5")
        _set_path(GenieConfig, data, key.split("."), text.strip(), key)
    return GenieConfig.from_dict(data, source="")
