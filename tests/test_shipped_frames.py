"""The shipped world plays the same frames for the same seed and keys, release after release.

The digests were retaken when the world gained its character (genie_play 0.4: the piece the camera
follows is cut out at reset and moved as one piece) and its ground (0.5: a fall stops on the
ground network's ground; the sketched castle's flag never falls, so its digest held); a change to the tokenizer, the
dynamics model, the character, the sampler or the play state that alters a single pixel of these rollouts fails here."""

import hashlib

import pytest

from genie_play.paths import default_prompt, models_dir, prompts_dir
from genie_play.world.world_model import WorldModel

KEYS = [3, 3, 3, 0, 5, 5, 1, 2, 7, 3, 6, 6, 4, 3, 3, 0, 1, 2, 5, 5, 7, 3, 3, 3]
DIGESTS = {  # (prompt, seed) -> sha256 of every frame shown, first 16 hex digits
    ("default", 0): "7689449a7fc712eb",
    ("sketch-castle", 5): "0143dd1c57cd617f",
}


def _rollout_digest(world: WorldModel, prompt, seed: int) -> str:
    """Play KEYS with a preview of every action at step 8 and two undos at step 16."""
    world.seed = seed
    digest = hashlib.sha256(world.reset(prompt).tobytes())
    for i, key in enumerate(KEYS):
        if i == 8:
            world.preview(list(range(world.num_actions)))
        if i == 16:
            world.undo()
            world.undo()
        digest.update(world.step(key).tobytes())
    return digest.hexdigest()[:16]


@pytest.mark.parametrize("name,seed", list(DIGESTS), ids=lambda v: str(v))
def test_the_shipped_world_plays_the_same_frames(name, seed):
    world = WorldModel.load(models_dir(), device="cpu")
    prompt = default_prompt() if name == "default" else prompts_dir() / f"{name}.png"
    assert _rollout_digest(world, prompt, seed) == DIGESTS[(name, seed)]
