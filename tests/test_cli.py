import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from genie_play import __version__, cli
from genie_play.cli import build_parser, main

SUBCOMMAND_FLAGS = {
    ("play",): ["IMAGE", "--weights", "--keymap", "--device", "--headless", "--keys", "--out"],
    ("data", "generate"): ["--out", "--episodes", "--frames", "--size", "--seed", "--workers", "--split"],
    ("data", "import"): ["PATH", "--out", "--size", "--frames", "--fps"],
    ("data", "preview"): ["DIR", "--out", "--clips", "--seed"],
    ("train",): ["lam,dynamics,character,all", "--data", "--out", "--preset", "--steps", "--resume", "--set", "--lam"],
    ("eval",): ["--weights", "--data", "--out"],
    ("bench",): ["--weights", "--device", "--json", "--steps", "--curve", "--data", "--threads"],
}
# Flags of the token world, gone with it.
GONE_FLAGS = {
    ("play",): ["--prompt-carry", "--nearby"],
    ("train",): ["--tokenizer", "tokenizer,"],
    ("bench",): ["--nocache-steps"],
}

def test_console_script_is_declared():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("genie-play") == "genie_play.cli:main"


def test_version_from_a_real_process():
    out = subprocess.run([sys.executable, "-m", "genie_play", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"genie-play {__version__}"


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for command in cli.COMMANDS:
        assert f"    {command} " in text


@pytest.mark.parametrize("words, flags", SUBCOMMAND_FLAGS.items(), ids=" ".join)
def test_each_subcommand_help_describes_its_interface(words, flags, capsys):
    with pytest.raises(SystemExit) as e:
        main([*words, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: genie-play {' '.join(words)}")
    for flag in flags:
        assert flag in text, flag
    for flag in GONE_FLAGS.get(words, []):
        assert flag not in text, flag


@pytest.mark.parametrize("argv", [
    ["play", "--prompt-carry"], ["play", "--nearby", "0.1"], ["bench", "--nocache-steps", "2"],
    ["train", "tokenizer", "--data", "d", "--out", "o"],
    ["train", "dynamics", "--data", "d", "--out", "o", "--tokenizer", "t.safetensors"],
])
def test_the_token_worlds_flags_are_refused_by_argparse(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err or "invalid choice: 'tokenizer'" in err


def test_user_error_from_a_real_process_has_no_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "genie_play", "train", "all", "--data", "d", "--out", "r", "--set", "tokenizer.bands=5"],
        capture_output=True, text=True,
    )
    assert out.returncode == 2
    assert out.stderr == ("genie-play: error: config: image_size 64 must be a multiple of 16 and split into "
                          "tokenizer.bands (5) bands of whole block rows\n")


def test_bad_flags_are_usage_errors(capsys):
    for argv in (["data", "generate", "--episodes", "3"], ["train", "lam", "--data", "d", "--out", "o", "--preset", "huge"],
                 ["data", "generate", "--out", "d", "--episodes", "many"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_headless_needs_keys_and_out(capsys):
    assert main(["play", "--headless"]) == 2
    assert "--headless needs --keys SEQ and --out FILE" in capsys.readouterr().err


def test_ctrl_c_exits_130_without_traceback(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_bench", interrupted)
    assert main(["bench"]) == 130
    assert capsys.readouterr().err == "genie-play: interrupted\n"


def test_real_bugs_keep_their_traceback(monkeypatch):
    def broken(args):
        raise ValueError("a bug")

    monkeypatch.setattr(cli, "cmd_eval", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["eval", "--weights", "w", "--data", "d", "--out", "o"])


def test_parser_defaults_come_from_the_config():
    from genie_play.config import GenieConfig

    args = build_parser().parse_args(["data", "generate", "--out", "d", "--episodes", "1"])
    assert args.size == GenieConfig().image_size
