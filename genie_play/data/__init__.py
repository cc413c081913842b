"""Training data: the built-in procedural platformer, its shards, video import, previews, the Dataset.

    game.py, level.py    the game: physics, levels, the 8 actions (usable by an RL agent)
    styles.py            style families and the held-out split; draw/art/sprites/render.py draw them
    policy.py            the scripted explorer that plays while we record
    record.py            one clip from (seed, split, episode); generate.py runs many, in parallel
    shards.py            the on-disk format; dataset.py the torch Dataset over it
    video_import.py      your own videos, GIFs and frame folders; preview.py contact sheets and GIFs

Generating needs only NumPy; Pillow, PyAV and torch are imported by the modules that use them.
"""

from genie_play.data.game import ACTIONS, Platformer
from genie_play.data.styles import FAMILIES, HELDOUT_FAMILIES, TRAIN_FAMILIES, Style

__all__ = ["ACTIONS", "FAMILIES", "HELDOUT_FAMILIES", "Platformer", "Style", "TRAIN_FAMILIES"]
