"""The world's networks: the dynamics model learns (it overfits one small batch) and reads what it is
given; the tokenizer is a network file with nothing to learn."""

import pytest
import torch

from conftest import moving_squares
from genie_play.presets import PRESETS
from genie_play.train.dynamics_training import batch, losses
from genie_play.world import tokenizer as tk
from genie_play.world.dynamics import Dynamics
from genie_play.world.tokenizer import Tokenizer

TINY = PRESETS["tiny"]


def coded_squares():
    """moving_squares coded the way dynamics training codes video (random latent actions)."""
    frames = moving_squares(batch=4, frames=4)
    tokenizer = Tokenizer(TINY)
    prev, nxt = frames[:, :-1].flatten(0, 1), frames[:, 1:].flatten(0, 1)
    moves, ids = tokenizer.encode(prev, nxt)
    G = TINY.image_size // TINY.tokenizer.block
    return {"frames": frames, "codes": torch.randint(TINY.num_actions, (4, 3), generator=torch.Generator().manual_seed(0)),
            "moves": moves.view(4, 3, -1), "ids": ids.view(4, 3, G, G).short()}


def test_dynamics_overfits_one_batch():
    """Both heads' cross entropy falls by at least 90% on a batch seen again and again."""
    torch.manual_seed(0)
    net = Dynamics(TINY)
    b = batch(coded_squares(), TINY, torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.0)
    first = None
    for _ in range(150):
        loss, stats = losses(net, b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first or stats
    assert stats["move_loss"] <= 0.1 * first["move_loss"], (first, stats)
    assert stats["token_loss"] <= 0.1 * first["token_loss"], (first, stats)
    assert stats["move_acc"] == 1.0


def test_dynamics_reads_the_action_and_the_move_before():
    """Same frame, different latent action (or move before): different logits; the same inputs: identical."""
    torch.manual_seed(0)
    net = Dynamics(TINY).eval()
    vocab = tk.vocabulary(TINY)
    frame = moving_squares(batch=1)[:, 0]
    no_move = torch.full((1, vocab.bands), net.no_move)
    with torch.no_grad():
        moves = [net.move_logits(frame, torch.tensor([a]), no_move) for a in (1, 5, 1)]
        assert torch.equal(moves[0], moves[2]) and (moves[0] - moves[1]).abs().max() > 1e-3
        other = net.move_logits(frame, torch.tensor([1]), torch.zeros(1, vocab.bands, dtype=torch.long))
        assert (moves[0] - other).abs().max() > 1e-3
        classes = torch.full((1, vocab.bands), vocab.moves // 2)  # no move: the table's middle
        assert vocab.move_table()[classes].abs().sum() == 0
        hole = tk.hole(vocab.move_table()[classes], TINY.image_size)
        ids = torch.full((1, 4, 4), net.mask_id)
        tokens = [net.token_logits(net.token_context(frame, frame, hole, torch.tensor([a]), classes), ids)
                  for a in (1, 5, 1)]
    assert torch.equal(tokens[0], tokens[2]) and (tokens[0] - tokens[1]).abs().max() > 1e-3


def test_the_tokenizer_is_a_network_file_with_nothing_to_learn():
    tokenizer = Tokenizer(TINY)
    vocab = tk.vocabulary(TINY)
    assert not list(tokenizer.parameters())
    assert set(tokenizer.state_dict()) == {"offsets", "moves"}  # what its weights file holds: the vocabulary
    assert torch.equal(tokenizer.offsets, vocab.offsets()) and torch.equal(tokenizer.moves, vocab.move_table())
    assert tokenizer.offsets[vocab.carry].tolist() == [0, 0]
    # A textured level scrolled 2 px (content moves left) is found as that move and rebuilt exactly but
    # for the strip that scrolled in.
    tiles = torch.randint(0, 6, (2, 6, 6), generator=torch.Generator().manual_seed(0))
    level = torch.randint(0, 256, (6, 3), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)[tiles]
    level = level.repeat_interleave(4, 1).repeat_interleave(4, 2)  # (2, 24, 24, 3): 4x4 tiles
    prev, nxt = level[:, :16, :16].contiguous(), level[:, :16, 2:18].contiguous()
    moves, ids = tokenizer.encode(prev, nxt)
    assert moves.shape == (2, vocab.bands) and ids.shape == (2, 4, 4)
    assert (tokenizer.moves[moves] == torch.tensor([0, -2])).all()
    assert 0 <= ids.min() and ids.max() < vocab.size
    assert (ids[:, :, :3] == vocab.carry).all()  # what the move alone explains stays carried
    rebuilt = tokenizer.decode(prev, moves, ids)
    assert torch.equal(rebuilt[:, :, :12], nxt[:, :, :12])  # the last block column holds the new strip


@pytest.mark.parametrize("kind", ["dynamics", "lam"])
def test_the_networks_are_small_at_the_tiny_preset(kind):
    from genie_play.world.lam import LatentActionModel

    net = (Dynamics if kind == "dynamics" else LatentActionModel)(TINY)
    assert sum(p.numel() for p in net.parameters()) < 200_000
