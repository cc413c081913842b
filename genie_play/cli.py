"""The `genie-play` command: argument parsing only; each subcommand hands off to its package.

`genie-play` with no subcommand (or with an image path first) means `genie-play play`.
User mistakes (GenieError) print one line and exit 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

from genie_play import __version__
from genie_play.config import GenieConfig
from genie_play.errors import EXIT_SOME_SKIPPED, EXIT_USER_ERROR, GenieError
from genie_play.presets import PRESETS

COMMANDS = ("play", "data", "train", "eval", "bench")
DEFAULT_SIZE = GenieConfig().image_size
DEFAULT_CLIP = GenieConfig().context_frames


# --- subcommand handlers (each imports its package lazily, so `--help` stays instant) ---------


def cmd_play(args: argparse.Namespace) -> int:
    if args.headless and not (args.keys and args.out):
        raise GenieError("play --headless needs --keys SEQ and --out FILE")
    from genie_play.app.main import PlayOptions, play

    return play(PlayOptions(
        image=args.image, weights=args.weights, keymap=args.keymap, device=args.device, seed=args.seed,
        maskgit_steps=args.maskgit_steps, temperature=args.temperature, headless=args.headless,
        keys=args.keys, out=args.out, scale=args.scale, predictive=not args.no_predict, threads=args.threads,
    ))


def cmd_data(args: argparse.Namespace) -> int:
    if args.data_command == "generate":
        from genie_play.data.generate import GenerateSpec, generate

        spec = GenerateSpec(args.out, args.episodes, args.frames, args.size, args.seed, args.split)
        generate(spec, workers=args.workers)
    elif args.data_command == "import":
        from genie_play.data.video_import import import_paths

        summary = import_paths(args.paths, args.out, size=args.size, frames=args.frames, fps=args.fps)
        if summary["skipped"]:  # the good files are in; the exit code still says not everything was
            return EXIT_SOME_SKIPPED
    else:
        from genie_play.data.preview import write_preview

        write_preview(args.dir, args.out, clips=args.clips, seed=args.seed)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from genie_play.presets import resolve_config
    from genie_play.train.lam_training import RunOptions
    from genie_play.recipe import NETWORKS, train_networks

    networks = NETWORKS if args.network == "all" else (args.network,)
    shortcuts = {"train.lr": args.lr}
    for network in networks:  # --steps and --batch set the trained networks' own fields
        if network == "character":  # two networks, each with its own fixed batch
            shortcuts.update({"train.detector_steps": args.steps, "train.mover_steps": args.steps})
            continue
        shortcuts.update({f"train.{network}_steps": args.steps, f"train.{network}_batch": args.batch})
    overrides = [*args.set, *(f"{k}={v}" for k, v in shortcuts.items() if v is not None)]
    config = resolve_config(args.preset, overrides)  # a bad preset or --set is reported before anything runs
    minutes = args.minutes
    if args.videos and minutes is None and args.steps is None:
        minutes = config.train.footage_lam_minutes
    opts = RunOptions(
        network=args.network, data=args.data and Path(args.data), out=Path(args.out), device=args.device, resume=args.resume,
        lam=args.lam and Path(args.lam),
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every, compile=args.compile,
        minutes=minutes, init=args.init and Path(args.init), videos=tuple(map(Path, args.videos or ())),
    )
    if opts.videos and (opts.data or opts.network != "all"):
        raise GenieError("--videos is for `train all` without --data: it imports the footage into --out/data itself")
    train_networks(config, opts)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from genie_play.eval.evaluate import EvalOptions, evaluate

    probe = Path(args.probe_data) if args.probe_data else None
    opts = EvalOptions(Path(args.weights), Path(args.data), Path(args.out), device=args.device, clips=args.clips,
                       lam_clips=args.lam_clips, probe_data=probe, probe_steps=args.probe_steps,
                       rollout_steps=args.rollout_steps, maskgit_steps=args.maskgit_steps, seed=args.seed)
    result = evaluate(opts)
    shown = ["tokenizer_psnr", "tokenizer_ssim", "tokenizer_sharpness_ratio", "tokenizer_carry_share", "tokenizer_copy_psnr",
             "lam_code_usage", "lam_nmi", "lam_purity",
             "action_ceiling_nmi", "action_probe_nmi", "action_probe_accuracy", "lam_nmi_vs_probe",
             "dynamics_psnr", "dynamics_psnr_8", "dynamics_psnr_8_stderr", "dynamics_delta_psnr", "rollout_sharpness_ratio",
             "rollout_found_sharpness_ratio", "rollout_found_share", "rollout_frozen_fraction",
             "rollout_sketch_sharpness_ratio", "rollout_sketch_found_sharpness_ratio", "rollout_sketch_frozen_fraction",
             "dynamics_probe_agreement",
             # picture survival (eval/survival.py): the real ceiling, then the bundled and own pictures
             "player_box_psnr_8", "kept_real_1", "kept_real_8", "kept_1_prompts", "kept_8_prompts", "kept_1_own",
             "kept_8_own", "px_per_step_prompts", "px_per_step_own", "new_strip_sharpness_prompts",
             "new_strip_sharpness_own", "kept_1_heldout", "kept_8_heldout", "px_per_step_heldout",
             "new_strip_sharpness_heldout", "opposite_right_left", "opposite_down_up",
             # the character (world/character.py), where the world has one
             "character_on_player", "character_found_prompts", "character_found_own", "jump_lifts_prompts",
             "jump_lifts_own"]
    for key in shown:
        if result.get(key) is not None:  # kept_k is None where no patch can stay in view (small frames)
            print(f"{key:28s} {result[key]:.4f}")
    if result.get("survival_key", "right") != "right":  # footage whose keymap binds no right
        print(f"{'kept_k and px_per_step hold':28s} {result['survival_key']} (code {result['survival_right_code']})")
    for c in range(result.get("lam_codes", 0)):  # the code -> true action table, when the data has true actions
        if result.get(f"lam_code{c}_action") is not None:
            print(f"lam code {c}: {result[f'lam_code{c}_action']:12s} share {result[f'lam_code{c}_share']:.3f}  "
                  f"purity {result[f'lam_code{c}_purity']:.3f}")
    for c in range(result.get("lam_codes", 0)):  # what each code does in the held-out clips, read from the pixels
        effect = result.get(f"lam_code{c}_effect")
        if effect:
            print(f"lam code {c} on screen: {effect['name']:22s} view {effect['view_px'][0]:+.1f},{effect['view_px'][1]:+.1f} px  "
                  f"sprite {effect['sprite_px'][0]:+.1f},{effect['sprite_px'][1]:+.1f} px  ({effect['transitions']} transitions)")
    for c in range(result.get("lam_codes", 0)):  # what holding each latent action does on screen, in pixels
        if f"action{c}_scroll_px" in result:
            reads = result.get(f"dynamics_code{c}_reads")
            print(f"action {c} held 8 steps: the view moves {result[f'action{c}_scroll_px']:+4d} px"
                  + (f"; the probe reads {reads} ({result[f'dynamics_code{c}_reads_share']:.0%})" if reads else ""))
    print(f"wrote {Path(args.out) / 'metrics.json'} and {Path(args.out) / 'report.html'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from genie_play.bench.latency import BenchOptions, format_table, run_bench
    from genie_play.io import check_can_write, write_json

    if args.json:
        check_can_write(args.json)  # a bad --json path is refused now, not after the benchmark
    curve = _int_list("--curve", args.curve, "MaskGIT step counts", "1,2,4,8")
    env_batches = _int_list("--env-batches", args.env_batches, "batch sizes", "1,8,32")
    opts = BenchOptions(
        weights=args.weights and Path(args.weights), device=args.device, steps=args.steps,
        prompt=args.prompt and Path(args.prompt), maskgit_steps=args.maskgit_steps,
        threads=args.threads, seed=args.seed, curve=curve, data=args.data and Path(args.data),
        env_batches=env_batches, env_steps=args.env_steps, log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if args.window:
        from genie_play.bench.window import WindowBenchOptions, format_window_table, run_window_bench

        result = run_window_bench(WindowBenchOptions(
            weights=opts.weights, prompt=opts.prompt, keymap=args.keymap and Path(args.keymap), presses=args.presses,
            extra_args=("--maskgit-steps", str(args.maskgit_steps)) if args.maskgit_steps else (), log=opts.log))
        print(format_window_table(result))
    elif args.soak is not None:
        from genie_play.bench.soak import format_soak, run_soak

        result = run_soak(opts, args.soak)
        print(format_soak(result))
    elif args.env:
        from genie_play.bench.env import format_env_table, run_env_bench

        result = run_env_bench(opts)
        print(format_env_table(result))
    else:
        result = run_bench(opts)
        print(format_table(result))
    if args.json:
        write_json(Path(args.json), result)
        print(f"wrote {args.json}")
    return 0


def _int_list(flag: str, text: str, what: str, example: str) -> tuple[int, ...]:
    """'1,8,32' -> (1, 8, 32); anything else, or a value below 1, is a one-line error."""
    try:
        values = tuple(int(v) for v in text.split(",")) if text else ()
    except ValueError:
        raise GenieError(f"{flag} {text}: expected {what} like {example}") from None
    if any(v < 1 for v in values):
        raise GenieError(f"{flag} {text}: {what} must be at least 1")
    return values


# --- the parser -------------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got '{text}'")
    return value


def _add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device", default="auto", metavar="{auto,cpu,cuda,cuda:N,mps}",
        help="where the networks run; auto = CUDA if present, else MPS, else CPU (default: auto)",
    )


def _add_weights(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument(
        "--weights", metavar="DIR", required=required,
        help="folder with tokenizer/lam/dynamics .safetensors" + ("" if required else " (default: the shipped models/)"),
    )


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="genie-play",
        formatter_class=fmt,
        description="Play a picture: a learned world model (Genie) turns each keypress into the next frame.",
        epilog=(
            "examples:\n"
            "  genie-play                          play the bundled default prompt\n"
            "  genie-play my_drawing.png           play your own picture\n"
            "  genie-play data generate --out data/world --episodes 1000\n"
            "  genie-play train all --data data/world --out runs/default\n"
            "  genie-play bench --json bench.json\n\n"
            "Run `genie-play COMMAND --help` for each command's options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"genie-play {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "play", formatter_class=fmt, help="play a picture in a window (the default command)",
        description="Open the game window on a picture and play it with the keyboard.\n"
        "With --headless, play a scripted key sequence without a window and write the frames.",
    )
    p.add_argument("image", nargs="?", metavar="IMAGE", help="prompt image (default: the bundled default prompt)")
    _add_weights(p)
    p.add_argument("--keymap", metavar="FILE", help="TOML keymap: latent action code -> key and label "
                   "(default: your saved keymap, else models/keymap.toml)")
    _add_device(p)
    p.add_argument("--headless", action="store_true", help="no window: play --keys and write --out")
    p.add_argument("--keys", metavar="SEQ", help="headless key sequence: keymap labels or key names, "
                   "e.g. 'right right jump' or 'right*5,jump left' (commas allow labels with spaces)")
    p.add_argument("--out", metavar="FILE", help="headless output: a .gif/.mp4, or a folder of PNG frames")
    p.add_argument("--scale", metavar="K", type=int, default=1,
                   help="headless output: upscale frames K times with crisp pixels (default: 1)")
    p.add_argument("--seed", metavar="S", type=int, default=0,
                   help="random seed of the sampler; same seed, same rollout (default: 0)")
    p.add_argument("--maskgit-steps", metavar="N", type=int,
                   help="MaskGIT decoding steps per frame (default: the model's; adjustable live with [ and ])")
    p.add_argument("--temperature", metavar="T", type=float,
                   help="sampling temperature of what scrolls in, 0 = greedy (default: the model's; adjustable "
                   "live with - and =)")
    p.add_argument("--no-predict", action="store_true",
                   help="do not precompute every action's next frame while idle, and start with the action "
                   "explorer hidden (Tab shows it; saves CPU; keypresses wait for the model)")
    p.add_argument("--threads", metavar="N", type=int, help="torch CPU threads for the model (default: torch's choice "
                   "for a keypress, and in the window all cores but one for previews, so the window keeps a core)")
    p.set_defaults(func=cmd_play)

    p = sub.add_parser("data", help="make training data: generate, import, preview",
                       description="Training data: shards of uint8 video frames with per-shard metadata.")
    data_sub = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)
    d = data_sub.add_parser("generate", help="record gameplay video of the built-in procedural platformer",
                            description="Generate unlabeled gameplay video of the built-in platformer world "
                            "(true actions are stored for evaluation only).")
    d.add_argument("--out", metavar="DIR", required=True, help="folder for the shards")
    d.add_argument("--episodes", metavar="N", type=int, required=True, help="number of episodes (clips) to record")
    d.add_argument("--frames", metavar="T", type=int, default=64, help="frames per episode (default: 64)")
    d.add_argument("--size", metavar="PX", type=int, default=DEFAULT_SIZE,
                   help=f"frame width and height in pixels (default: {DEFAULT_SIZE})")
    d.add_argument("--seed", metavar="S", type=int, default=0, help="random seed; same seed, same data (default: 0)")
    d.add_argument("--workers", metavar="K", type=int, default=1, help="parallel worker processes (default: 1)")
    d.add_argument("--split", choices=("train", "heldout"), default="train",
                   help="style families to draw from: train, or the held-out ones kept for evaluation (default: train)")
    d.set_defaults(func=cmd_data)
    d = data_sub.add_parser("import", help="import your own videos, GIFs or frame folders",
                            description="Import video files, GIFs or folders of frames into training shards.")
    d.add_argument("paths", nargs="+", metavar="PATH", help="video files, GIFs or folders of frames")
    d.add_argument("--out", metavar="DIR", required=True, help="folder for the shards")
    d.add_argument("--size", metavar="PX", type=int, default=DEFAULT_SIZE,
                   help=f"frame width and height in pixels (default: {DEFAULT_SIZE})")
    d.add_argument("--frames", metavar="T", type=int, default=DEFAULT_CLIP,
                   help=f"frames per clip; each video is cut into clips of T frames (default: {DEFAULT_CLIP})")
    d.add_argument("--fps", metavar="F", type=float, default=15.0,
                   help="keep about F frames per second of faster videos, like the built-in world (default: 15; 0 keeps all)")
    d.set_defaults(func=cmd_data)
    d = data_sub.add_parser("preview", help="write a contact sheet of a data folder",
                            description="Write an image or GIF showing sample clips of a data folder.")
    d.add_argument("dir", metavar="DIR", help="data folder")
    d.add_argument("--out", metavar="FILE", required=True, help="output .png (contact sheet) or .gif (animated grid)")
    d.add_argument("--clips", metavar="N", type=int, default=16, help="number of random clips to show (default: 16)")
    d.add_argument("--seed", metavar="S", type=int, default=0, help="which random clips (default: 0)")
    d.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train the latent action model, the dynamics model, the character, or the whole world",
                       description="Train the latent action model, the dynamics model, the character (its detector and "
                       "mover), or all in order (`all`; the tokenizer is a search with nothing to learn). The LAM runs "
                       "the same under `torchrun --nproc_per_node K` for data-parallel training.")
    p.add_argument("network", choices=("lam", "dynamics", "character", "all"), help="what to train")
    p.add_argument("--data", metavar="DIR", help="training shards (from `data generate` or `data import`); "
                   "`all` without it generates the built-in world's data, and evaluates and proposes a keymap at the end")
    p.add_argument("--videos", nargs="+", metavar="PATH", help="`all` from your own footage: videos, GIFs or frame "
                   "folders, imported into --out/data (the end of each held out), then the world, its evaluation, "
                   "a keymap named from what each code does on screen, and a model card")
    p.add_argument("--out", metavar="DIR", required=True, help="run folder: checkpoints, logs, exported weights")
    p.add_argument("--preset", default="default", choices=sorted(PRESETS), help="config preset (default: default)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override one config field, e.g. --set dynamics.d_model=192 (repeatable)")
    p.add_argument("--steps", metavar="N", type=int, help="training steps of each trained network (default: the preset's train.NETWORK_steps)")
    p.add_argument("--batch", metavar="B", type=int, help="global batch size in clips (default: the preset's train.NETWORK_batch)")
    p.add_argument("--lr", metavar="LR", type=float, help="peak learning rate (default: train.lr)")
    p.add_argument("--minutes", metavar="M", type=_positive_float,
                   help="wall-clock budget of the LAM: its length (steps) is set from its measured speed "
                        "so that it ends within M minutes (default: the preset's steps; with --videos and no --steps, "
                        "the preset's train.footage_lam_minutes, 22 in the default)")
    p.add_argument("--init", metavar="FILE", help="start from these weights of the same network (their architecture, "
                   "this run's training settings), e.g. models/dynamics.safetensors to fine-tune on your own video")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--lam", metavar="FILE", help="dynamics and character: trained latent action model weights")
    p.add_argument("--checkpoint-every", metavar="N", type=int, default=500, help="steps between checkpoints (default: 500)")
    p.add_argument("--sample-every", metavar="N", type=int, default=1000,
                   help="steps between sample images in --out/samples, 0 for none (default: 1000)")
    p.add_argument("--compile", action="store_true", help="torch.compile the LAM (faster on GPU after a warm-up)")
    _add_device(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="measure trained weights the paper's way; writes metrics.json and a report",
                       description="Evaluate the tokenizer (its ceiling: PSNR, SSIM), the LAM (NMI, purity) and the "
                       "dynamics (rollout PSNR, controllability, picture survival) on held-out clips. Writes "
                       "DIR/metrics.json and a report.")
    _add_weights(p, required=True)
    p.add_argument("--data", metavar="DIR", required=True, help="held-out shards")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for metrics.json and the report")
    p.add_argument("--clips", metavar="N", type=int, default=16,
                   help="held-out clips for the tokenizer and the rollouts (default: 16)")
    p.add_argument("--lam-clips", metavar="N", type=int, default=256,
                   help="held-out clips for the LAM's NMI and the action ceiling (default: 256)")
    p.add_argument("--probe-data", metavar="DIR", help="labelled training clips of the built-in world: trains the "
                   "inverse-dynamics probe (the pixels' ceiling) and scores it on --data")
    p.add_argument("--probe-steps", metavar="N", type=int, default=600, help="training steps of the probe (default: 600)")
    p.add_argument("--rollout-steps", metavar="N", type=int, default=200,
                   help="length of the random-action stability rollout (default: 200)")
    p.add_argument("--maskgit-steps", metavar="N", type=int, help="MaskGIT steps per frame (default: the weights' own)")
    p.add_argument("--seed", metavar="S", type=int, default=0, help="seed for rollouts and random actions (default: 0)")
    _add_device(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="measure play latency per keypress; prints a table and writes JSON",
                       description="Benchmark play: time per keypress (p50/p95), FPS, previews, memory.")
    _add_weights(p)
    _add_device(p)
    p.add_argument("--steps", metavar="N", type=int, default=200, help="timed keypresses (default: 200)")
    p.add_argument("--prompt", metavar="IMAGE", help="picture to start from (default: the bundled default prompt)")
    p.add_argument("--maskgit-steps", metavar="N", type=int, help="MaskGIT steps per frame (default: the weights' own)")
    p.add_argument("--threads", metavar="N", type=int, help="torch CPU threads (default: what the window gives a keypress, torch's choice)")
    p.add_argument("--seed", metavar="S", type=int, default=0, help="seed for actions and sampling (default: 0)")
    p.add_argument("--curve", metavar="LIST", help="also sweep MaskGIT steps, e.g. 1,2,4,8,16,25: latency "
                   "(and ΔtPSNR with --data) for each")
    p.add_argument("--data", metavar="DIR", help="held-out clips for the curve's ΔtPSNR")
    p.add_argument("--env", action="store_true", help="instead: steps/s of the batched Gymnasium environment "
                   "(needs the env extra)")
    p.add_argument("--env-batches", metavar="LIST", default="1,8,32", help="worlds per batch for --env (default: 1,8,32)")
    p.add_argument("--env-steps", metavar="N", type=int, default=30, help="timed batched steps per batch size "
                   "for --env (default: 30)")
    p.add_argument("--window", action="store_true", help="instead: the real window, driven from outside with X "
                   "key events (XTest) on Xvfb or $DISPLAY: keypress -> pixels latency with and without predictive "
                   "rendering, held-key FPS, idle CPU (needs Linux, Xvfb and the window extra)")
    p.add_argument("--presses", metavar="N", type=int, default=30, help="timed keypresses per mode for --window "
                   "(default: 30)")
    p.add_argument("--keymap", metavar="FILE", help="keymap for --window (default: the weights' keymap)")
    p.add_argument("--soak", metavar="N", type=int, help="instead: play N random moves (steps, previews, undo, "
                   "reset) and report memory at start/end and the undo history's length")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON (flat keys)")
    p.set_defaults(func=cmd_bench)
    return parser


def _default_to_play(argv: list[str]) -> list[str]:
    """`genie-play` and `genie-play IMAGE [flags]` are short for `genie-play play ...`."""
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        return ["play", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    try:  # parsing too: Ctrl-C is one line at any point, not a traceback
        argv = _default_to_play(list(sys.argv[1:] if argv is None else argv))
        args = build_parser().parse_args(argv)
        return args.func(args)
    except GenieError as e:
        print(f"genie-play: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("genie-play: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
