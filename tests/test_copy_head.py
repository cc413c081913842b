"""The dynamics model's copy head: a pointer to one of the 15 places of the previous-frame window,
whose id it copies exactly, mixed with the codebook by a learned gate."""

import dataclasses

import torch

from conftest import moving_squares
from genie_play.config import resolve_config
from genie_play.io import read_weights, save_weights
from genie_play.world.dynamics import Dynamics, WINDOW_COLS, WINDOW_ROWS
from genie_play.world.st_transformer import KVCache
from genie_play.world.world_model import WorldModel

# 8x8 tokens of 256 ids: enough ids that a clip's random tiles are rarely seen twice in training.
WIDE = resolve_config("tiny", ["image_size=32", "tokenizer.fsq_levels=8,8,4", "tokenizer.codebook_size=256",
                               "dynamics.context_corruption=0", "dynamics.full_mask_rate=1"])


def with_copy(config, on=True):
    return dataclasses.replace(config, dynamics=dataclasses.replace(config.dynamics, copy_head=on))


def scrolling_clips(batch, frames, side, vocab, generator):
    """Random tile grids that scroll one token left per frame, a new random column coming in on the right."""
    grid = torch.randint(0, vocab, (batch, side, side + frames), generator=generator)
    clips = torch.stack([grid[:, :, t : t + side] for t in range(frames)], dim=1)  # (B, T, side, side)
    return clips.reshape(batch, frames, side * side)


def place(row: int, col: int) -> int:
    return list(WINDOW_ROWS).index(row) * len(WINDOW_COLS) + list(WINDOW_COLS).index(col)


def test_the_copy_head_gives_a_distribution_over_the_codebook():
    torch.manual_seed(0)
    net = Dynamics(with_copy(WIDE)).eval()
    torch.nn.init.normal_(net.copy.weight, std=0.5)
    ids = torch.randint(0, 256, (2, 3, WIDE.tokens_per_frame))
    out = net(ids, torch.randint(0, WIDE.num_actions, (2, 2)))
    assert torch.allclose(out.logits.exp().sum(-1), torch.ones(()), atol=1e-4)  # edges included


def test_a_copy_head_pointing_right_copies_the_scroll_exactly():
    """Gate open, pointer at (0, +1): each token is its right neighbour's id in the frame before;
    the last column, with nothing to its right, falls back to the codebook."""
    torch.manual_seed(0)
    net = Dynamics(with_copy(WIDE)).eval()
    with torch.no_grad():
        net.copy.weight.zero_()
        net.copy.bias.zero_()
        net.copy.bias[place(0, 1)] = 20.0
        net.copy.bias[-1] = 20.0  # the gate
    ids = torch.randint(0, 256, (1, 2, WIDE.tokens_per_frame))
    cache = KVCache()
    net.prime(cache, ids, torch.tensor([[net.no_action, 3]]))
    masked = torch.full((1, WIDE.tokens_per_frame), net.mask_id)
    logits = net.next_logits(cache, masked, torch.tensor([1]))
    side = WIDE.tokens_per_side
    guess, before = logits.argmax(-1).view(side, side), ids[0, -1].view(side, side)
    assert torch.equal(guess[:, :-1], before[:, 1:])
    assert torch.allclose(logits.exp().sum(-1), torch.ones(()), atol=1e-4)


def first_round_accuracy(net, clips):
    """Every target token masked: how often the most likely id is the true one, where the scroll explains it."""
    logits = net(clips, torch.zeros(clips.shape[0], clips.shape[1] - 1, dtype=torch.long)).logits
    side = WIDE.tokens_per_side
    right = (logits.argmax(-1) == clips[:, 1:]).view(*clips.shape[:1], -1, side, side)[..., :-1]
    return right.float().mean().item()


def test_the_copy_head_learns_to_scroll_tiles_it_never_saw():
    """Trained on scrolling tiles of ids 0-127, tested on ids 128-255: the copy head carries ids it
    never predicted one place over; the codebook alone cannot name an id it never learned to."""
    scores = {}
    for on in (False, True):
        torch.manual_seed(0)
        net = Dynamics(with_copy(WIDE, on))
        opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.0)
        g = torch.Generator().manual_seed(1)
        for _ in range(40):
            loss = net(scrolling_clips(8, 3, WIDE.tokens_per_side, 128, g), torch.zeros(8, 2, dtype=torch.long)).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            unseen = 128 + scrolling_clips(8, 3, WIDE.tokens_per_side, 128, torch.Generator().manual_seed(99))
            scores[on] = first_round_accuracy(net, unseen)
    assert scores[True] > 0.9 and scores[False] < 0.1, scores


def test_a_world_with_a_copy_head_saves_loads_and_plays(tmp_path):
    from conftest import save_tiny_world

    config = with_copy(resolve_config("tiny", []))
    save_tiny_world(tmp_path, dynamics=config)
    assert read_weights(tmp_path / "dynamics.safetensors", "dynamics").config.dynamics.copy_head
    world = WorldModel.load(tmp_path, device="cpu")
    world.reset(moving_squares()[0, 0].numpy())
    assert world.step(1).shape == (config.image_size, config.image_size, 3)


def test_init_grows_a_copy_head_on_a_file_without_one(tmp_path):
    """`train dynamics --init FILE --set dynamics.copy_head=true` keeps the file's network and adds the head,
    which starts trusting the codebook: the first step's predictions are close to the file's."""
    from genie_play.train.trainer import new_part

    plain_config = resolve_config("tiny", [])
    torch.manual_seed(0)
    plain = Dynamics(plain_config).eval()
    grown = Dynamics(with_copy(plain_config)).eval()
    missing = [n for n in grown.state_dict() if n not in plain.state_dict()]
    assert missing and all(new_part(n) for n in missing)
    grown.load_state_dict(plain.state_dict(), strict=False)
    ids = torch.randint(0, plain_config.tokenizer.codebook_size, (2, 3, plain_config.tokens_per_frame))
    actions = torch.randint(0, plain_config.num_actions, (2, 2))
    torch.manual_seed(1)
    a = torch.softmax(plain(ids, actions).logits, -1)
    torch.manual_seed(1)
    b = grown(ids, actions).logits.exp()
    assert (a - b).abs().sum(-1).max() < 0.15  # total variation: the gate starts at ~5% copy
    path = save_weights(tmp_path / "dynamics.safetensors", "dynamics", grown, with_copy(plain_config))
    assert read_weights(path, "dynamics").config.dynamics.copy_head
