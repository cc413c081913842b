"""The world's memory and the new strip: places shown before come back; new places continue the picture."""

import numpy as np
import torch

from genie_play.presets import PRESETS
from genie_play.world import tokenizer as tk
from genie_play.world.memory import TILE, Memory
from genie_play.world.strip import MIN_GAP, fill_columns, fill_new


def picture(h=64, w=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3)).astype(np.uint8)


def test_memory_reads_what_was_written_across_tiles_and_undoes_a_write():
    memory, first = Memory(), picture()
    memory.write(-10, TILE - 20, first)  # spans four tiles, one at negative positions
    pixels, known = memory.read(-20, TILE - 30, 80, 80)
    assert known[10:74, 10:74].all() and known.sum() == 64 * 64
    assert np.array_equal(pixels[10:74, 10:74], first)
    region = memory.write(0, TILE, picture(seed=1))
    memory.restore(region)
    pixels, known = memory.read(-10, TILE - 20, 64, 64)
    assert known.all() and np.array_equal(pixels, first)
    assert not memory.read(1000, 1000, 8, 8)[1].any()  # nowhere near: unknown


def stripes(h=64, w=64, period=12):
    """Vertical stripes of `period` px: the same columns recur every period."""
    x = np.arange(w)
    rows = np.stack([(x % period) * 20, (x * 7 % period) * 15, np.full(w, 90)], axis=-1).astype(np.uint8)
    return np.repeat(rows[None], h, axis=0)


def test_a_right_strip_continues_a_periodic_picture_from_a_place_far_enough_away():
    big = stripes(w=64 + 4)
    view, hole = big[:, 4:].copy(), np.zeros((64, 64), bool)
    hole[:, 60:] = True  # the strip that scrolled in: unknown to the world
    truth = view.copy()
    view[:, 60:] = 0
    pool, known = view.copy(), ~hole  # the pool is the view itself (at pool column 0)
    assert fill_columns(view, hole, pool, known, 0, torch.Generator().manual_seed(0))
    assert np.array_equal(view, truth)  # the stripes go on, not the edge column repeated


def test_a_left_strip_and_a_strip_below_continue_the_picture_from_known_places():
    world, g = stripes(w=192), torch.Generator().manual_seed(0)
    memory = Memory()
    memory.write(0, 0, world)  # the world is known from x = 0 on
    view, hole = np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64), bool)
    view[:, 4:], hole[:, :4] = world[:, :60], True  # the view moved 4 px left, to x = -4: never shown
    painted = fill_new(view, hole, memory, (0, -4), g)
    assert painted[:, :4].all() and not painted[:, 4:].any()
    assert np.array_equal(view[:, :4], world[:, 8:12])  # x = -4..-1 of a 12 px period

    rows = world.transpose(1, 0, 2)  # (192, 64): horizontal stripes, known for y < 128
    memory = Memory()
    memory.write(0, 0, rows[:128])
    view, hole = rows[68:132].copy(), np.zeros((64, 64), bool)
    view[60:], hole[60:] = 0, True  # the view moved down to y = 68: its last 4 rows never shown
    painted = fill_new(view, hole, memory, (68, 0), g)
    assert painted[60:].all() and np.array_equal(view, rows[68:132])


def test_no_source_nearer_than_the_minimum_gap():
    view, hole = picture(), np.zeros((64, 64), bool)
    hole[:, 60:] = True
    pool, known = view.copy(), ~hole
    known[:, :60 - MIN_GAP - 3] = False  # only sources within MIN_GAP of the strip are known
    before = view.copy()
    assert not fill_columns(view, hole, pool, known, 0, torch.Generator())
    assert np.array_equal(view, before)


class ScriptedDynamics(torch.nn.Module):
    """A dynamics model whose moves the test sets: action 0 moves the view right 4 px, 1 left 4 px,
    2 not at all; every block is carried."""

    def __init__(self, config):
        from genie_play.world.dynamics import Dynamics

        super().__init__()
        self.inner, self.config, self.vocab = Dynamics(config), config, tk.vocabulary(config)
        self.no_move, self.mask_id, self.overlay_rows = self.inner.no_move, self.inner.mask_id, self.inner.overlay_rows
        table = self.vocab.move_table().tolist()
        self.classes = [table.index([0, -4]), table.index([0, 4]), table.index([0, 0])]

    def move_logits(self, frames, action, last_moves):
        logits = torch.zeros(len(action), self.vocab.bands, self.vocab.moves)
        for b, a in enumerate(action.tolist()):
            logits[b, :, self.classes[a]] = 10
        return logits

    def allowed_moves(self, action):
        return self.inner.allowed_moves(action)

    def token_context(self, *args):
        return None

    def token_logits(self, context, ids):
        logits = torch.zeros(*ids.shape, self.vocab.size)
        logits[..., self.vocab.carry] = 10
        return logits


def scripted_world():
    from genie_play.world.world_model import WorldModel

    config = PRESETS["default"]
    return WorldModel(tk.Tokenizer(config), ScriptedDynamics(config))


def test_going_right_and_back_shows_the_picture_again_bit_for_bit():
    world, prompt = scripted_world(), picture()
    world.reset(prompt)
    for _ in range(8):
        world.step(0)
    ahead = world.frame.copy()
    assert np.array_equal(ahead[:, :32], prompt[:, 32:])  # carried exactly
    for _ in range(8):
        world.step(1)
    assert np.array_equal(world.frame, prompt)  # the memory brought it back
    for _ in range(8):
        world.step(0)
    assert np.array_equal(world.frame, ahead)  # and the new places are as the world first made them
    for _ in range(24):
        world.undo()
    assert np.array_equal(world.frame, prompt) and world.memory.read(0, 32, 64, 32)[1].sum() == 64 * 32


def test_new_places_are_pieces_of_the_picture_not_the_edge_repeated():
    world, prompt = scripted_world(), stripes(period=16)
    world.reset(prompt)
    frames = [world.step(0) for _ in range(32)]  # 128 px right: two frames' width the world never saw
    columns = {tuple(map(tuple, c)) for c in prompt.transpose(1, 0, 2)}
    assert all(tuple(map(tuple, c)) in columns for c in frames[-1].transpose(1, 0, 2))
    assert len({tuple(map(tuple, c)) for c in frames[-1].transpose(1, 0, 2)}) > 8  # not a few columns repeated


def test_a_batch_of_worlds_remembers_each_world_apart():
    from genie_play.world.world_batch import WorldBatch

    world = scripted_world()
    batch = WorldBatch(world, 2)
    batch.reset([picture(seed=0), picture(seed=1)], [0, 1])
    for actions in [[0, 2]] * 4 + [[1, 2]] * 4:
        frames = batch.step(actions)
    assert np.array_equal(frames[0], picture(seed=0)) and np.array_equal(frames[1], picture(seed=1))


def test_memory_knows_which_places_changed_lately_and_undo_forgets_it():
    memory, first = Memory(), picture()
    memory.write(0, 0, first)
    second = first.copy()
    second[10:20, 30:40] = 0  # a sprite came by
    region = memory.write(0, 0, second)
    _, known, recent = memory.read_recent(0, 0, 64, 64, writes=8)
    still = known & ~recent
    assert not still[10:20, 30:40].any() and still.sum() == 64 * 64 - 100
    for _ in range(8):
        memory.write(0, 0, second)
    assert not memory.read_recent(0, 0, 64, 64, writes=8)[2].any()  # long enough ago
    memory = Memory()
    memory.write(0, 0, first)
    memory.restore(memory.write(0, 0, second))
    assert not memory.read_recent(0, 0, 64, 64, writes=8)[2].any() and memory.writes == 1 and region.writes == 1


def test_the_painter_does_not_copy_a_place_where_something_moved_lately():
    view, hole = stripes(period=16), np.zeros((64, 64), bool)
    hole[:, 60:] = True
    truth = view[:, 60:].copy()
    view[20:30, 12:16] = 255  # a sprite at one of the two sources whose seam fits (12..15 and 28..31)
    pool, known = view.copy(), ~hole
    recent = np.zeros_like(hole)
    recent[20:30, 12:16] = True
    chosen = set()
    for seed in range(8):
        for moving in (recent, None):
            out = view.copy()
            out[:, 60:] = 0
            assert fill_columns(out, hole, pool, known, 0, torch.Generator().manual_seed(seed), moving)
            chosen.add((moving is None, np.array_equal(out[:, 60:], truth)))
    assert (False, False) not in chosen  # told where it moved, the sprite is never cloned into the strip
    assert (True, False) in chosen  # not told, some draws clone it
