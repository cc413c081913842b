"""The ceilings beside the LAM: what one transition shows (from the game state) and what a probe reads from pixels."""

import numpy as np
import pytest
import torch

from genie_play.data.game import ACTIONS
from genie_play.data.record import GenerateSpec, record_clip, record_clips
from genie_play.eval.action_ceiling import ceiling_labels, clip_transitions, state_ceiling, transition_signatures
from genie_play.eval.probe import labelled_pairs, score_probe, train_probe


def test_signatures_are_the_displacements_and_the_poses():
    view = [[10, 20, 40, 0, 1], [12, 20, 36, 3, 1], [12, 20, 36, 5, -1]]  # camera x, player x, y, pose, facing
    sig = transition_signatures(view)
    assert sig.tolist() == [[2, 0, -4, 0, 1, 3, 1], [0, 0, 0, 3, 1, 5, -1]]


def test_the_ceiling_on_a_hand_made_case():
    still = [[0, 20, 40, 0, 1]] * 3
    moving = [[0, 20, 40, 0, 1], [2, 20, 40, 1, 1], [4, 20, 40, 2, 1]]
    # Actions 0 and 1 look the same (nothing moves) and action 2 always scrolls: 0 and 1 cannot be
    # told apart, so the best labelling names every still transition after the commoner one.
    clips = [{"view": still, "actions": [0, 0]}, {"view": still, "actions": [0, 1]}, {"view": moving, "actions": [2, 2]}]
    sigs, acts = clip_transitions(clips)
    assert ceiling_labels(sigs, acts).tolist() == [0, 0, 0, 0, 2, 2]
    partial = state_ceiling(clips, 3)
    assert partial["action_ceiling_accuracy"] == pytest.approx(5 / 6) and 0 < partial["action_ceiling_nmi"] < 1
    clips[1]["actions"] = [0, 0]  # now nothing hides: every action has its own look
    assert state_ceiling(clips, 3)["action_ceiling_nmi"] == pytest.approx(1.0)
    # A cut to a new level is not an action's effect and is left out.
    cut = {"view": moving, "actions": [2, 1], "resets": [2]}
    assert len(clip_transitions([cut])[1]) == 1
    assert state_ceiling([{"view": None, "actions": None}], 3) == {}  # imported video: nothing to say


def test_the_built_in_world_shows_its_actions():
    """The bar the world is built for: one transition reveals the action (NMI >= 0.8) and the
    policy covers every action (8-20% each), on held-out styles too."""
    for split in ("train", "heldout"):
        spec = GenerateSpec("unused", 200, frames=16, split=split, seed=11)
        clips = [record_clip(spec, e, None) for e in range(spec.episodes)]
        assert state_ceiling(clips, len(ACTIONS))["action_ceiling_nmi"] >= 0.8, split
        share = np.bincount(np.concatenate([c["actions"] for c in clips]), minlength=len(ACTIONS)) / (200 * 15)
        assert share.min() >= 0.06 and share.max() <= 0.22, share


def test_recorded_state_matches_the_frames():
    """The view state in the shard metadata is what the frames show: the camera's x moves the terrain."""
    spec = GenerateSpec("unused", 2, frames=12, size=64, seed=3)
    frames, clips = record_clips(spec, range(2))
    view = np.asarray(clips[0]["view"])
    assert view.shape == (12, 5) and set(view[:, 4]) <= {-1, 1}
    assert ((0 <= view[:, 1]) & (view[:, 1] < 64) & (0 <= view[:, 2]) & (view[:, 2] <= 64)).all()


def test_the_probe_learns_actions_from_pixels(tmp_path):
    """A supervised probe fits the true actions of a few clips from their pixels (far above chance)."""
    from genie_play.cli import main
    from genie_play.data.dataset import ClipDataset

    data = tmp_path / "probe"
    assert main(["data", "generate", "--out", str(data), "--episodes", "12", "--frames", "8", "--size", "32", "--seed", "2"]) == 0
    probe = train_probe(data, image_size=32, channels=8, num_actions=len(ACTIONS), steps=80, batch=24)
    clips = ClipDataset(data, clip_frames=8)
    frames = torch.stack([clips[i]["frames"] for i in range(len(clips))])
    actions = torch.stack([clips[i]["actions"] for i in range(len(clips))])
    scores = score_probe(probe, frames, actions, len(ACTIONS))
    assert scores["action_probe_accuracy"] > 0.4, scores  # chance is ~0.2 (the commonest action)
    pairs, truth = labelled_pairs(frames, actions)
    assert pairs.shape[1:] == (2, 32, 32, 3) and len(pairs) == len(truth) == int((actions >= 0).sum())
