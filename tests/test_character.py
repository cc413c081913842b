"""The character: found at reset, cut out of the background, moved as one piece, and its label-free training."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from genie_play.errors import GenieError
from genie_play.io import save_weights
from genie_play.presets import PRESETS
from genie_play.train import character_training as ct
from genie_play.world import tokenizer as tk
from genie_play.world.character import (CharacterNetworks, compose, crop, cut_out, feet, find_sprite, land,
                                        move_sprites, screen_mask)
from genie_play.world.dynamics import Dynamics
from genie_play.world.lam import LatentActionModel
from genie_play.world.world_batch import WorldBatch
from genie_play.world.world_model import WorldModel

DEFAULT, TINY = PRESETS["default"], PRESETS["tiny"]
RED = np.array([230, 30, 30], np.uint8)


def striped(size=64, period=4):
    """Vertical stripes of two colours, `period` px each, over a darker ground below row 48."""
    x = np.arange(size)
    frame = np.where(((x // period) % 2)[None, :, None] == 0, [40, 90, 160], [70, 120, 200]).astype(np.uint8)
    frame = np.repeat(frame, size, 0)
    frame[48:] = [90, 60, 30]
    return frame


def with_square(frame, y, x, side=6):
    out = frame.copy()
    out[y:y + side, x:x + side] = RED
    return out


class Finds(nn.Module):
    """A detector that finds the red pixels."""

    def forward(self, frames):
        red = (frames[..., 0] > 200) & (frames[..., 1] < 60)
        return torch.where(red, 10.0, -10.0)


class Moves(nn.Module):
    """A mover that always answers the move (dy, dx)."""

    def __init__(self, dy, dx, reach):
        super().__init__()
        self.dy, self.dx, self.classes = dy + reach, dx + reach, 2 * reach + 1

    def forward(self, crops, actions, last):
        out = torch.full((len(crops), 2, self.classes), -10.0)
        out[:, 0, self.dy] = out[:, 1, self.dx] = 10.0
        return out


def fake_character(config=DEFAULT, dy=-1, dx=2):
    nets = CharacterNetworks(config)
    nets.detector, nets.mover = Finds(), Moves(dy, dx, config.character.reach)
    return nets


def test_the_networks_have_the_shapes_play_needs():
    nets = CharacterNetworks(DEFAULT)
    assert nets.detector(torch.zeros(2, 64, 64, 3, dtype=torch.uint8)).shape == (2, 64, 64)
    c = DEFAULT.character
    out = nets.mover(torch.zeros(3, 4, c.crop, c.crop), torch.tensor([0, 1, 7]), torch.zeros(3, 2 * c.history, dtype=torch.long))
    assert out.shape == (3, 2, 2 * c.reach + 1)


def test_the_character_is_the_found_piece_grown_to_its_edge_and_cut_out_of_stripes_without_a_trace():
    background = striped()
    frame = with_square(background, 30, 21)
    frame[30, 21] = [200, 200, 40]  # a pixel of the sprite the detector misses: growth takes it
    sprite = find_sprite(fake_character(), frame, np.ones((16, 16)), 4)
    assert (sprite.y, sprite.x) == (30, 21) and sprite.mask.shape == (6, 6) and sprite.mask.all()
    assert sprite.last == (8,) * 8  # at rest: no move in its history
    cut = cut_out(frame, sprite)
    assert np.array_equal(cut, background)  # the stripes continue behind it, bit for bit
    assert np.array_equal(compose(cut, sprite), frame)


def test_no_piece_no_character():
    assert find_sprite(fake_character(), striped(), np.ones((16, 16)), 4) is None


def test_the_codes_choose_among_pieces():
    frame = with_square(with_square(striped(), 10, 8), 40, 40)
    split = np.zeros((16, 16))
    split[10, 10] = 1.0  # the codes disagree on the second square's blocks only
    sprite = find_sprite(fake_character(), frame, split, 4)
    assert (sprite.y, sprite.x) == (40, 40)


def test_the_mover_moves_the_whole_piece_and_remembers_the_move():
    frame = with_square(striped(), 30, 21)
    sprite = find_sprite(fake_character(), frame, np.ones((16, 16)), 4)
    moved = move_sprites(fake_character(dy=-3, dx=2), frame[None], [sprite, None], [0], frame[None])[0]
    assert (moved.y, moved.x) == (27, 23) and moved.last[:2] == (5, 10) and moved.last[2:] == sprite.last[:-2]
    assert np.array_equal(moved.pixels, sprite.pixels)  # one piece: never repainted
    edge = dataclasses.replace(sprite, x=62)
    assert move_sprites(fake_character(dy=0, dx=8), frame[None], [edge], [0], frame[None])[0].x == 61  # half stays on screen


class GroundBelow(nn.Module):
    """A ground network that calls the striped frame's dark ground (from row 48) ground from its
    second row (as the trained one reads it: FOOTING rows under the feet)."""

    def forward(self, frames):
        out = torch.full(frames.shape[:3], -10.0)
        out[:, 49] = 10.0
        return out


def test_a_fall_lands_on_the_ground_and_a_stand_never_sinks_into_it():
    frame = with_square(striped(), 38, 21)  # feet on row 43: 4 px above the ground
    sprite = find_sprite(fake_character(), frame, np.ones((16, 16)), 4)
    nets = fake_character(dy=6, dx=0)
    nets.ground = GroundBelow()
    landed = move_sprites(nets, frame[None], [sprite], [0], frame[None])[0]
    assert landed.y == 42 and landed.last[0] == 4 + 8  # stopped 4 px down, and it remembers the 4 px it fell
    assert move_sprites(nets, with_square(striped(), 42, 21)[None], [landed], [0], frame[None])[0].y == 42
    nets.mover = fake_character(dy=-3, dx=0).mover
    assert move_sprites(nets, frame[None], [landed], [0], frame[None])[0].y == 39  # a jump leaves the ground
    no_ground = fake_character(dy=6, dx=0)  # an untrained ground network holds nothing: the fall goes on
    assert move_sprites(no_ground, frame[None], [sprite], [0], frame[None])[0].y == 44


def test_a_foot_on_a_ledge_holds_the_sprite_a_lone_pixel_of_ground_under_a_wide_one_does_not():
    mask = np.zeros((4, 8), bool)
    mask[:, 1:7] = True
    mask[3, 3] = False  # a notch between the legs: that column's foot is higher
    bottom, cols = feet(mask)
    assert cols.tolist() == [1, 2, 3, 4, 5, 6] and bottom.tolist() == [3, 3, 2, 3, 3, 3]
    sprite = ct.Sprite(np.zeros((4, 8, 3), np.uint8), mask, 25, 10, (17, 8) + (8,) * 6)  # fell from row 16 to 25
    floor = np.zeros((64, 64), bool)
    floor[26, 11:13] = True  # under two of six feet: a ledge
    assert land(sprite, 16, floor, 0.25).y == 21 and land(sprite, 16, floor, 0.25).last[0] == 17 - 4
    floor[:] = False
    floor[26, 11] = True  # under one of six
    assert land(sprite, 16, floor, 0.25).y == 25


def test_the_crop_is_centred_on_the_piece_and_holds_its_mask():
    frame = with_square(striped(), 30, 21)
    mask = np.zeros((64, 64), bool)
    mask[30:36, 21:27] = True
    x = crop(frame, mask, 32)
    assert x.shape == (4, 32, 32) and x[3].sum() == 36
    assert torch.allclose(x[:3, 16, 16], torch.tensor(RED / 255, dtype=torch.float32))


@pytest.fixture(scope="module")
def world():
    torch.manual_seed(0)
    return WorldModel(tk.Tokenizer(DEFAULT), Dynamics(DEFAULT).eval(), character=fake_character())


def test_play_moves_the_sprite_over_the_carried_background_and_undo_brings_it_back(world):
    background = striped()
    frame = with_square(background, 30, 21)
    assert np.array_equal(world.reset(frame), frame)  # the prompt is shown as it is
    assert world.sprite is not None and (world.sprite.y, world.sprite.x) == (30, 21)
    pixels, known = world.memory.read(0, 0, 64, 64)
    assert known.all() and not (pixels == RED).all(-1).any()  # the memory holds the background only
    shown = world.step(0)
    assert (world.sprite.y, world.sprite.x) == (29, 23)
    assert (shown == RED).all(-1).sum() == 36  # one whole sprite, no clone left behind
    world.undo()
    assert (world.sprite.y, world.sprite.x) == (30, 21) and np.array_equal(world.frame, frame)


def test_a_previewed_step_shows_the_previewed_sprite(world):
    world.reset(with_square(striped(), 30, 21))
    previews = world.preview([0, 3])
    assert (world.sprite.y, world.sprite.x) == (30, 21)  # the state is untouched
    assert np.array_equal(world.step(3), previews[1]) and world.last_step_precomputed


def test_a_batch_of_worlds_moves_each_sprite_as_a_lone_world_does(world):
    prompts = [with_square(striped(), 30, 21), striped()]
    alone = []
    for p in prompts:
        world.reset(p)
        alone.append([world.step(a) for a in (0, 5, 2)])
    batch = WorldBatch(world, 2)
    batch.reset(prompts, [0, 0])
    for t, a in enumerate((0, 5, 2)):
        frames = batch.step([a, a])
        assert all(np.array_equal(frames[b], alone[b][t]) for b in range(2))
    assert batch.records[0].sprite is not None and batch.records[1].sprite is None


def test_a_weights_folder_with_a_character_plays_it_and_a_mismatched_one_is_refused(tmp_path):
    from tests.conftest import save_tiny_world

    save_tiny_world(tmp_path)
    save_weights(tmp_path / "character.safetensors", "character", CharacterNetworks(TINY), TINY)
    assert WorldModel.load(tmp_path, "cpu").character is not None
    other = dataclasses.replace(TINY, num_actions=4)
    save_weights(tmp_path / "character.safetensors", "character", CharacterNetworks(other), other)
    with pytest.raises(GenieError, match="character.safetensors: its actions or image size differ"):
        WorldModel.load(tmp_path, "cpu")


def test_a_character_file_from_before_the_ground_plays_with_falls_as_the_mover_says(tmp_path):
    from tests.conftest import save_tiny_world

    save_tiny_world(tmp_path)
    old = {k: v for k, v in CharacterNetworks(TINY).state_dict().items() if not k.startswith("ground.")}
    save_weights(tmp_path / "character.safetensors", "character", old, TINY)
    ground = WorldModel.load(tmp_path, "cpu").character.ground
    assert ground(torch.from_numpy(striped())[None]).sigmoid().max() < TINY.character.floor  # holds nothing


# --- label-free training ------------------------------------------------------------------------


def scrolling_clip(frames=8, jump=(0, -3, -2, -1, 0, 1, 2, 3)):
    """A view scrolling 4 px a step over tiles, with a red square the camera follows (fixed column)
    that jumps: its screen moves are known."""
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 5, (20, 48))
    world = rng.integers(0, 200, (5, 3))[tiles.repeat(4, 0).repeat(4, 1)].astype(np.uint8)  # (80, 192)
    y, clip = 36, []
    for t in range(frames):
        clip.append(with_square(world[:64, 4 * t:4 * t + 64], y, 20))
        y += jump[t]
    return torch.from_numpy(np.stack(clip))


def test_the_followed_target_is_the_piece_that_holds_its_column_while_the_view_scrolls():
    clip = scrolling_clip()
    target, used = ct.followed(clip, tk.vocabulary(DEFAULT), DEFAULT)
    assert used.all()
    red = torch.from_numpy((clip[1:-1].numpy() == RED).all(-1))
    assert (target & ~red).sum() == 0  # never the scrolling tiles
    assert all(target[t][red[t]].sum() >= 12 for t in range(len(red)))  # the square on every frame (where it
    # overlaps its own camera-moved self it looks still, so not all of it)


def test_a_track_reads_the_pieces_true_moves_and_the_mover_learns_them():
    clip = scrolling_clip()
    prob = (clip.numpy() == RED).all(-1).astype(np.float32)  # a perfect detector
    steps = ct.track(clip.numpy(), prob, DEFAULT)
    assert [m[0] for _, _, m in steps] == [0, -3, -2, -1, 0, 1, 2] and all(m[1] == 0 for _, _, m in steps)
    nets = fake_character()
    nets.detector = nn.Identity()  # mover_examples reads sigmoid(detector(frames)): logits of the perfect one
    nets.detector.forward = lambda f: torch.from_numpy(np.where((f.numpy() == RED).all(-1), 10.0, -10.0))
    ex = ct.mover_examples(clip[None], torch.zeros(1, 7, dtype=torch.long), ct.clip_tracks(clip[None], nets, DEFAULT, False), DEFAULT)
    assert ex["moves"][:, 1].eq(8).all() and len(ex["moves"]) >= 7  # ground examples come on top
    assert ex["last"][1].tolist()[:2] == [8, 8] and ex["last"][0].tolist() == [17] * 8  # unknown before the track
    config = dataclasses.replace(DEFAULT, train=dataclasses.replace(DEFAULT.train, mover_steps=150))
    torch.manual_seed(0)
    learner = CharacterNetworks(config)
    ex = {k: v.repeat(4, *[1] * (v.dim() - 1)) for k, v in ex.items()}  # enough to hold some out
    scores = ct.train_mover(learner, ex, config, progress=False)
    assert scores["mover_dy_right"] == 1.0 and scores["mover_dx_right"] == 1.0  # it overfits the jump


def test_a_stand_is_a_row_held_after_a_fall_or_for_long_an_apex_is_not():
    assert ct.standing([3, 2, 0, 0, 0, -4]) == [False, False, True, True, True, False]  # landed
    assert ct.standing([-2, -1, 0, 0, 1, 2]) == [False] * 6  # the top of a jump holds its row twice
    assert ct.standing([0] * 5 + [-3]) == [True] * 5 + [False]  # a stand from the clip's start


def test_the_ground_target_is_under_the_feet_of_a_landed_sprite_and_clear_where_it_fell():
    background = striped()
    ys = [30, 33, 36, 38, 42, 42, 42, 42]  # falls, lands on row 48 (feet on 47), stands
    clip = torch.from_numpy(np.stack([with_square(background, y, 21) for y in ys]))
    nets = fake_character()
    nets.detector = nn.Identity()
    nets.detector.forward = lambda f: torch.from_numpy(np.where((f.numpy() == RED).all(-1), 10.0, -10.0))
    ex = ct.ground_examples(clip[None], ct.clip_tracks(clip[None], nets, DEFAULT, False), DEFAULT)
    targets, frames = ex["targets"].numpy(), ex["frames"].numpy()
    assert len(targets) == 7  # every move is a fall or a stand
    assert (frames == background).all()  # the sprite is cut out: the ground network sees what play gives it
    assert (targets[:4] == 1).sum() == 0 and (targets[0, 37:40, 21:27] == 0).all()  # feet from row 35 to 38
    assert ((targets[:4, 36:48, 21:27] == 0).any(0)).all() and (targets[4:, 49, 21:27] == 1).all()
    assert (targets[4:] == 1).sum() == 3 * 6 and (targets[4:, 48, 21:27] == 0).all()  # the surface row: a sharp edge
    assert (targets[4:, 42:48, 21:27] == 0).all()  # where it stands next is not ground
    config = dataclasses.replace(DEFAULT, train=dataclasses.replace(DEFAULT.train, ground_steps=150))
    torch.manual_seed(0)
    learner = CharacterNetworks(config)
    ex = {k: v.repeat(4, *[1] * (v.dim() - 1)) for k, v in ex.items()}
    scores = ct.train_ground(learner, ex, config, progress=False)
    assert scores["ground_recall"] == 1.0 and scores["ground_clear"] == 1.0  # it overfits the ground line


def test_train_character_without_a_character_in_the_clips_says_so(tmp_path, generated_data):
    from tests.conftest import save_tiny_world

    save_tiny_world(tmp_path / "w")
    with pytest.raises(GenieError, match=f"{generated_data}: the detector found no character to learn"):
        ct.train_character(TINY, generated_data, tmp_path / "w" / "lam.safetensors", tmp_path / "c", progress=False)


def test_train_character_learns_all_three_networks_from_clips_and_resumes_from_its_examples(tmp_path):
    """The whole stage on clips where the view scrolls under a square that falls, stands and jumps:
    the file holds the detector, the mover and a ground network that learned where it stood."""
    from genie_play.data.shards import write_shard
    from genie_play.io import read_weights

    fall, stand, jump = (2, 3, 4, 5), (0,) * 6, (-3, -2, -1, 0, 1, 2, 3)
    clips = np.stack([scrolling_clip(16, jump=np.roll(fall + stand + (0,) * 5 + jump, k)[:16]).numpy()
                      for k in (0, 0, 0, 0)])  # the square's track: falls 14 px, stands, jumps
    write_shard(tmp_path / "data", 0, clips, {"clips": [{} for _ in clips]})
    config = dataclasses.replace(DEFAULT, train=dataclasses.replace(
        DEFAULT.train, character_clips=4, detector_steps=150, mover_steps=20, ground_steps=150))
    save_weights(tmp_path / "lam.safetensors", "lam", LatentActionModel(DEFAULT), DEFAULT)
    path = ct.train_character(config, tmp_path / "data", tmp_path / "lam.safetensors", tmp_path / "c", progress=False)
    weights = read_weights(path, "character")
    assert any(name.startswith("ground.") for name in weights.tensors)
    assert weights.summary["ground_examples"] > 0 and weights.summary["ground_recall"] > 0.5
    assert (tmp_path / "c" / "ground_examples.safetensors").exists()
    again = ct.train_character(config, tmp_path / "data", tmp_path / "lam.safetensors", tmp_path / "c",
                               resume=True, progress=False)  # from the cached examples and detector
    assert read_weights(again, "character").summary["ground_examples"] == weights.summary["ground_examples"]


# --- the jump key ---------------------------------------------------------------------------------


def test_the_jump_keys_go_to_the_code_that_lifts_the_character():
    from genie_play.eval.motion import lifts, take_off_code
    from genie_play.keymap import load_keymap, with_jump_on
    from tests.conftest import LABELLED_KEYMAP

    torch.manual_seed(0)
    up = WorldModel(tk.Tokenizer(DEFAULT), Dynamics(DEFAULT).eval(), character=fake_character(dy=-2, dx=0))
    down = WorldModel(tk.Tokenizer(DEFAULT), Dynamics(DEFAULT).eval(), character=fake_character(dy=1, dx=0))
    prompt = with_square(striped(), 30, 21)
    assert lifts(up, prompt, 0) is True and lifts(down, prompt, 0) is False and lifts(up, striped(), 0) is None
    assert take_off_code(down, [prompt], [6, 7]) == (None, {6: 0, 7: 0})
    keymap = load_keymap(LABELLED_KEYMAP)
    jump, other = keymap.code_for_key("space"), keymap.code_for_key("e")
    moved = with_jump_on(keymap, other, "lifts it")
    assert moved.label(other) == "jump" and moved.code_for_key("space") == other == moved.code_for_key("e")
    assert moved.label(jump) == "jump (also)" and moved.keys_text(jump) == str(jump + 1)
    assert moved.bindings[other].note == "lifts it" and with_jump_on(moved, other, "") == moved


def test_the_evaluation_measures_where_the_character_is_found_and_whether_jump_lifts_it(tmp_path):
    from genie_play.eval.survival import character_metrics, character_on_player
    from tests.conftest import LABELLED_KEYMAP

    torch.manual_seed(0)
    world = WorldModel(tk.Tokenizer(DEFAULT), Dynamics(DEFAULT).eval(), character=fake_character(dy=-1, dx=0))
    world.source = tmp_path
    (tmp_path / "keymap.toml").write_text(LABELLED_KEYMAP.read_text())  # jump is code 2
    clip = with_square(striped(), 30, 21)
    frames = np.stack([np.stack([clip, clip])] * 2)  # (2 clips, 2 frames, H, W, 3)
    views = [[(0, 24, 36), (0, 24, 36)], [(0, 50, 60), (0, 50, 60)]]  # feet under the square; far from it
    assert character_on_player(world, frames, views) == 0.5
    result = {}
    character_metrics(world, {"prompts": {"square": clip, "bare": striped()}}, result)
    assert result == {"character_found_prompts": 0.5, "jump_lifts_prompts": 0.5}


def test_the_recipe_moves_the_jump_keys_to_the_code_that_lifts_the_character():
    from genie_play.keymap import load_keymap
    from genie_play.recipe import jump_from_character
    from tests.conftest import LABELLED_KEYMAP

    class LiftsOn(Moves):
        """Up 2 px a step under code 5 ("jump right" in the labelled keymap), still under the rest."""

        def forward(self, crops, actions, last):
            out = super().forward(crops, actions, last)
            out[actions == 5, 0] = out[actions == 5, 0].roll(-2, -1)
            return out

    torch.manual_seed(0)
    nets = fake_character(dy=0, dx=0)
    nets.mover = LiftsOn(0, 0, DEFAULT.character.reach)
    world = WorldModel(tk.Tokenizer(DEFAULT), Dynamics(DEFAULT).eval(), character=nets)
    keymap = load_keymap(LABELLED_KEYMAP)  # jump: code 2, jump left: 4, jump right: 5
    moved = jump_from_character(keymap, world, [with_square(striped(), 30, 21), striped()])
    assert moved.code_for_key("space") == 5 and moved.label(5) == "jump" and moved.label(2) == "jump (also)"
    assert "lifts the character from 1 of 2" in moved.bindings[5].note
    assert jump_from_character(keymap, world, [striped()]) == keymap  # no character: nothing to go by


def test_long_random_play_keeps_the_sprite_whole_on_screen_and_undo_exact():
    """A tiny world whose mover is untrained (random moves): 60 random keys with previews and undos."""
    torch.manual_seed(0)
    nets = CharacterNetworks(TINY)
    nets.detector = Finds()
    world = WorldModel(tk.Tokenizer(TINY), Dynamics(TINY).eval(), character=nets)
    prompt = np.zeros((16, 16, 3), np.uint8)
    prompt[12:] = 90
    prompt[8:12, 6:9] = RED
    world.reset(prompt)
    rng = np.random.default_rng(0)
    shown = [world.frame]
    for _ in range(60):
        roll = rng.random()
        if roll < 0.15 and world.num_frames > 1:
            world.undo()
            shown.pop()
            assert np.array_equal(world.frame, shown[-1])
            continue
        if roll < 0.3:
            world.preview(list(range(4)))
        shown.append(world.step(int(rng.integers(8))))
        record, sprite = world._history[-1], world.sprite
        assert np.array_equal(record.frame, compose(record.background, sprite))
        assert (shown[-1] == RED).all(-1).sum() == screen_mask(sprite, 16).sum()  # one whole piece (its part on screen)
        h, w = sprite.mask.shape
        assert -(h // 2) <= sprite.y <= 16 - h // 2 and -(w // 2) <= sprite.x <= 16 - w // 2


def test_a_player_chooses_the_character_by_where_they_click(world):
    frame = with_square(with_square(striped(), 10, 8), 40, 40)  # the codes would pick the first square
    world.reset(frame, character_at=(45, 41))
    assert (world.sprite.y, world.sprite.x) == (40, 40)
    world.reset(frame, character_at=(60, 2))  # no piece there: no character, the picture plays whole
    assert world.sprite is None and np.array_equal(world._history[-1].background, frame)
