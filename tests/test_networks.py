"""Each network learns: it overfits one small batch (loss down by at least 90%)."""

import dataclasses

import pytest
import torch

from conftest import moving_squares
from genie_play.config import apply_overrides
from genie_play.presets import PRESETS
from genie_play.errors import GenieError
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import build_lam
from genie_play.world.tokenizer import build_tokenizer

TINY = PRESETS["tiny"]
ACTION_INPUTS = {a: dataclasses.replace(TINY, dynamics=dataclasses.replace(TINY.dynamics, action_input=a))
                 for a in ("add", "token")}


def overfit(net, batch_loss, steps, lr=3e-3):
    torch.manual_seed(0)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        loss, tracked = batch_loss(net)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(tracked.item())
    return losses[0], losses[-1]


def test_tokenizer_shapes_and_overfit():
    torch.manual_seed(0)
    net, x = build_tokenizer(TINY), moving_squares()
    out = net(x)
    assert out.recon.shape == x.shape and out.ids.shape == (2, 4, TINY.tokens_per_frame)
    assert net.decode(net.encode(x)).shape == x.shape
    first, last = overfit(net, lambda n: (lambda o: (o.loss, o.recon_loss))(n(x)), steps=300)
    assert last <= 0.1 * first, (first, last)


def test_lam_shapes_and_overfit():
    torch.manual_seed(0)
    net, x = build_lam(TINY), moving_squares()
    out = net(x)
    assert out.prediction.shape == (2, 3, 16, 16, 3) and out.actions.shape == (2, 3)
    codes = net.infer_actions(x)
    assert codes.shape == (2, 3) and codes.min() >= 0 and codes.max() < TINY.num_actions
    first, last = overfit(net, lambda n: (lambda o: (o.loss, o.recon_loss))(n(x)), steps=200)
    assert last <= 0.1 * first, (first, last)
    with pytest.raises(ValueError, match="at least two frames"):
        net.infer_actions(x[:, :1])


@pytest.mark.parametrize("action_input", ["add", "token"])
def test_dynamics_shapes_and_overfit(action_input):
    torch.manual_seed(0)
    net = Dynamics(ACTION_INPUTS[action_input])
    ids = torch.randint(0, TINY.tokenizer.codebook_size, (2, 4, TINY.tokens_per_frame))
    actions = torch.randint(0, TINY.num_actions, (2, 3))
    out = net(ids, actions)
    assert out.logits.shape == (2, 3, TINY.tokens_per_frame, TINY.tokenizer.codebook_size)
    first, last = overfit(net, lambda n: (lambda o: (o.loss, o.loss))(n(ids, actions)), steps=200)
    assert last <= 0.1 * first, (first, last)


@pytest.mark.parametrize("action_input", ["add", "token"])
def test_dynamics_reads_the_action(action_input):
    """Same context, different latent action: different next-frame logits; same action: identical."""
    from genie_play.world.st_transformer import KVCache

    torch.manual_seed(0)
    net = Dynamics(ACTION_INPUTS[action_input]).eval()
    ids = torch.randint(0, TINY.tokenizer.codebook_size, (1, 3, TINY.tokens_per_frame))
    cache = KVCache()
    net.prime(cache, ids, torch.tensor([[net.no_action, 2, 4]]))
    masked = torch.full((1, TINY.tokens_per_frame), net.mask_id)
    logits = [net.next_logits(cache, masked, torch.tensor([a])) for a in (1, 5, 1)]
    assert torch.equal(logits[0], logits[2])
    assert (logits[0] - logits[1]).abs().max() > 1e-3


def test_dynamics_reads_the_frame_before_around_each_token():
    """With the previous-frame window, what the newest context frame holds changes the next-frame logits."""
    from genie_play.world.st_transformer import KVCache

    torch.manual_seed(0)
    net = Dynamics(TINY).eval()
    torch.nn.init.normal_(net.previous.weight, std=0.5)
    ids = torch.randint(0, TINY.tokenizer.codebook_size, (2, 2, TINY.tokens_per_frame))
    ids[1, 0] = ids[0, 0]  # same first frame, different second frame
    masked = torch.full((1, TINY.tokens_per_frame), net.mask_id)
    logits = []
    for clip in ids:
        cache = KVCache()
        net.prime(cache, clip[None], torch.tensor([[net.no_action, 3]]))
        assert torch.equal(cache.last_ids, clip[None, -1])
        logits.append(net.next_logits(cache, masked, torch.tensor([1])))
    assert (logits[0] - logits[1]).abs().max() > 1e-3


@pytest.mark.parametrize("pointer", [False, True])
def test_fully_masked_frames_make_the_loss_count_every_token(pointer):
    """full_mask_rate=1: every target token is masked, as in the first MaskGIT round of play; with a
    pointer the loss is the cross entropy of its log-probabilities, which sum to one."""
    config = dataclasses.replace(TINY, dynamics=dataclasses.replace(TINY.dynamics, full_mask_rate=1.0, pointer=pointer))
    torch.manual_seed(0)
    net = Dynamics(config)
    ids = torch.randint(0, TINY.tokenizer.codebook_size, (2, 4, TINY.tokens_per_frame))
    out = net(ids, torch.randint(0, TINY.num_actions, (2, 3)))
    full = torch.nn.functional.cross_entropy(out.logits.flatten(0, 2), ids[:, 1:].flatten())
    assert torch.allclose(out.loss, full, atol=1e-5)
    if pointer:
        assert torch.allclose(out.logits.exp().sum(-1), torch.ones(2, 3, TINY.tokens_per_frame), atol=1e-4)


def test_changed_weight_counts_the_tokens_that_differ_from_the_frame_before():
    """changed_weight=w: a changed token's cross entropy counts w times a repeated one's."""
    w = 4.0
    config = dataclasses.replace(TINY, dynamics=dataclasses.replace(TINY.dynamics, full_mask_rate=1.0, changed_weight=w,
                                                                   context_corruption=0.0))
    torch.manual_seed(0)
    net = Dynamics(config)
    ids = torch.randint(0, TINY.tokenizer.codebook_size, (2, 4, TINY.tokens_per_frame))
    ids[:, 1:, ::2] = ids[:, :1, ::2]  # every other token repeats the first frame's
    out = net(ids, torch.randint(0, TINY.num_actions, (2, 3)))
    ce = torch.nn.functional.cross_entropy(out.logits.flatten(0, 2), ids[:, 1:].flatten(), reduction="none")
    weight = 1.0 + (w - 1.0) * (ids[:, 1:] != ids[:, :-1]).float().flatten()
    assert 0 < (weight > 1).float().mean() < 1  # both kinds are there
    assert torch.allclose(out.loss, (ce * weight).sum() / weight.sum(), atol=1e-5)
    assert not torch.allclose(out.loss, ce.mean(), atol=1e-3)


GROUPED = apply_overrides(TINY, ["tokenizer.patch_size=2", "dynamics.group=2"])  # 8x8 tokens, 4x4 positions


@pytest.mark.parametrize("pointer", [False, True])
def test_loss_share_makes_the_loss_from_the_kept_positions_tokens_alone(pointer):
    """loss_share < 1: the loss is the cross entropy of the tokens at the kept positions (2x2 each
    here), the same numbers as a full pass; the full logits are then not built."""
    config = apply_overrides(GROUPED, ["dynamics.full_mask_rate=1.0", "dynamics.context_corruption=0",
                                       "dynamics.loss_share=0.5", f"dynamics.pointer={pointer}"])
    torch.manual_seed(0)
    net = Dynamics(config)
    if pointer:
        torch.nn.init.normal_(net.pointer.weight, std=0.5)
    ids = torch.randint(0, config.tokenizer.codebook_size, (2, 4, config.tokens_per_frame))
    actions = torch.randint(0, config.num_actions, (2, 3))
    keep = torch.rand(2, 3, net.positions) < 0.5
    every = net._scored_positions
    net._scored_positions = lambda B, T, share, device: keep if share < 1 else every(B, T, share, device)
    out = net.train()(ids, actions)
    assert out.scores is None
    with torch.no_grad():
        logits = net.eval()(ids, actions).logits  # eval: every position
    ce = torch.nn.functional.cross_entropy(logits.flatten(0, 2), ids[:, 1:].flatten(), reduction="none")
    kept = net._group(ce.view(2, 3, -1))[keep]  # (kept positions, 4 tokens)
    assert torch.allclose(out.loss, kept.mean(), atol=1e-5)
    assert not torch.allclose(out.loss, ce.mean(), atol=1e-4)
    with pytest.raises(GenieError, match="loss_share must be a share in"):
        apply_overrides(GROUPED, ["dynamics.loss_share=0"])


def test_a_grouped_dynamics_model_reads_2x2_tokens_a_position_and_still_predicts_every_token():
    torch.manual_seed(0)
    net = Dynamics(GROUPED)
    N, K = GROUPED.tokens_per_frame, GROUPED.tokenizer.codebook_size
    assert (N, net.positions, net.frame_length) == (64, 16, 17)
    ids = torch.randint(0, K, (2, 4, N))
    actions = torch.randint(0, GROUPED.num_actions, (2, 3))
    assert net(ids, actions).logits.shape == (2, 3, N, K)
    first, last = overfit(net, lambda n: (lambda o: (o.loss, o.loss))(n(ids, actions)), steps=200)
    assert last <= 0.1 * first, (first, last)


def test_grouping_keeps_each_2x2_block_together_and_ungrouping_undoes_it():
    net = Dynamics(GROUPED)
    grid = torch.arange(64).view(1, 1, 64)  # raster order on an 8x8 grid: id = 8 * row + col
    blocks = net._group(grid)  # (1, 1, 16, 4)
    assert blocks[0, 0, 0].tolist() == [0, 1, 8, 9] and blocks[0, 0, 5].tolist() == [18, 19, 26, 27]
    assert torch.equal(net._ungroup(blocks), grid)


def test_a_grouped_tokens_window_is_the_3x5_blocks_around_its_own_block():
    net = Dynamics(GROUPED)
    grid = torch.arange(64).view(1, 1, 64) + 100  # labels past the mask id (32), which marks the outside
    window = net._window_ids(grid) - 100  # (1, 1, 64, 60)
    row, col = 3, 4  # a token in block (1, 2)
    held = {int(i) for i in window[0, 0, 8 * row + col] if i >= 0}
    expected = {8 * r + c for r in range(0, 6) for c in range(0, 8)}  # block rows 0..2, block cols 0..3 (4 is beyond)
    assert held == expected
    corner = {int(i) for i in window[0, 0, 0] if i >= 0}  # block (0, 0): rows 0..3, cols 0..5
    assert corner == {8 * r + c for r in range(4) for c in range(6)}


def test_the_group_must_divide_the_token_grid_and_the_width():
    with pytest.raises(GenieError, match="dynamics.group must divide the token grid's side \\(4\\)"):
        apply_overrides(TINY, ["dynamics.group=3"])
    with pytest.raises(GenieError, match="dynamics.group"):
        apply_overrides(TINY, ["tokenizer.patch_size=2", "dynamics.group=8"])  # 64 positions' width 32 / 64
