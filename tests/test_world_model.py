"""The world: the tokenizer's search and copy, the dynamics' heads, training, and play."""

import numpy as np
import pytest
import torch

from genie_play.errors import GenieError
from genie_play.presets import PRESETS
from genie_play.world import tokenizer as tk

TINY = PRESETS["tiny"]


def textured(size=64, seed=0):
    """A picture with structure everywhere: random 4x4 tiles of a few colours and a bright sprite."""
    rng = np.random.default_rng(seed)
    tiles = rng.integers(0, 6, (size // 4 + 8, size // 4 + 8))
    palette = rng.integers(0, 256, (6, 3))
    big = palette[tiles.repeat(4, 0).repeat(4, 1)].astype(np.uint8)  # (size + 32)^2
    return big


def scrolled(big, x, size=64):
    return big[:size, x:x + size].copy()


def test_a_scroll_is_found_and_coded_as_carry_with_the_sprite_kept_in_place():
    vocab = tk.vocabulary(PRESETS["default"])
    big = textured()
    prev, nxt = scrolled(big, 0), scrolled(big, 4)  # the view moves right: content 4 px left
    sprite = np.full((8, 8, 3), 255, np.uint8)
    prev[28:36, 24:32] = sprite
    nxt[28:36, 24:32] = sprite  # the character stays on screen while the level scrolls
    p, n = torch.from_numpy(prev)[None], torch.from_numpy(nxt)[None]
    move = tk.estimate_move(p, n, vocab)
    assert (vocab.move_table()[move] == torch.tensor([0, -4])).all()  # every band
    moves = vocab.move_table()[move]
    ids = tk.encode(p, n, moves, vocab)
    rebuilt = tk.decode(p, moves, ids, vocab)
    assert torch.equal(rebuilt[0, :, :60], n[0, :, :60])  # all but the strip that scrolled in, bit for bit
    assert (ids[0, :, :15] == vocab.carry).float().mean() > 0.9
    assert (ids[0, 7:9, 7] != vocab.carry).all()  # the sprite's blocks copy from where it was


def cockpit(pan: int, sprite_y: int) -> np.ndarray:
    """A cockpit game's screen: a textured strip of hills (rows 8-15) that pans, flat desert, a
    sprite at height `sprite_y`, and a static textured dashboard (rows 48-63)."""
    frame = np.full((64, 64, 3), (180, 120, 60), np.uint8)
    frame[8:16] = scrolled(textured(seed=2), pan)[8:16]
    frame[48:] = textured(seed=3)[48:64, :64]
    frame[sprite_y:sprite_y + 6, 30:38] = 250
    return frame


def test_a_sprite_climbing_over_flat_ground_is_not_the_camera_but_a_pan_under_a_dashboard_is():
    vocab = tk.vocabulary(PRESETS["default"])
    move = lambda a, b: vocab.move_table()[tk.estimate_move(torch.from_numpy(a)[None], torch.from_numpy(b)[None], vocab)][0, 0].tolist()
    # The sprite climbs 4 px: in its band of flat desert every pixel fits that move, but moving the
    # whole frame by it would tear the hills and the dashboard.
    assert move(cockpit(0, 30), cockpit(0, 26)) == [0, 0]
    # The hills pan 2 px under a dashboard that stays: that is the camera.
    assert move(cockpit(0, 30), cockpit(2, 30)) == [0, -2]


def space(pan: int, ship_y: int) -> np.ndarray:
    """A space shooter's screen: black sky, a small ship at height `ship_y`, and a strip of city and
    ground (rows 48-63) that scrolls."""
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[48:] = scrolled(textured(seed=4), pan)[48:64]
    frame[ship_y:ship_y + 2, 30:36] = 250
    return frame


def test_a_ship_climbing_over_black_sky_is_not_the_camera_while_the_ground_scrolls(monkeypatch):
    vocab = tk.vocabulary(PRESETS["default"])
    move = lambda a, b: vocab.move_table()[tk.estimate_move(torch.from_numpy(a)[None], torch.from_numpy(b)[None], vocab)][0, 0].tolist()
    assert move(space(0, 20), space(2, 24)) == [0, -2]
    assert move(space(0, 20), space(0, 24)) == [0, 0]  # the ground stands: so does the camera
    monkeypatch.setattr(tk, "MOVE_SUPPORT", 0.0)  # any band move that fits the frame: the ship's, the largest, wins
    assert move(space(0, 20), space(2, 24)) == [4, 0]


def test_decode_only_copies_pixels_of_the_frame_before():
    vocab = tk.vocabulary(PRESETS["default"])
    prev = torch.from_numpy(textured(seed=1)[:64, :64])[None]
    moves = vocab.move_table()[torch.randint(vocab.moves, (1, vocab.bands))]
    ids = torch.randint(vocab.size, (1, 16, 16))
    out = tk.decode(prev, moves, ids, vocab)
    colours = {tuple(c) for c in prev[0].reshape(-1, 3).tolist()}
    assert {tuple(c) for c in out[0].reshape(-1, 3).tolist()} <= colours


def test_the_hole_is_the_strip_the_move_uncovers_and_carry_is_invalid_there():
    vocab = tk.vocabulary(PRESETS["default"])
    moves = torch.tensor([[[0, -4]] * vocab.bands])
    hole = tk.hole(moves, 64)
    assert hole[0, :, 60:].all() and not hole[0, :, :60].any()
    valid = tk.valid_ids(moves, vocab, 64)
    assert not valid[0, :, 15, vocab.carry].any() and valid[0, :, :15, vocab.carry].all()


def test_under_an_overlay_the_hole_is_the_world_strip_next_to_it():
    moves = torch.tensor([[[-4, 0]]])  # content up 4 px: the camera goes down
    hole = tk.hole(moves, 64, (0, 8))  # a score bar in the bottom 8 rows
    assert hole[0, 52:56].all() and not hole[0, :52].any() and not hole[0, 56:].any()
    assert torch.equal(tk.hole(moves, 64, (0, 0))[0].any(dim=1), torch.arange(64) >= 60)


def scoreboard_clip(steps=12, bar=6, top_bar=0):
    """A world scrolling right 2 px a step under a static score bar of `bar` rows at the bottom
    (textured, its last 2 rows flat grey) and `top_bar` textured static rows at the top."""
    big, board = textured(seed=5), textured(seed=6)[:64, :64]
    frames = []
    for t in range(steps):
        f = scrolled(big, 2 * t)
        f[64 - bar:] = board[64 - bar:]
        f[62:] = 128
        f[:top_bar] = board[:top_bar]
        frames.append(f)
    return torch.from_numpy(np.stack(frames))


def test_the_rows_that_stay_put_while_the_view_scrolls_are_an_overlay():
    clip = scoreboard_clip()
    moves = torch.tensor([[0, -2]]).expand(len(clip) - 1, -1)
    assert tk.overlay_rows(clip[:-1], clip[1:], moves) == (0, 6)  # the flat grey rows below it join the bar
    clip = scoreboard_clip(top_bar=3)
    assert tk.overlay_rows(clip[:-1], clip[1:], moves) == (3, 6)
    plain = torch.from_numpy(np.stack([scrolled(textured(seed=5), 2 * t) for t in range(12)]))
    assert tk.overlay_rows(plain[:-1], plain[1:], moves) == (0, 0)
    assert tk.overlay_rows(clip[:-1], clip[1:], torch.zeros_like(moves)) == (0, 0)  # no move: nothing tells


def test_play_holds_the_overlay_and_never_remembers_it_as_world(tmp_path):
    """The view goes right 4 px a step and back: the bar stays as it was, and the strip that
    comes back from memory is world, never a copy of the bar."""
    from genie_play.world.dynamics import Dynamics
    from genie_play.world.sampler import Sampler
    from genie_play.world.world_model import WorldModel

    config, vocab = PRESETS["default"], tk.vocabulary(PRESETS["default"])
    table = vocab.move_table().tolist()
    dynamics = Dynamics(config)
    with torch.no_grad():
        last = dynamics.move_mlp[-1]
        last.weight.zero_()
        last.bias.zero_()
        dynamics.move_action.weight.zero_()
        dynamics.move_counts[0, table.index([0, -4])] = 10  # action 0: the view goes right
        dynamics.move_counts[1, table.index([0, 4])] = 10  # action 1: left
        dynamics.move_counts[:, vocab.still] = 1
        last.bias[table.index([0, -4])] = last.bias[table.index([0, 4])] = 10.0
        dynamics.overlay.copy_(torch.tensor([0, 8]))
    world = WorldModel(tk.Tokenizer(config), dynamics, sampler=Sampler.from_config(config.sampler, carry_bias=1e6))
    prompt = scoreboard_clip(bar=8)[0].numpy()
    world.reset(prompt)
    for action in (0, 0, 0, 1, 1, 1):
        frame = world.step(action)
        assert np.array_equal(frame[56:], prompt[56:])
    assert world.camera == (0, 0)
    assert np.array_equal(frame[:56], prompt[:56])  # the world's rows came back from memory as they were
    _, known = world.memory.read(56, -64, 8, 256)
    assert not known.any()


def test_config_refuses_bands_that_do_not_split_the_grid():
    from genie_play.presets import resolve_config

    with pytest.raises(GenieError, match="tokenizer.bands"):
        resolve_config("default", ["tokenizer.bands=5"])


def test_dynamics_heads_have_the_shapes_play_needs():
    from genie_play.world.dynamics import Dynamics

    model = Dynamics(TINY)
    vocab, B = tk.vocabulary(TINY), 3
    frame = torch.randint(0, 256, (B, 16, 16, 3), dtype=torch.uint8)
    logits = model.move_logits(frame, torch.tensor([0, 1, 2]), torch.full((B, vocab.bands), model.no_move))
    assert logits.shape == (B, vocab.bands, vocab.moves)
    moves = logits.argmax(-1)
    px = vocab.move_table()[moves]
    context = model.token_context(frame, frame, tk.hole(px, 16), torch.tensor([0, 1, 2]), moves)
    ids = torch.full((B, 4, 4), model.mask_id)
    assert model.token_logits(context, ids).shape == (B, 4, 4, vocab.size)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, generated_data):
    """A tiny world trained on the tiny generated data: (weights folder, the final losses)."""
    from genie_play.io import save_weights
    from genie_play.train.dynamics_training import train_dynamics
    from genie_play.world.lam import LatentActionModel

    folder = tmp_path_factory.mktemp("world")
    torch.manual_seed(0)
    lam = folder / "a-lam.safetensors"
    save_weights(lam, "lam", LatentActionModel(TINY), TINY)
    lines = []
    out = train_dynamics(TINY, generated_data, folder, lam, log=lines.append, log_every=5)
    return out.parent, lines


def test_training_lowers_both_losses_and_exports_a_playable_world(trained):
    import json

    folder, lines = trained
    stats = [json.loads(line) for line in lines if line.startswith("{")]
    assert stats[-1]["token_loss"] < stats[0]["token_loss"]
    assert stats[-1]["move_loss"] < stats[0]["move_loss"]
    from genie_play.world.world_model import WorldModel

    world = WorldModel.load(folder, device="cpu")
    prompt = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    first = world.reset(prompt)
    assert np.array_equal(first, prompt)  # the prompt's own pixels are the first frame
    frames = [world.step(a) for a in (0, 3, 5, 1)]
    colours = {tuple(c) for c in prompt.reshape(-1, 3).tolist()}
    for f in frames:  # every pixel ever shown is one of the picture's
        assert f.shape == (16, 16, 3) and f.dtype == np.uint8
        assert {tuple(c) for c in f.reshape(-1, 3).tolist()} <= colours
    world.reset(prompt)
    again = [world.step(a) for a in (0, 3, 5, 1)]
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))  # same seed, same keys, same frames
    assert np.array_equal(world.undo(), again[-2]) and world.num_frames == 4


def test_the_exported_world_counts_each_actions_camera_moves_in_its_labels(trained):
    from safetensors.torch import load_file

    from genie_play.io import read_weights

    folder = trained[0]
    counts = read_weights(folder / "dynamics.safetensors", "dynamics").tensors["move_counts"]
    coded = load_file(str(folder / "coded.safetensors"))
    assert counts.shape == (TINY.num_actions, tk.vocabulary(TINY).moves)
    assert counts.sum() == coded["moves"].numel()
    first = coded["codes"][0, 0], coded["moves"][0, 0, 0]
    assert counts[first] >= 1


def test_play_chooses_only_moves_the_footage_showed_for_the_action(tmp_path):
    """Action 0's labels: right 95%, down 5 of 100 (a slip of the search) is not enough; action 1
    is hardly used, so it stands still; with no counts at all, the head's choice stands."""
    from genie_play.world.dynamics import Dynamics
    from genie_play.world.world_model import WorldModel

    config, vocab = PRESETS["default"], tk.vocabulary(PRESETS["default"])
    table = vocab.move_table().tolist()
    right, down = table.index([0, -4]), table.index([4, 0])
    dynamics = Dynamics(config)
    with torch.no_grad():
        last = dynamics.move_mlp[-1]
        last.weight.zero_()
        last.bias.zero_()
        last.bias[down], last.bias[right] = 20.0, 10.0  # the head prefers down, then right
    world = WorldModel(tk.Tokenizer(config), dynamics)
    prompt = textured(size=config.image_size)[:config.image_size, :config.image_size]

    def camera_after(action):  # the camera moves against the content
        world.reset(prompt)
        world.step(action)
        return world.camera

    assert camera_after(0) == (-4, 0)  # no counts: every move allowed, the head's first choice plays
    dynamics.move_counts[0, right], dynamics.move_counts[0, down] = 95, 4
    dynamics.move_counts[2, vocab.still] = 1000
    dynamics.move_counts[1, right] = 3  # 3 of 1102 transitions: under 1%
    assert camera_after(0) == (0, 4) and camera_after(1) == (0, 0)
    dynamics.move_counts[0, down] = 6  # 6 of 101: a move the footage shows
    assert camera_after(0) == (-4, 0)


def test_a_dynamics_file_from_before_the_move_counts_loads_and_allows_every_move(trained, tmp_path):
    from genie_play.io import load_state, read_weights, save_weights
    from genie_play.world.dynamics import Dynamics

    weights = read_weights(trained[0] / "dynamics.safetensors", "dynamics")
    old = {k: v for k, v in weights.tensors.items() if k != "move_counts"}
    path = tmp_path / "dynamics.safetensors"
    save_weights(path, "dynamics", old, weights.config)
    model = load_state(Dynamics(weights.config), read_weights(path, "dynamics"))
    assert model.allowed_moves(torch.arange(TINY.num_actions)).all()


def test_a_previewed_action_steps_to_exactly_the_previewed_frame(trained):
    from genie_play.world.world_model import WorldModel

    world = WorldModel.load(trained[0], device="cpu")
    prompt = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    world.reset(prompt)
    world.step(2)
    shown = world.preview(list(range(world.num_actions)))
    assert np.array_equal(world.step(6), shown[6]) and world.last_step_precomputed
    assert world.preview([1], cancelled=lambda: True) is None


def test_a_batch_of_worlds_plays_what_each_world_plays_alone(trained):
    from genie_play.world.world_batch import WorldBatch
    from genie_play.world.world_model import WorldModel

    world = WorldModel.load(trained[0], device="cpu", seed=5)
    prompts = [np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype=np.uint8) for i in range(3)]
    batch = WorldBatch(world, 3)
    batch.reset(prompts, [5, 5, 5])
    keys = [(0, 1, 2), (3, 4, 5), (6, 7, 0)]
    together = [batch.step(list(k)).copy() for k in keys]
    for b in range(3):
        world.reset(prompts[b])
        alone = [world.step(k[b]) for k in keys]
        assert all(np.array_equal(together[t][b], alone[t]) for t in range(3))


def test_a_tokenizer_with_other_blocks_than_the_dynamics_model_is_refused(trained, tmp_path):
    import shutil

    from genie_play.io import save_weights
    from genie_play.presets import resolve_config
    from genie_play.world.tokenizer import Tokenizer
    from genie_play.world.world_model import WorldModel

    for name in ("lam", "dynamics"):
        shutil.copy(trained[0] / f"{name}.safetensors", tmp_path / f"{name}.safetensors")
    wider = resolve_config("tiny", ["tokenizer.reach_x=6"])
    save_weights(tmp_path / "tokenizer.safetensors", "tokenizer", Tokenizer(wider), wider)
    with pytest.raises(GenieError, match="tokenizer.safetensors.*blocks and moves"):
        WorldModel.load(tmp_path, device="cpu")


def test_train_all_makes_a_world_and_resume_keeps_it(tmp_path, generated_data):
    from genie_play.cli import main
    from genie_play.world.world_model import WorldModel

    out = tmp_path / "run"
    args = ["train", "all", "--preset", "tiny", "--data", str(generated_data), "--out", str(out)]
    assert main(args) == 0
    assert WorldModel.load(out, device="cpu").num_actions == 8
    before = (out / "dynamics.safetensors").read_bytes()
    assert main(args + ["--resume"]) == 0  # every stage is done: nothing retrains
    assert (out / "dynamics.safetensors").read_bytes() == before


def test_train_tokenizer_is_refused_in_one_line(tmp_path, generated_data, capsys):
    from genie_play.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "tokenizer", "--preset", "tiny", "--data", str(generated_data), "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "invalid choice: 'tokenizer'" in capsys.readouterr().err
