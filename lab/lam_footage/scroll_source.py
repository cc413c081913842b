"""Lab: does the joystick set the view's sideways move in a game, or does the game's state (a ship's
facing) set it? Plays each game with record_atari's policy, thins to 15 fps, squares to 64 px as
`data import` does, and compares the camera's move (code_effects.view_move) with the held action.
usage: python lab/lam_footage/scroll_source.py GAME [GAME ...] [--seconds 60]"""
import argparse
import random
import sys
from pathlib import Path

import numpy as np
from ale_py import ALEInterface, LoggerMode, roms
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from record_atari import LEFTISH, RIGHTISH, HoldPolicy  # noqa: E402

from genie_play.data.video_import import to_square  # noqa: E402
from genie_play.eval.code_effects import view_move  # noqa: E402

STEP = 4  # 60 fps -> 15 fps, as `data import` thins


def sign_of(action) -> int:
    """-1 for the stick pushed left, +1 right, 0 neither."""
    return -1 if action in LEFTISH else 1 if action in RIGHTISH else 0


def share(x) -> float | None:
    return round(float(np.mean(x)), 2) if len(x) else None


def probe(game: str, seconds: float, seed: int = 0) -> dict:
    """The view's sideways moves in `seconds` of play, against the stick and the move before."""
    ale = ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path(game))
    policy = HoldPolicy(random.Random(seed))
    frames, pushes = [], []
    push = 0
    for i in range(int(seconds * 60)):
        if ale.game_over():
            ale.reset_game()
        a = policy()
        push += sign_of(a)
        ale.act(a)
        if i % STEP == 0:
            frames.append(to_square(Image.fromarray(ale.getScreenRGB()), 64))
            pushes.append(np.sign(push))
            push = 0
    moves = np.array([view_move(a, b)[0] for a, b in zip(frames, frames[1:])])
    push = np.array(pushes[1:])
    moving = moves != 0
    held = moving & (push != 0)
    prev = moving[1:] & moving[:-1]
    return {"game": game, "transitions": len(moves), "view_moves": share(moving),
            "mean_abs_px": share(np.abs(moves[moving])), "right_share": share(moves[moving] > 0),
            # the view moves the way the stick pushes (the camera follows the player's move)
            "agrees_with_stick": share(np.sign(moves[held]) == push[held]),
            "same_as_last": share(np.sign(moves[1:][prev]) == np.sign(moves[:-1][prev]))}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("games", nargs="+")
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    ALEInterface.setLoggerMode(LoggerMode.Error)
    for g in args.games:
        print(probe(g, args.seconds), flush=True)
