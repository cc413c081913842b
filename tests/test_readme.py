"""The README is the contract: its two commands exist, and CI runs exactly its test command."""

import re
import subprocess
from pathlib import Path

from genie_play.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _test_command() -> str:
    after = README.split("<!-- test-command", 1)[1]
    return next(line for line in after.splitlines() if line.startswith("python3 "))


def test_ci_runs_the_readme_test_command():
    script = ROOT / ".ci" / "run"
    extracted = subprocess.run(
        ["bash", "-c", "awk '/<!-- test-command/ {found=1; next} found && /^python3 / {print; exit}' README.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert extracted == _test_command()
    assert "awk '/<!-- test-command/" in script.read_text()


def test_both_commands_install_pinned_torch_first():
    play = next(line for line in README.splitlines() if line.startswith("python3 ") and line.endswith("genie-play"))
    for command in (play, _test_command()):
        assert command.index("pip install torch==2.13.0") < command.index("pip install -e")
    assert _test_command().endswith("python -m pytest")


def test_readme_documents_every_command():
    for command in COMMANDS:
        assert re.search(rf"`genie-play {command}\b", README), command
    for words in ("data generate", "data import", "data preview", "--version"):
        assert f"genie-play {words}" in README


def test_the_readme_headless_examples_run_verbatim_on_the_shipped_weights(tmp_path, monkeypatch):
    """Every `genie-play play ... --headless` line of the README, with its picture made up."""
    import shlex

    from PIL import Image

    from genie_play.cli import main
    from genie_play.paths import default_prompt

    lines = [line.split("#")[0].strip() for line in README.splitlines()
             if line.startswith("genie-play play ") and "--headless" in line and "--weights" not in line]
    assert lines, "the README shows headless play"
    monkeypatch.chdir(tmp_path)
    for line in lines:
        args = shlex.split(line)[1:]
        Image.open(default_prompt()).convert("RGB").save(tmp_path / args[1])  # the picture the line names
        assert main(args) == 0, line
        out = tmp_path / args[args.index("--out") + 1]
        with Image.open(out) as gif:
            keys = args[args.index("--keys") + 1]
            assert gif.n_frames > len(keys.split()), line  # the prompt plus one frame per key
