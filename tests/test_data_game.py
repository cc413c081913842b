"""The built-in world: every action has the effect it claims, the game is deterministic, styles split cleanly."""

import dataclasses

import numpy as np
import pytest

from genie_play.data.game import ACTIONS, Platformer
from genie_play.data.level import GROUND, PLATFORM, Enemy, Level, generate_level
from genie_play.data.render import PLAYER, TERRAIN
from genie_play.data.styles import FAMILIES, HELDOUT_FAMILIES, TRAIN_FAMILIES, make_style, sample_style

A = {name: i for i, name in enumerate(ACTIONS)}
ROWS = 9


def flat_level(cols: int = 60, height: int = 2, platform_row: int | None = None) -> Level:
    """Flat ground with nothing on it (optionally a one-way platform over columns 18..24)."""
    grid = np.zeros((ROWS, cols), np.uint8)
    grid[ROWS - height:] = GROUND
    if platform_row is not None:
        grid[platform_row, 18:25] = PLATFORM
    return Level(grid, np.zeros((0, 2), np.float32), [], start=(20.5, float(ROWS - height)), goal_x=cols - 4.5,
                 heights=np.full(cols, height))


@pytest.fixture
def game():
    style = dataclasses.replace(make_style("day", 1), view_tiles=6.4, jitter=0.0)  # 10 px per tile
    g = Platformer(seed=0, style=style, size=64)
    g.reset(level=flat_level())
    return g


def play(g, action: str, steps: int):
    for _ in range(steps):
        frame, reward, done, info = g.step(A[action])
    return info


def player_box(g):
    """(top row, bottom row, height) of the player's pixels in the current frame."""
    _, labels = g.render(labels=True)
    rows = np.nonzero((labels == PLAYER).any(axis=1))[0]
    return rows.min(), rows.max(), rows.max() - rows.min() + 1


def test_there_are_at_most_eight_distinct_actions():
    assert len(ACTIONS) <= 8 and len(set(ACTIONS)) == len(ACTIONS)
    assert {"idle", "left", "right", "jump", "down"} <= set(ACTIONS)


def test_idle_keeps_everything_still(game):
    frame0 = game.render()
    x0, y0 = game.x, game.y
    info = play(game, "idle", 5)
    assert (info["x"], info["y"]) == (x0, y0)
    assert np.array_equal(game.render(), frame0)


@pytest.mark.parametrize("action, sign, px", [("left", -1, 4), ("right", 1, 4), ("run_right", 1, 8)])
def test_the_key_sets_the_speed_in_the_first_frame(game, action, sign, px):
    """No momentum: the first frame already moves the camera by the full speed, in whole pixels."""
    x0, cam0, view0 = game.x, game.camera_x, game.view_state()
    first = play(game, action, 1)
    assert first["x"] - x0 == pytest.approx(sign * px / 10)
    assert game.view_state()[0] - view0[0] == sign * px  # the whole view scrolls by px pixels
    info = play(game, action, 7)
    assert sign * (info["camera_x"] - cam0) == pytest.approx(8 * px / 10)
    assert info["y"] == game.level.start[1] and info["facing"] == sign
    assert play(game, "idle", 1)["x"] == info["x"]  # and letting go stops at once


def test_running_is_faster_than_walking(game):
    walked = play(game, "right", 10)["x"]
    game.reset(level=flat_level())
    ran = play(game, "run_right", 10)["x"]
    start = game.level.start[0]
    assert ran - start == pytest.approx(2 * (walked - start))


def _next_frames(game, setup) -> list[np.ndarray]:
    """The frame after each of the 8 actions, from the state that `setup` brings the game to."""
    frames = []
    for a in range(len(ACTIONS)):
        game.reset(level=flat_level())
        setup(game)
        frames.append(game.step(a)[0])
    return frames


@pytest.mark.parametrize("state", ["standing", "rising", "falling"])
def test_every_action_shows_in_the_next_frame(game, state):
    """The world is legible: from one state, the 8 actions give 8 different next frames."""
    setups = {"standing": lambda g: None,
              "rising": lambda g: play(g, "jump", 2),
              "falling": lambda g: (play(g, "jump", 6), play(g, "idle", 2))}
    frames = _next_frames(game, setups[state])
    for i in range(len(ACTIONS)):
        for j in range(i):
            assert not np.array_equal(frames[i], frames[j]), (state, ACTIONS[i], ACTIONS[j])


def test_walking_into_a_wall_still_shows(game):
    level = flat_level()
    level.grid[ROWS - 4:ROWS - 2, 21] = GROUND  # a wall just right of the player
    game.reset(level=level)
    play(game, "right", 3)  # now pressed against it
    x = game.x
    walked = game.step(A["right"])[0]
    assert game.x == x  # blocked...
    game.reset(level=level)
    play(game, "right", 3)
    stood = game.step(A["idle"])[0]
    assert not np.array_equal(walked, stood)  # ...but the legs still move


def test_moving_right_scrolls_the_level_left_in_the_frame(game):
    """The camera follows the player: terrain pixels shift left by exactly the camera's movement."""
    frame0, labels0 = game.render(labels=True)
    cam0 = round(game.camera_x * game._renderer.ppt)
    play(game, "right", 6)
    frame1 = game.render()
    d = round(game.camera_x * game._renderer.ppt) - cam0
    ground = labels0.all(axis=1) & (labels0 == TERRAIN).all(axis=1)  # rows that are terrain edge to edge
    assert d > 3 and ground.sum() >= 8
    assert np.array_equal(frame1[ground, :-d], frame0[ground, d:])


@pytest.mark.parametrize("action, sign", [("jump", 0), ("jump_left", -1), ("jump_right", 1)])
def test_jumps_raise_the_player(game, action, sign):
    top0, _, _ = player_box(game)
    x0, y0 = game.x, game.y
    play(game, action, 1)
    assert player_box(game)[0] <= top0 - 4  # lifted at once, by 4+ pixels
    info = play(game, action, 4)
    assert y0 - info["y"] > 1.0 and not info["grounded"]
    assert player_box(game)[0] < top0 - game._renderer.ppt  # visibly higher in the frame
    if sign:
        assert sign * (info["x"] - x0) == pytest.approx(5 * 0.4)  # full air control
    else:
        assert info["x"] == x0


def test_holding_jump_jumps_higher_than_tapping(game):
    def apex(hold: int) -> float:
        game.reset(level=flat_level())
        best = game.y
        for t in range(30):
            game.step(A["jump"] if t < hold else A["idle"])
            best = min(best, game.y)
        return game.level.start[1] - best

    assert apex(12) > apex(1) + 0.5


def test_down_crouches_on_the_ground_and_falls_fast_in_the_air(game):
    _, bottom0, h0 = player_box(game)
    info = play(game, "down", 2)
    _, bottom1, h1 = player_box(game)
    assert info["crouching"] and h1 < 0.8 * h0 and bottom1 == bottom0
    falls = []
    for action in ("idle", "down"):
        game.reset(level=flat_level())
        play(game, "jump", 4)
        play(game, "idle", 1)  # the rise is cut: high in the air, about to fall
        y = game.y
        falls.append(play(game, action, 1)["y"] - y)
    assert falls[1] > falls[0] + 0.25  # a dive: 2+ px further in one frame


def test_down_drops_through_a_one_way_platform(game):
    level = flat_level(platform_row=ROWS - 2 - 3)
    game.reset(level=level)
    game.x, game.y = 21.5, float(ROWS - 2 - 3)  # standing on the platform
    assert play(game, "idle", 3)["y"] == ROWS - 5  # it holds...
    assert play(game, "down", 6)["y"] > ROWS - 5 + 0.5  # ...until you press down


def test_falling_into_a_gap_ends_the_episode(game):
    level = flat_level()
    level.grid[:, 23:30] = 0
    level.heights[23:30] = 0
    game.reset(level=level)
    for _ in range(60):
        _, _, done, info = game.step(A["right"])
        if done:
            break
    assert done and info["reason"] == "fell"
    with pytest.raises(RuntimeError):
        game.step(A["idle"])


def test_coins_enemies_and_the_goal(game):
    level = flat_level()
    level.coins = np.array([[23.5, ROWS - 2.5]], np.float32)
    game.reset(level=level)
    rewards = sum(game.step(A["right"])[1] for _ in range(20))
    assert rewards == 1.0 and game.info()["coins"] == 1

    level = flat_level()
    level.enemies = [Enemy(24.0, float(ROWS - 2), 0.0, 24.0, 24.0)]
    game.reset(level=level)
    done = False
    for _ in range(40):
        _, _, done, info = game.step(A["right"])
        if done:
            break
    assert done and info["reason"] == "enemy"

    game.reset(level=flat_level())
    game.x = game.level.goal_x - 0.05
    _, reward, done, info = game.step(A["right"])
    assert done and info["reason"] == "goal" and reward == 10.0


def test_same_seed_same_game():
    def run(seed):
        g = Platformer(seed=seed, size=32)
        frames = [g.reset()]
        for t in range(12):
            frames.append(g.step((t * 5) % len(ACTIONS))[0])
        return np.stack(frames), g.style

    a, style_a = run(7)
    b, style_b = run(7)
    c, _ = run(8)
    assert a.dtype == np.uint8 and a.shape == (13, 32, 32, 3)
    assert np.array_equal(a, b) and style_a == style_b
    assert not np.array_equal(a, c)


def test_levels_are_playable_shapes():
    rng = np.random.default_rng(0)
    all_gaps = []
    for _ in range(20):
        lv = generate_level(rng, rows=9)
        assert lv.grid.shape[0] == 9 and 64 <= lv.cols <= 128
        edges = np.diff(np.r_[0, lv.heights == 0, 0].astype(int))
        all_gaps += list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))
        assert lv.heights[:10].min() > 0 and lv.heights.max() <= 9 - 5
        assert lv.enemies or lv.coins.size
    assert len(all_gaps) > 20 and max(all_gaps) <= 3  # gaps are common, and every one can be jumped


def test_style_split_is_disjoint_and_documented_families_all_render():
    assert set(TRAIN_FAMILIES) | set(HELDOUT_FAMILIES) == set(FAMILIES)
    assert not set(TRAIN_FAMILIES) & set(HELDOUT_FAMILIES)
    rng = np.random.default_rng(0)
    assert {sample_style(rng, "train").family for _ in range(200)} == set(TRAIN_FAMILIES)
    assert {sample_style(rng, "heldout").family for _ in range(50)} == set(HELDOUT_FAMILIES)
    assert any(make_style(f, 0).line_art for f in TRAIN_FAMILIES) and any(make_style(f, 0).line_art for f in HELDOUT_FAMILIES)
    means = []
    for family in FAMILIES:
        g = Platformer(seed=1, style=family, size=32)
        frame = g.reset()
        assert frame.shape == (32, 32, 3) and frame.std() > 5, family  # a picture, not a flat colour
        means.append(frame.reshape(-1, 3).mean(0))
    assert np.ptp(np.array(means), axis=0).max() > 60  # the families look different


def test_sketch_styles_are_dark_strokes_on_light_paper():
    for family in ("pencil", "ink"):
        g = Platformer(seed=3, style=family, size=64)
        frame = g.reset().astype(float).mean(axis=2)
        paper = np.median(frame)
        assert paper > 180  # mostly light paper
        assert (frame < paper - 80).mean() > 0.02  # with dark lines on it
