"""The dynamics model's pointer: a token may copy an id from its window in the frame before."""

import torch

from genie_play.config import apply_overrides
from genie_play.presets import PRESETS
from genie_play.world.dynamics import Dynamics, pointer_log_likelihood, pointer_mix
from genie_play.world.st_transformer import KVCache


def test_pointer_mix_is_one_distribution_over_the_ids_with_each_place_adding_to_its_id():
    logits = torch.tensor([[0.0, 1.0, 2.0]])  # K = 3; id 3 is the mask id
    points = torch.tensor([[1.0, 1.0, 5.0]])
    window = torch.tensor([[0, 0, 3]])  # two places hold id 0, the third lies beyond the frame's edge
    p = pointer_mix(logits, points, window).exp()[0]
    assert torch.allclose(p.sum(), torch.tensor(1.0))
    z = logits.exp().sum() + 2 * torch.e  # the masked place's score takes no share
    assert torch.allclose(p, torch.tensor([1 + 2 * torch.e, torch.e, torch.e**2]) / z)
    no_place = pointer_mix(logits, torch.full((1, 3), float("-inf")), window)
    assert torch.allclose(no_place, torch.log_softmax(logits, -1))


def test_the_training_likelihood_is_the_mix_at_the_target_with_a_finite_gradient_everywhere():
    torch.manual_seed(0)
    K, W = 50, 15
    scores, points = torch.randn(64, K, requires_grad=True), torch.randn(64, W, requires_grad=True)
    window = torch.randint(0, K + 1, (64, W))  # K: beyond the frame's edge
    window[:8] = K  # tokens whose window lies wholly outside the frame
    target = torch.randint(0, K, (64,))
    expected = pointer_mix(scores, points, window).gather(-1, target[:, None])[:, 0]
    got = pointer_log_likelihood(scores, points, window, target)
    assert torch.allclose(got, expected, atol=1e-5)
    got.sum().backward()
    assert torch.isfinite(scores.grad).all() and torch.isfinite(points.grad).all()
    assert points.grad[:8].abs().max() == 0  # places beyond the edge learn nothing


def scrolls(clips, frames, side, K, generator):
    """Clips of random tiles (B, T, side*side) scrolling a column left (action 0) or right (1), and the actions."""
    grids = [torch.randint(0, K, (clips, side, side), generator=generator)]
    actions = torch.randint(0, 2, (clips, frames - 1), generator=generator)
    for t in range(frames - 1):
        shift = 1 - 2 * actions[:, t]  # action 0: -1, action 1: +1
        grids.append(torch.stack([torch.roll(g, int(s), dims=1) for g, s in zip(grids[-1], shift)]))
    return torch.stack(grids, 1).flatten(2), actions


def first_round_accuracy_after_training(pointer: bool, steps: int = 150) -> float:
    config = apply_overrides(PRESETS["tiny"], ["image_size=32", f"dynamics.pointer={pointer}",
                                               "dynamics.full_mask_rate=1.0", "dynamics.context_corruption=0"])
    torch.manual_seed(0)
    net = Dynamics(config)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        loss = net(*scrolls(8, 4, 8, 32, generator)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():  # every target frame fully masked, as in the first round of play
        return net.eval()(*scrolls(64, 4, 8, 32, torch.Generator().manual_seed(1))).accuracy.item()


def test_a_pointer_learns_a_scroll_that_naming_ids_does_not_in_the_same_steps():
    """8x8 random tiles scrolled by the action: all but the column that wraps round (1/8) can be copied."""
    with_pointer, without = first_round_accuracy_after_training(True), first_round_accuracy_after_training(False)
    assert with_pointer > 0.8, with_pointer
    assert with_pointer > without + 0.2, (with_pointer, without)


def test_a_pointer_model_plays_from_its_cache_as_it_trains():
    """next_logits from a primed cache equal the training pass's logits for a fully masked frame."""
    config = apply_overrides(PRESETS["tiny"], ["dynamics.pointer=true", "dynamics.group=2", "tokenizer.patch_size=2",
                                               "dynamics.full_mask_rate=1.0", "dynamics.context_corruption=0"])
    torch.manual_seed(0)
    net = Dynamics(config).eval()
    torch.nn.init.normal_(net.pointer.weight, std=0.5)
    ids = torch.randint(0, config.tokenizer.codebook_size, (1, 3, config.tokens_per_frame))
    actions = torch.tensor([[2, 5]])
    with torch.no_grad():
        trained = net(ids, actions).logits[:, -1]  # frame 3 from frames 1-2
        cache = KVCache()
        net.prime(cache, ids[:, :2], torch.tensor([[net.no_action, 2]]))
        played = net.next_logits(cache, torch.full_like(ids[:, 2], net.mask_id), actions[:, 1])
    assert torch.allclose(played, trained, atol=1e-4)
    assert torch.allclose(played.exp().sum(-1), torch.ones(1, config.tokens_per_frame), atol=1e-4)
