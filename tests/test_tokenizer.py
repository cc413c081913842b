"""The conv tokenizer: round trips, frame independence, learning a batch sharply, old files."""

import pytest
import torch

from conftest import moving_squares
from genie_play.config import GenieConfig, apply_overrides
from genie_play.presets import PRESETS
from genie_play.errors import GenieError
from genie_play.eval import metrics as M
from genie_play.io import load_network, save_weights
from genie_play.world.st_transformer import KVCache
from genie_play.world.tokenizer import Tokenizer, build_tokenizer
from genie_play.world.tokenizer_st import STTokenizer

TINY = PRESETS["tiny"]


def test_round_trip_shapes_ids_and_range():
    torch.manual_seed(0)
    net, x = build_tokenizer(TINY).eval(), moving_squares()
    assert isinstance(net, Tokenizer)
    ids = net.encode(x)
    assert ids.shape == (2, 4, TINY.tokens_per_frame) and ids.dtype == torch.long
    assert 0 <= ids.min() and ids.max() < TINY.tokenizer.codebook_size
    frames = net.decode(ids)
    assert frames.shape == x.shape and 0 <= frames.min() and frames.max() <= 1
    out = net(x)
    assert torch.equal(out.ids, ids) and out.recon.shape == x.shape


def test_the_sharp_preset_codes_a_64_pixel_frame_as_32x32_tokens():
    config = PRESETS["sharp"]
    net = build_tokenizer(config).eval()
    frame = torch.randint(0, 256, (1, 1, 64, 64, 3), dtype=torch.uint8)
    ids = net.encode(frame)
    assert config.tokens_per_frame == 1024 and ids.shape == (1, 1, 1024) and ids.max() < 1000
    assert net.decode(ids).shape == frame.shape
    from genie_play.world.dynamics import Dynamics

    dynamics = Dynamics(config)  # 2x2 tokens a position: the transformer sees a 16x16 grid, as the default's does
    assert dynamics.positions == PRESETS["default"].tokens_per_frame == 256


def test_each_frame_is_coded_on_its_own_and_the_play_cache_is_untouched():
    torch.manual_seed(0)
    net, x = build_tokenizer(TINY).eval(), moving_squares()
    together = net.encode(x)
    alone = torch.cat([net.encode(x[:, t:t + 1]) for t in range(x.shape[1])], dim=1)
    assert torch.equal(together, alone)
    cache = KVCache(max_frames=3)
    last = net.decode(together[:, -1:], cache, append=True)
    assert torch.allclose(last, net.decode(together)[:, -1:], atol=1e-6) and not cache.layers


@pytest.mark.parametrize("patch", [4, 2])
def test_overfits_one_batch_to_a_sharp_reconstruction(patch):
    torch.manual_seed(0)
    net, x = build_tokenizer(apply_overrides(TINY, [f"tokenizer.patch_size={patch}"])), moving_squares()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(300):
        loss = net(x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    recon = (net.eval().decode(net.encode(x)) * 255).round().to(torch.uint8)
    assert M.psnr(x, recon).mean() > 30


@pytest.mark.parametrize("quantizer", ["fsq", "vq"])
def test_weights_round_trip_and_rebuild_the_same_tokenizer(tmp_path, quantizer):
    config = apply_overrides(TINY, [f"tokenizer.quantizer={quantizer}"] if quantizer == "vq" else [])
    torch.manual_seed(0)
    net = build_tokenizer(config).eval()
    path = save_weights(tmp_path / "tokenizer.safetensors", "tokenizer", net, config)
    loaded, _ = load_network(path, "tokenizer", build_tokenizer)
    x = moving_squares()
    assert torch.equal(loaded.encode(x), net.encode(x))


def test_files_from_before_the_conv_tokenizer_load_as_the_st_transformer():
    data = TINY.to_dict()
    for field in ("architecture", "quantizer", "channels", "decoder_channels", "fsq_levels"):
        del data["tokenizer"][field]
    data["tokenizer"]["codebook_size"] = 32
    config = GenieConfig.from_dict(data)
    assert config.tokenizer.architecture == "st_transformer" and config.tokenizer.quantizer == "vq"
    assert isinstance(build_tokenizer(config), STTokenizer)


@pytest.mark.parametrize("override, message", [
    (["tokenizer.codebook_size=64"], "must be the product of fsq_levels 4,4,2 \\(32\\), got 64"),
    (["tokenizer.fsq_levels=4,x"], "fsq_levels must be numbers separated by commas"),
    (["tokenizer.fsq_levels=4,1", "tokenizer.codebook_size=4"], "must all be at least 2"),
    (["tokenizer.quantizer=lfq"], "tokenizer.quantizer must be fsq or vq"),
    (["tokenizer.patch_size=6", "image_size=48"], "needs a power-of-two patch_size"),
    (["tokenizer.architecture=st_transformer"], "needs tokenizer.quantizer=vq"),
    (["train.tokenizer_crop=6"], "tokenizer_crop a multiple of tokenizer.patch_size 4"),
])
def test_bad_tokenizer_configs_are_refused_in_one_line(override, message):
    with pytest.raises(GenieError, match=message):
        apply_overrides(TINY, override)


def test_training_batches_are_one_random_frame_per_clip_cut_to_a_crop():
    from genie_play.train.objectives import random_frames

    torch.manual_seed(0)
    clips = torch.randint(0, 256, (5, 4, 16, 16, 3), dtype=torch.uint8)
    whole = random_frames(clips)
    assert whole.shape == (5, 1, 16, 16, 3)
    assert all(any(torch.equal(whole[b, 0], clips[b, t]) for t in range(4)) for b in range(5))
    crops = random_frames(clips, crop=8)
    assert crops.shape == (5, 1, 8, 8, 3)
    windows = clips.unfold(2, 8, 1).unfold(3, 8, 1)  # (B, T, 9, 9, 3, 8, 8): every 8x8 window
    for b in range(5):
        assert (windows[b] == crops[b, 0].permute(2, 0, 1)).flatten(-3).all(-1).any()
    assert random_frames(clips, crop=16).shape == (5, 1, 16, 16, 3)  # as wide as the frame: whole frames


def test_recolouring_shuffles_channels_inverts_some_and_leaves_the_rest():
    from genie_play.train.objectives import recolor

    torch.manual_seed(0)
    clips = torch.randint(0, 256, (64, 1, 4, 4, 3), dtype=torch.uint8)
    assert recolor(clips, 0.0) is clips
    out = recolor(clips, 1.0)
    kinds = set()
    for a, b in zip(clips.reshape(64, -1, 3).long(), out.reshape(64, -1, 3).long()):
        inverted = bool((a.sum(-1) + b.sum(-1) == 765).all())  # a channel permutation keeps each pixel's sum
        source = 255 - b if inverted else b
        order = [next(k for k in range(3) if torch.equal(source[:, j], a[:, k])) for j in range(3)]
        assert sorted(order) == [0, 1, 2]
        kinds.add((inverted, tuple(order)))
    assert len(kinds) >= 8  # both inverted and not, and several channel orders
    half = recolor(clips, 0.5)
    kept = sum(torch.equal(a, b) for a, b in zip(clips, half))
    assert 16 < kept < 48  # about half left alone (a few recoloured by the identity order too)
    with pytest.raises(GenieError, match="tokenizer_recolor is a share of frames"):
        apply_overrides(TINY, ["train.tokenizer_recolor=1.5"])
