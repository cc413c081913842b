"""The ST-transformer's two promises: temporal causality, and a KV cache equal to the full forward."""

import pytest
import torch

from genie_play.world.st_transformer import KVCache, STTransformer

B, N, D = 2, 5, 16


@pytest.fixture
def net():
    torch.manual_seed(0)
    return STTransformer(d_model=D, num_heads=2, num_layers=3, window=4).eval()


def test_changing_a_later_frame_never_changes_earlier_outputs(net):
    x = torch.randn(B, 4, N, D)
    y = net(x)
    x2 = x.clone()
    x2[:, 2] += torch.randn(B, N, D)  # change frame t+1 = 2
    y2 = net(x2)
    assert torch.equal(y[:, :2], y2[:, :2])  # frames <= t untouched, bit for bit
    assert not torch.allclose(y[:, 2:], y2[:, 2:])


def test_spatial_attention_mixes_patches_within_a_frame(net):
    x = torch.randn(B, 3, N, D)
    x2 = x.clone()
    x2[:, 1, 0] += 1.0  # one patch of frame 1
    y, y2 = net(x), net(x2)
    assert not torch.allclose(y[:, 1, 1:], y2[:, 1, 1:])  # other patches of that frame see it
    assert torch.equal(y[:, 0], y2[:, 0])


@pytest.mark.parametrize("frames", [3, 4, 11])  # within the window, exactly it, well past it
def test_cached_steps_equal_the_full_forward_even_after_the_window_slides(net, frames):
    x = torch.randn(B, frames, N, D)
    full = net(x)  # banded causal attention over the whole history
    cache = KVCache(max_frames=net.window - 1)
    steps = [net(x[:, t:t + 1], cache, append=True) for t in range(frames)]
    assert len(cache) == min(frames, net.window - 1)
    assert (torch.cat(steps, 1) - full).abs().max() < 1e-4


def test_several_frames_can_be_appended_at_once(net):
    x = torch.randn(B, 4, N, D)
    cache = KVCache()
    first = net(x[:, :2], cache, append=True)
    rest = net(x[:, 2:], cache, append=True)
    assert (torch.cat([first, rest], 1) - net(x)).abs().max() < 1e-5


def test_target_frames_see_the_clean_past_and_themselves_only(net):
    clean = torch.randn(B, 4, N, D)
    candidates = torch.randn(B, 3, N, D)  # alternatives for frames 1, 2, 3
    cache = KVCache()
    net(clean, cache, append=True)
    together = net(candidates, cache, targets=True, positions=torch.arange(1, 4))
    assert len(cache) == 4  # targets are never appended
    for t in range(1, 4):  # each equals a one-frame step after the clean frames before it
        past = KVCache()
        net(clean[:, :t], past, append=True)
        alone = net(candidates[:, t - 1:t], past, targets=True)
        assert (together[:, t - 1] - alone[:, 0]).abs().max() < 1e-5


def test_a_cache_of_zero_frames_keeps_nothing(net):
    cache = KVCache(max_frames=0)
    net(torch.randn(B, 1, N, D), cache, append=True)
    assert len(cache) == 0


def test_cached_keys_rebased_to_position_zero_still_equal_the_full_forward(net):
    x = torch.randn(B, 12, N, D)
    cache = KVCache(max_frames=net.window - 1)
    cache.REBASE_AFTER = 2  # rebase several times within a short clip
    steps = [net(x[:, t:t + 1], cache, append=True) for t in range(12)]
    assert cache.start < 2 + net.window
    assert (torch.cat(steps, 1) - net(x)).abs().max() < 1e-4
