"""Train an agent inside the learned world, then let it play the real game: does the dream transfer?

    python -m genie_play.env.dream_agent --timesteps 20000 --out runs/dream_agent

1. Prompts: first frames of real levels of the built-in platformer (data/game.py).
2. Dream: PPO (stable-baselines3) on GenieVectorEnv, reward = the example scroll_reward (progress
   to the right, read off the frames). The agent only ever sees generated frames.
3. Bridge: the agent speaks latent actions, the real game its own. The LAM labels random real play;
   each latent action maps to the real action it most often labels (the code -> action table).
4. Scores, trained agent vs random agents, in the dream (scroll reward) and in the real game
   (tiles travelled right, the same scroll reward, and how many episodes it survived).
Writes DIR/results.json and the policy's weights (DIR/policy.safetensors).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from genie_play.data.game import ACTIONS, Platformer
from genie_play.env.common import EnvConfig, load_world
from genie_play.env.rewards import horizontal_scroll
from genie_play.env.vector_env import GenieVectorEnv
from genie_play.errors import GenieError
from genie_play.eval import metrics as M
from genie_play.io import atomic_path, write_json
from genie_play.world.world_model import WorldModel

TRAIN_LEVELS, CALIBRATION_LEVELS, EVAL_LEVELS = 1000, 3000, 5000  # disjoint level seeds for each use


@dataclass
class DreamAgentOptions:
    out: Path = Path("runs/dream_agent")
    weights: str | None = None  # None: the shipped world
    device: str = "auto"
    timesteps: int = 20_000  # PPO samples, all of them dreamed
    max_minutes: float = 0.0  # stop training early after this long (0: no limit)
    policy: Path | None = None  # start from these policy weights (a policy.safetensors); with timesteps 0, only evaluate
    worlds: int = 8  # dream worlds stepped in one batch
    episode_steps: int = 64
    eval_episodes: int = 32
    prompts: int = 64  # real level starts the dream episodes begin from
    seed: int = 0
    log: object = field(default=print, repr=False)


def real_starts(count: int, first_seed: int, size: int) -> list[np.ndarray]:
    """The first frame of `count` real levels, each from a random safe spot (as in the training clips)."""
    return [Platformer(seed=first_seed + i, size=size).reset(anywhere=True) for i in range(count)]


@torch.inference_mode()
def latent_to_real(world: WorldModel, clips: int = 48, length: int = 16, seed: int = CALIBRATION_LEVELS) -> tuple[np.ndarray, np.ndarray]:
    """For each latent action, the real action the LAM most often gives that name (and the counts)."""
    if world.lam is None:
        raise GenieError("the dream agent needs lam.safetensors to translate latent actions into real ones")
    rng, videos, actions = np.random.default_rng(seed), [], []
    for i in range(clips):
        game = Platformer(seed=seed + i, size=world.config.image_size)
        frames, taken = [game.reset(anywhere=True)], rng.integers(len(ACTIONS), size=length - 1)
        for a in taken:
            frames.append(game.step(int(a))[0])
        videos.append(np.stack(frames))
        actions.append(taken)
    codes = world.lam.infer_actions(torch.from_numpy(np.stack(videos)).to(world.device)).cpu()  # (clips, length-1)
    table = M.contingency(codes, torch.from_numpy(np.stack(actions)), world.num_actions, len(ACTIONS))
    mapping = table.argmax(1).numpy()
    mapping[table.sum(1).numpy() == 0] = ACTIONS.index("idle")  # a code the LAM never uses does nothing
    return mapping, table.numpy()


def dream_scores(world: WorldModel, choose, prompts: list[np.ndarray], episodes: int, steps: int, seed: int) -> np.ndarray:
    """Scroll-reward return of each of `episodes` dream episodes; choose(obs (B, H, W, 3)) -> latent actions (B,)."""
    env = GenieVectorEnv(episodes, world=world, prompts=prompts, max_episode_steps=steps)
    obs, _ = env.reset(seed=seed)  # the same seed gives every agent the same prompts and random streams
    returns = np.zeros(episodes)
    for _ in range(steps):
        obs, rewards, _, _, _ = env.step(choose(obs))
        returns += rewards
    return returns


def real_scores(choose, mapping: np.ndarray | None, count: int, steps: int, size: int) -> dict[str, np.ndarray]:
    """Play `count` real levels in lockstep; choose(obs) gives latent actions, or real ones if mapping is None."""
    games = [Platformer(seed=EVAL_LEVELS + i, size=size) for i in range(count)]
    frames = np.stack([g.reset(anywhere=True) for g in games])
    start = np.array([g.x for g in games])
    scroll, alive, chosen = np.zeros(count), np.ones(count, bool), []
    for _ in range(steps):
        actions = choose(frames)
        chosen.extend(int(actions[i]) for i in np.flatnonzero(alive))
        for i in np.flatnonzero(alive):
            real = int(actions[i]) if mapping is None else int(mapping[actions[i]])
            frame, _, done, _ = games[i].step(real)
            scroll[i] += horizontal_scroll(frames[i], frame)
            frames[i], alive[i] = frame, not done
    progress = np.array([g.x for g in games]) - start
    survived = np.array([not g.done or g.reason == "goal" for g in games])
    return {"tiles_right": progress, "scroll": scroll, "survived": survived, "actions": np.array(chosen)}


def run(opts: DreamAgentOptions) -> dict:
    try:
        from stable_baselines3 import PPO
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.vec_env import VecMonitor

        from genie_play.env.sb3 import SB3VecEnv
    except ImportError as e:
        raise GenieError(f"the dream agent needs stable-baselines3: pip install 'genie_play[rl]' ({e})") from None
    log, config = opts.log, EnvConfig(weights=opts.weights, device=opts.device, max_episode_steps=opts.episode_steps)
    world = load_world(config)
    size = world.config.image_size
    mapping, table = latent_to_real(world)
    log("latent action -> real action: " + ", ".join(f"{c}:{ACTIONS[a]}" for c, a in enumerate(mapping)))

    env = GenieVectorEnv(opts.worlds, config, world=world, prompts=real_starts(opts.prompts, TRAIN_LEVELS, size))
    venv = VecMonitor(SB3VecEnv(env))
    venv.seed(opts.seed)
    network = "CnnPolicy" if size >= 36 else "MlpPolicy"  # SB3's NatureCNN needs frames of at least 36 px
    model = PPO(network, venv, n_steps=128, batch_size=256, n_epochs=4, learning_rate=2.5e-4, ent_coef=0.01,
                seed=opts.seed, device=world.device, verbose=1)
    log(f"training PPO for {opts.timesteps} dreamed steps on {opts.worlds} worlds ({world.device})")
    t = time.perf_counter()

    class Deadline(BaseCallback):  # SB3 stops learn() when a callback's _on_step returns False
        def _on_step(self) -> bool:
            return not opts.max_minutes or time.perf_counter() - t < 60 * opts.max_minutes

    if opts.policy is not None:
        from safetensors.torch import load_model

        try:
            load_model(model.policy, str(opts.policy), device=str(world.device))
        except (OSError, RuntimeError) as e:
            raise GenieError(f"{opts.policy}: not a policy of this agent ({str(e).splitlines()[0]})") from None
    if opts.timesteps:
        model.learn(total_timesteps=opts.timesteps, callback=Deadline())
    train_s = time.perf_counter() - t

    rng = np.random.default_rng(opts.seed)
    dreamers = {  # agents that choose latent actions: they play the dream, and the real game through `mapping`
        "ppo": lambda obs: model.predict(obs, deterministic=False)[0],
        "random": lambda obs: rng.integers(world.num_actions, size=len(obs)),
    }
    real_only = {  # agents that choose real actions: references for the real game
        "random_real_actions": lambda obs: rng.integers(len(ACTIONS), size=len(obs)),
        "always_right": lambda obs: np.full(len(obs), ACTIONS.index("right")),  # scripted
    }
    eval_prompts = real_starts(opts.eval_episodes, EVAL_LEVELS, size)
    result: dict = {"options": {k: str(v) for k, v in asdict(opts).items() if k != "log"},
                    "device": str(world.device), "train_s": train_s, "timesteps_trained": model.num_timesteps,
                    "dream_steps_per_s": model.num_timesteps / train_s,
                    "latent_to_real": [ACTIONS[a] for a in mapping], "calibration_table": table.tolist()}
    for name, choose in dreamers.items():
        returns = dream_scores(world, choose, eval_prompts, opts.eval_episodes, opts.episode_steps, opts.seed)
        result[f"dream_{name}_scroll"] = _mean_sd(returns)
        log(f"dream, {name}: scroll reward {returns.mean():.1f} ± {returns.std():.1f} px per episode")
    A = world.num_actions
    held = dream_scores(world, lambda obs: np.arange(len(obs)) % A, eval_prompts, A * max(1, opts.eval_episodes // A),
                        opts.episode_steps, opts.seed)
    for c in range(A):  # what the dream offers: the scroll of each latent action held down
        result[f"dream_hold_code{c}_scroll"] = _mean_sd(held[c::A])
    log("dream, each latent action held: " + ", ".join(f"{c}: {held[c::A].mean():.1f}" for c in range(A)) + " px per episode")
    for name, choose in {**dreamers, **real_only}.items():
        latent = name in dreamers
        s = real_scores(choose, mapping if latent else None, opts.eval_episodes, opts.episode_steps, size)
        result[f"real_{name}_tiles_right"] = _mean_sd(s["tiles_right"])
        result[f"real_{name}_scroll"] = _mean_sd(s["scroll"])
        result[f"real_{name}_survived"] = float(s["survived"].mean())
        if latent:  # which latent actions the agent chose, as shares of its steps
            result[f"real_{name}_code_share"] = (np.bincount(s["actions"], minlength=world.num_actions) / len(s["actions"])).tolist()
        log(f"real game, {name.replace('_', ' ')}: {s['tiles_right'].mean():.1f} ± {s['tiles_right'].std():.1f} tiles right, "
            f"scroll {s['scroll'].mean():.1f} px, survived {s['survived'].mean():.0%}")

    from safetensors.torch import save_model  # shared feature-extractor tensors stored once

    with atomic_path(opts.out / "policy.safetensors") as tmp:
        save_model(model.policy, str(tmp))
    write_json(opts.out / "results.json", result)
    log(f"wrote {opts.out / 'results.json'} and {opts.out / 'policy.safetensors'}")
    return result


def _mean_sd(values: np.ndarray) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "sd": float(np.std(values)), "n": int(len(values))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m genie_play.env.dream_agent", description=__doc__.splitlines()[0])
    d = DreamAgentOptions()
    p.add_argument("--out", default=str(d.out), help=f"where results.json and the policy go (default: {d.out})")
    p.add_argument("--weights", help="world weights folder (default: the shipped models/)")
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    p.add_argument("--policy", help="start from a saved policy.safetensors (with --timesteps 0: evaluate it only)")
    for name in ("timesteps", "max_minutes", "worlds", "episode_steps", "eval_episodes", "prompts", "seed"):
        p.add_argument(f"--{name.replace('_', '-')}", type=type(getattr(d, name)), default=getattr(d, name),
                       help=f"(default: {getattr(d, name)})")
    args = p.parse_args(argv)
    opts = DreamAgentOptions(out=Path(args.out), weights=args.weights, device=args.device, timesteps=args.timesteps,
                             max_minutes=args.max_minutes, policy=args.policy and Path(args.policy), worlds=args.worlds,
                             episode_steps=args.episode_steps, eval_episodes=args.eval_episodes,
                             prompts=args.prompts, seed=args.seed)
    try:
        run(opts)
    except GenieError as e:
        print(f"dream_agent: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
