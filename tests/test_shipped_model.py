"""The shipped default world in models/: it loads, fits together, plays, and stays small."""

import numpy as np

from genie_play.app.keymap import load_keymap
from genie_play.paths import default_prompt, models_dir
from genie_play.world.world_model import WorldModel


def test_models_folder_stays_under_60_mb():
    total = sum(f.stat().st_size for f in models_dir().rglob("*") if f.is_file())
    assert total < 60 * 2**20


def test_shipped_weights_play_the_default_prompt():
    world = WorldModel.load(models_dir(), device="cpu")
    assert world.lam is not None and world.config.image_size == 64 and world.max_context == 16
    first = world.reset(default_prompt())
    frames = [world.step(a) for a in range(world.num_actions)]
    assert all(f.shape == (64, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert not all(np.array_equal(f, first) for f in frames)  # the world moves


def test_shipped_keymap_binds_every_latent_action():
    keymap = load_keymap(models_dir() / "keymap.toml")
    assert [b.code for b in keymap.bindings] == list(range(8))
    assert all(b.keys for b in keymap.bindings)
    assert keymap.code_for_key("left") is not None and keymap.code_for_key("right") is not None
