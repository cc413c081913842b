"""Configs: one frozen dataclass per network, and the training settings (named presets: presets.py).

A `GenieConfig` is the whole recipe. Every weights file carries it as JSON, so a file alone says
which network it holds and how to rebuild it. Field defaults *are* the `default` preset; other
presets override some fields; the CLI overrides single fields with `--set section.field=value`.
There are no other defaults anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from typing import ClassVar

from genie_play.errors import GenieError


@dataclass(frozen=True)
class TokenizerConfig:
    """Video tokenizer: frames -> a grid of token ids per frame -> frames.

    `architecture` "conv" (genie_play.world.tokenizer) is a convolutional autoencoder and uses
    `channels`, `decoder_channels` and `quantizer`; "st_transformer" (genie_play.world.tokenizer_st,
    the paper's ST-ViViT and the tokenizer of weights files written before the conv one) uses the
    transformer fields and a VQ."""

    architecture: str = "conv"  # measured at equal CPU time against the ST-ViViT (README, "The tokenizer")
    patch_size: int = 4  # pixels per token side (paper: 4): 256 tokens per 64x64 frame; 8 (64 tokens) lost 3 dB
    channels: int = 32  # conv: encoder width at full resolution; doubles per halving, up to 4x
    decoder_channels: int = 48  # conv: decoder width, likewise; wider, since painting is the harder half
    decoder_blocks: int = 1  # conv: residual blocks at each decoder resolution (more paint sharper, ~2 ms a block)
    quantizer: str = "fsq"  # conv: "fsq" (fixed grid, nothing to collapse) or "vq" (learned codebook)
    fsq_levels: str = "8,5,5,5"  # fsq: values per latent channel; codebook_size must be their product
    codebook_size: int = 1000  # paper: 1024
    latent_dim: int = 32  # vq: code vector size (paper: 32); fsq uses one channel per level
    decoder_context: bool = False  # conv: carry the frame shown before over where it fits (world/carry.py)
    context_reach: int = 10  # decoder_context: the largest camera move per frame it lines up, in pixels
    d_model: int = 128  # st_transformer only
    num_heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2

    # Files written before a field existed meant this value (not the current default) by leaving it out.
    LEGACY: ClassVar[dict] = {"architecture": "st_transformer", "quantizer": "vq"}
    # What the painter does after the tokens, not what the tokens are: a dynamics model plays with any
    # value of these, and `train --init` may grow a tokenizer's painter (more blocks, the carry-over).
    PAINTING: ClassVar[tuple] = ("decoder_blocks", "decoder_context", "context_reach")

    @property
    def levels(self) -> tuple[int, ...]:
        """fsq_levels as numbers, e.g. (8, 5, 5, 5)."""
        try:
            return tuple(int(v) for v in self.fsq_levels.split(","))
        except ValueError:
            raise GenieError(f"config: tokenizer.fsq_levels must be numbers separated by commas, got '{self.fsq_levels}'") from None


@dataclass(frozen=True)
class LAMConfig:
    """Latent action model: pixels of x_1..x_{t+1} -> one of `num_actions` codes per transition.

    `architecture` "conv" (genie_play.world.lam) reads each pair of frames with a small CNN and
    uses `channels`; "st_transformer" (genie_play.world.lam_st, the paper's layout and the LAM of
    weights files written before the conv LAM) uses the patch and transformer fields."""

    architecture: str = "conv"  # measured on the built-in world: NMI 0.47 vs 0.02 in equal CPU time (README)
    channels: int = 32  # conv: width of the first layer; doubles twice
    quantizer: str = "categorical"  # conv: "categorical" (collapse-proof) or "vq" (the paper's)
    max_shift: float = 8.0  # conv: the decoder's largest camera move in pixels (tanh-bounded: keep it above the
    # largest scroll of the data; the built-in world's run scrolls 8 px, so 12 would serve it better)
    patch_size: int = 16  # paper: 16
    d_model: int = 128
    num_heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2
    latent_dim: int = 32

    # Files written before a field existed meant this value (not the current default) by leaving it out.
    LEGACY: ClassVar[dict] = {"architecture": "st_transformer"}


@dataclass(frozen=True)
class DynamicsConfig:
    """MaskGIT dynamics: tokens of frames 1..t plus latent actions -> tokens of frame t+1."""

    d_model: int = 128  # measured: d192 took ~15 ms per MaskGIT round on a 2-core CPU, d128 ~8 ms
    num_heads: int = 4
    num_layers: int = 4
    maskgit_steps: int = 3  # paper: 25; chosen from the measured quality/speed curve (README, Performance)
    temperature: float = 1.0  # paper: 2.0 (1.0 in its CoinRun case study)
    nearby: float = 0.0  # sampling: share of each token's probability moved onto the ids around it in the
    # frame before (dynamics.nearby_prior), so a doubtful token stays one of its neighbours' tiles
    unmask_order: str = "confidence"  # MaskGIT: keep the most confident tokens each round, or "random"
    # ones (measured: random lost ΔtPSNR and sketch sharpness, README "The dynamics model")
    context_corruption: float = 0.1  # training: up to this fraction of context tokens randomized
    loss_share: float = 1.0  # training: share of positions whose masked tokens make the loss; the
    # K-way output layer costs more than the transformer, and a frame's tokens tell much the same story
    changed_weight: float = 1.0  # training: loss weight of the tokens that differ from the frame before
    # (the scroll, the character) against those that repeat it; 1 weighs every token alike
    group: int = 1  # token-grid cells per side that share one transformer position: 2 reads and predicts
    # 2x2 tokens at each place, so a 32x32 grid costs the transformer what a 16x16 one does
    pointer: bool = False  # each token may also copy the id at a place of its 3x5 window in the frame
    # before (a copy mechanism, dynamics.py): a scroll becomes a choice among 15 places, not 1,000 ids
    action_input: str = "token"  # one extra token per frame carries the action (Jasmine), or "add": its
    # embedding added to every token (paper). Measured: token reached a lower loss at equal steps (README)

    # Files written before a field existed meant this value (not the current default) by leaving it out.
    previous_frame: bool = True  # each token also sees the previous frame's tokens around it (dynamics.py)
    full_mask_rate: float = 0.5  # training: share of target frames fully masked, as MaskGIT's first round
    # sees them (the rest: mask ratio ~ U(0.5, 1)); with a few true tokens in view the model reads the
    # scroll from them and never learns it from the action

    LEGACY: ClassVar[dict] = {"action_input": "add", "unmask_order": "confidence", "previous_frame": False,
                              "full_mask_rate": 0.0}
    # How training masks, corrupts and weighs, not what the network is: `train --init` takes these from
    # the run, like the train section, and the rest from the file it starts from.
    TRAINING: ClassVar[tuple] = ("context_corruption", "full_mask_rate", "changed_weight", "loss_share")


@dataclass(frozen=True)
class ChangeConfig:
    """The change world (world/change_tokenizer.py, world/change_dynamics.py): the camera's move and
    block tokens that say where each block of the next frame comes from in the frame on screen."""

    block: int = 4  # pixels per block token side: 16x16 tokens at 64 px
    reach_y: int = 8  # a block copies from up to this many pixels above or below where the move puts it
    reach_x: int = 16  # ... and left or right (the strip that scrolls in is painted from its neighbours)
    move_y: int = 4  # the camera's largest move per frame, in pixels
    move_x: int = 8  # the built-in world's run scrolls 8 px
    bands: int = 1  # bands of rows with moves of their own; one: the picture scrolls whole, never tears
    channels: int = 32  # dynamics: CNN width at half resolution
    d_model: int = 128  # dynamics: transformer over the block grid
    num_heads: int = 4
    num_layers: int = 2
    maskgit_steps: int = 3  # sampling: MaskGIT rounds over the block tokens
    temperature: float = 1.0  # sampling: of the new strip's blocks (the rest and the camera take the most likely)
    min_p: float = 0.3  # sampling: a new-strip block takes only sources at least this share as likely as
    # its best (min-p): variety among good candidates, never the long tail of stray objects
    carry_bias: float = 3.0  # sampling: added to the carry id's logit, so a block leaves the moved frame
    # only when the model is sure (a misplaced block is a visible scar; a missed change is not)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings: steps and batch (in clips) per network, the rest shared by the three stages.

    The default sizes are what the shipped weights got on a 2-core CPU (models/MODEL_CARD.md).
    """

    tokenizer_steps: int = 6_000  # the conv tokenizer: ~40 minutes on a 2-core CPU (README, "The tokenizer")
    tokenizer_batch: int = 64  # clips; the conv tokenizer takes one random frame of each
    tokenizer_lr: float = 2e-3  # the conv tokenizer learns faster at twice train.lr (README, "The tokenizer")
    tokenizer_crop: int = 32  # conv tokenizer: train on random crops this wide (4x cheaper steps at 32);
    # 0, or the image size or more, trains on whole frames
    tokenizer_clip: int = 4  # decoder_context: frames per training clip, uncropped (3 carries, 2 from its own output)
    tokenizer_frozen: bool = False  # train only the painter (decoder, carry-over): the tokens keep their meaning
    tokenizer_recolor: float = 0.0  # share of training frames recoloured (channels shuffled, half of them
    # inverted), so looks the world never drew -- a dark board with light ink -- still code sharply
    lam_steps: int = 8_000  # the conv LAM: ~25 minutes on a 2-core CPU (README, "The latent action model")
    lam_batch: int = 32  # clips, one random transition each
    dynamics_steps: int = 1_300  # ~72 minutes on a 2-core CPU at 16x16 tokens (README, "The dynamics model")
    dynamics_batch: int = 4
    change_steps: int = 2_400  # the change world's dynamics: ~24 minutes on a 2-core CPU (docs/training.md)
    change_batch: int = 32  # transitions
    change_clips: int = 600  # training clips whose transitions are coded once, before training
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    grad_clip: float = 1.0
    seed: int = 0
    bf16: bool = True  # CUDA only: bf16 autocast (CPUs train in fp32, where bf16 matmuls are far slower)

    def learning_rate(self, network: str) -> float:
        """The peak learning rate of a network's training."""
        return self.tokenizer_lr if network == "tokenizer" else self.lr

    def steps(self, network: str) -> int:
        return getattr(self, f"{network}_steps")

    def batch(self, network: str) -> int:
        return getattr(self, f"{network}_batch")


@dataclass(frozen=True)
class GenieConfig:
    """Everything needed to build, train and play one world model."""

    world: str = "change"  # "change": frames carried forward and changed (the shipped world); "tokens":
    # every frame re-predicted as tokens (Genie's layout, and weights files written before the change world)
    image_size: int = 64  # frames are square, image_size x image_size RGB
    context_frames: int = 16  # frames the networks see at once (paper: 16)
    num_actions: int = 8  # latent action codes, shared by the LAM and the dynamics model
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    lam: LAMConfig = field(default_factory=LAMConfig)
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    change: ChangeConfig = field(default_factory=ChangeConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    LEGACY: ClassVar[dict] = {"world": "tokens"}

    def __post_init__(self):
        _validate(self)

    @property
    def tokens_per_side(self) -> int:
        return self.image_size // self.tokenizer.patch_size

    @property
    def tokens_per_frame(self) -> int:
        return self.tokens_per_side**2

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
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise GenieError(f"{source}: config is not valid JSON ({e.msg} at line {e.lineno})") from None
        return cls.from_dict(data, source)


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
        if name not in data:  # older files stay readable: missing fields take their defaults, or
            if name in getattr(cls, "LEGACY", {}):  # the value they meant before the field existed
                values[name] = cls.LEGACY[name]
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


LAM_ARCHITECTURES = ("conv", "st_transformer")
TOKENIZER_ARCHITECTURES = ("conv", "st_transformer")


def _validate(c: GenieConfig) -> None:
    if c.world not in ("change", "tokens"):
        raise GenieError(f"config: world must be change or tokens, got '{c.world}'")
    _validate_change(c)
    positive = {
        "image_size": c.image_size, "context_frames": c.context_frames,
        "tokenizer.patch_size": c.tokenizer.patch_size, "tokenizer.encoder_layers": c.tokenizer.encoder_layers,
        "tokenizer.decoder_layers": c.tokenizer.decoder_layers, "tokenizer.latent_dim": c.tokenizer.latent_dim,
        "lam.patch_size": c.lam.patch_size, "lam.encoder_layers": c.lam.encoder_layers,
        "lam.decoder_layers": c.lam.decoder_layers, "lam.latent_dim": c.lam.latent_dim,
        "dynamics.num_layers": c.dynamics.num_layers, "dynamics.maskgit_steps": c.dynamics.maskgit_steps,
        **{f"train.{n}_{what}": getattr(c.train, f"{n}_{what}")
           for n in ("tokenizer", "lam", "dynamics") for what in ("steps", "batch")},
    }
    for name, value in positive.items():
        if value < 1:
            raise GenieError(f"config: {name} must be at least 1, got {value}")
    for name, value in {"num_actions": c.num_actions, "tokenizer.codebook_size": c.tokenizer.codebook_size}.items():
        if value < 2:
            raise GenieError(f"config: {name} must be at least 2, got {value}")
    for section, patch in (("tokenizer", c.tokenizer.patch_size), ("lam", c.lam.patch_size)):
        if c.image_size % patch:
            raise GenieError(f"config: {section}.patch_size {patch} does not divide image_size {c.image_size}")
    for section in ("tokenizer", "lam", "dynamics"):
        net = getattr(c, section)
        if net.num_heads < 1 or net.d_model % net.num_heads:
            raise GenieError(f"config: {section}.d_model {net.d_model} is not a multiple of num_heads {net.num_heads}")
        if (net.d_model // net.num_heads) % 2:  # rotary time embeddings rotate channel pairs
            raise GenieError(f"config: {section}.d_model / num_heads must be even, got {net.d_model // net.num_heads}")
    _validate_tokenizer(c)
    if c.lam.architecture not in LAM_ARCHITECTURES:
        raise GenieError(f"config: lam.architecture must be one of {', '.join(LAM_ARCHITECTURES)}, got '{c.lam.architecture}'")
    if c.lam.quantizer not in ("categorical", "vq"):
        raise GenieError(f"config: lam.quantizer must be categorical or vq, got '{c.lam.quantizer}'")
    if c.lam.architecture == "conv" and (c.image_size % 16 or c.lam.channels < 1):
        raise GenieError(f"config: the conv LAM needs image_size divisible by 16 and channels >= 1, got {c.image_size}, {c.lam.channels}")
    g = c.dynamics.group
    if g < 1 or c.tokens_per_side % g or c.dynamics.d_model % (g * g):
        raise GenieError(f"config: dynamics.group must divide the token grid's side ({c.tokens_per_side}) and "
                         f"dynamics.group^2 divide d_model ({c.dynamics.d_model}), got {g}")
    if c.dynamics.temperature < 0:
        raise GenieError(f"config: dynamics.temperature must be >= 0, got {c.dynamics.temperature}")
    if c.dynamics.unmask_order not in ("confidence", "random"):
        raise GenieError(f"config: dynamics.unmask_order must be confidence or random, got '{c.dynamics.unmask_order}'")
    if c.dynamics.action_input not in ("add", "token"):
        raise GenieError(f"config: dynamics.action_input must be add or token, got '{c.dynamics.action_input}'")
    if not 0 < c.dynamics.loss_share <= 1:
        raise GenieError(f"config: dynamics.loss_share must be a share in (0, 1], got {c.dynamics.loss_share}")
    if c.dynamics.changed_weight <= 0:
        raise GenieError(f"config: dynamics.changed_weight must be > 0, got {c.dynamics.changed_weight}")
    if not 0 <= c.dynamics.full_mask_rate <= 1:
        raise GenieError(f"config: dynamics.full_mask_rate must be in [0, 1], got {c.dynamics.full_mask_rate}")
    if not 0 <= c.dynamics.context_corruption < 1:
        raise GenieError(f"config: dynamics.context_corruption must be in [0, 1), got {c.dynamics.context_corruption}")
    if c.train.tokenizer_frozen and c.tokenizer.architecture != "conv":
        raise GenieError("config: train.tokenizer_frozen trains the painter of the conv tokenizer only")
    if c.train.tokenizer_clip < 2:
        raise GenieError(f"config: train.tokenizer_clip must be at least 2 frames, got {c.train.tokenizer_clip}")
    if not 0 <= c.train.tokenizer_recolor <= 1:
        raise GenieError(f"config: train.tokenizer_recolor is a share of frames, from 0 to 1, got {c.train.tokenizer_recolor}")
    if c.train.tokenizer_lr <= 0 or c.train.tokenizer_crop < 0 or c.train.tokenizer_crop % c.tokenizer.patch_size:
        raise GenieError(f"config: train.tokenizer_lr must be > 0 and train.tokenizer_crop a multiple of "
                         f"tokenizer.patch_size {c.tokenizer.patch_size} (or 0), got {c.train.tokenizer_lr}, {c.train.tokenizer_crop}")
    if c.train.lr <= 0 or c.train.warmup_steps < 0 or c.train.grad_clip <= 0 or c.train.weight_decay < 0:
        raise GenieError("config: train.lr and train.grad_clip must be > 0, warmup_steps and weight_decay >= 0")


def _validate_change(c: GenieConfig) -> None:
    ch = c.change
    for name in ("block", "reach_y", "reach_x", "move_y", "move_x", "bands", "channels", "d_model", "num_layers",
                 "maskgit_steps"):
        if getattr(ch, name) < 1:
            raise GenieError(f"config: change.{name} must be at least 1, got {getattr(ch, name)}")
    if ch.block != 4:
        raise GenieError(f"config: change.block must be 4 (the dynamics' CNN brings pixels to a 4-px grid), got {ch.block}")
    if c.image_size % (4 * ch.block) or c.image_size % ch.bands or (c.image_size // ch.block) % ch.bands:
        raise GenieError(f"config: image_size {c.image_size} must be a multiple of 4 x change.block ({ch.block}) "
                         f"and split into change.bands ({ch.bands}) bands of whole block rows")
    if ch.d_model % ch.num_heads:
        raise GenieError(f"config: change.d_model {ch.d_model} is not a multiple of change.num_heads {ch.num_heads}")
    if not 0 <= ch.min_p <= 1:
        raise GenieError(f"config: change.min_p must be a share in [0, 1], got {ch.min_p}")
    if ch.temperature < 0:
        raise GenieError(f"config: change.temperature must be >= 0, got {ch.temperature}")
    if min(c.train.change_steps, c.train.change_batch, c.train.change_clips) < 1:
        raise GenieError("config: train.change_steps, change_batch and change_clips must be at least 1")


def _validate_tokenizer(c: GenieConfig) -> None:
    t = c.tokenizer
    if t.architecture not in TOKENIZER_ARCHITECTURES:
        raise GenieError(f"config: tokenizer.architecture must be one of {', '.join(TOKENIZER_ARCHITECTURES)}, got '{t.architecture}'")
    if t.quantizer not in ("fsq", "vq"):
        raise GenieError(f"config: tokenizer.quantizer must be fsq or vq, got '{t.quantizer}'")
    if t.architecture == "st_transformer" and t.quantizer != "vq":
        raise GenieError("config: the st_transformer tokenizer needs tokenizer.quantizer=vq")
    if t.architecture == "conv" and (t.patch_size & (t.patch_size - 1) or min(t.channels, t.decoder_channels, t.decoder_blocks) < 1):
        raise GenieError(f"config: the conv tokenizer needs a power-of-two patch_size and channels, decoder_channels and "
                         f"decoder_blocks >= 1, got {t.patch_size}, {t.channels}, {t.decoder_channels}, {t.decoder_blocks}")
    if t.decoder_context and (t.architecture != "conv" or not 0 < 2 * t.context_reach < c.image_size):
        raise GenieError(f"config: tokenizer.decoder_context needs the conv tokenizer and 0 < context_reach < "
                         f"image_size / 2, got {t.architecture}, {t.context_reach}")
    if t.quantizer == "fsq":
        levels = t.levels
        if not levels or min(levels) < 2:
            raise GenieError(f"config: tokenizer.fsq_levels must all be at least 2, got '{t.fsq_levels}'")
        if math.prod(levels) != t.codebook_size:
            raise GenieError(f"config: tokenizer.codebook_size must be the product of fsq_levels {t.fsq_levels} "
                             f"({math.prod(levels)}), got {t.codebook_size}")


def apply_overrides(config: GenieConfig, overrides: list[str]) -> GenieConfig:
    """Apply `section.field=value` strings (e.g. `tokenizer.patch_size=8`, `image_size=32`).

    All overrides are applied before the result is validated, so fields that must change
    together (d_model and num_heads) can be set in one go.
    """
    data = config.to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GenieError(f"--set '{item}': expected FIELD=VALUE, e.g. tokenizer.patch_size=8")
        _set_path(GenieConfig, data, key.split("."), text.strip(), key)
    return GenieConfig.from_dict(data, source="")
