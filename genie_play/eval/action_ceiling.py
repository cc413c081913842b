"""The ceilings of a latent action model: how much of the true action the data can reveal at all.

Two measures, so that "the LAM is weak" and "the world hides the action" are separate statements:
- the state ceiling: from the recorded game state (camera and player in whole screen pixels, pose,
  facing) each transition gets a signature of everything it visibly changes; the best any
  labelling can do is to name each signature's most common action. Its NMI with the true actions
  is `action_ceiling_nmi`.
- the pixel probe: a small supervised inverse-dynamics network trained on true labels from the
  pixels of (x_t, x_{t+1}) of training clips and scored on held-out clips — the practical ceiling
  of what the pixels reveal to a network of this size (genie_play.eval.probe).
"""

from __future__ import annotations

import numpy as np
import torch

from genie_play.eval import metrics as M


def transition_signatures(view: np.ndarray) -> np.ndarray:
    """What each transition shows: view (T, 5) per-frame state -> (T-1, 7) int signatures.

    Columns of view: camera x, player x and y on screen, pose, facing. A signature is the camera's
    and the player's displacement, and the pose and facing before and after."""
    v = np.asarray(view, np.int64)
    return np.concatenate([v[1:, :3] - v[:-1, :3], v[:-1, 3:], v[1:, 3:]], axis=1)


def clip_transitions(clips: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Signatures (M, 7) and true actions (M,) of every transition of recorded clips, cuts left out."""
    sigs, acts = [], []
    for clip in clips:
        if clip.get("view") is None or clip.get("actions") is None:
            continue
        s, a = transition_signatures(clip["view"]), np.asarray(clip["actions"], np.int64)
        keep = np.ones(len(a), bool)
        for t in clip.get("resets") or []:  # frame t starts a new level: t-1 -> t is a cut
            keep[t - 1] = False
        sigs.append(s[keep])
        acts.append(a[keep])
    if not sigs:
        return np.zeros((0, 7), np.int64), np.zeros(0, np.int64)
    return np.concatenate(sigs), np.concatenate(acts)


def ceiling_labels(signatures: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """The best guess of each transition's action from its signature alone: the signature's most
    common action (ties go to the lowest action id)."""
    _, group = np.unique(signatures, axis=0, return_inverse=True)
    group = group.reshape(-1)
    num_actions = int(actions.max()) + 1 if len(actions) else 1
    counts = np.zeros((group.max() + 1 if len(group) else 0, num_actions), np.int64)
    np.add.at(counts, (group, actions), 1)
    return counts.argmax(axis=1)[group]


def state_ceiling(clips: list[dict], num_actions: int) -> dict[str, float]:
    """action_ceiling_nmi / action_ceiling_accuracy over every transition of `clips` (empty dict
    when the clips carry no recorded state, e.g. imported video)."""
    sigs, acts = clip_transitions(clips)
    if len(acts) == 0:
        return {}
    guess = ceiling_labels(sigs, acts)
    table = M.contingency(torch.from_numpy(guess), torch.from_numpy(acts), num_actions, num_actions)
    return {"action_ceiling_nmi": M.nmi(table), "action_ceiling_accuracy": float((guess == acts).mean()),
            "action_ceiling_transitions": int(len(acts))}
