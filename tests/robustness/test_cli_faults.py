"""The CLI under faults: an output path that cannot be written, a disk that fills up mid-write,
and Ctrl-C at any point of a command. The user sees one line (never a traceback), the exit code
says what happened, and no partial file is ever left behind.

Faults are injected deterministically, in this process:
  * disk full: `open` is wrapped so that the temp file of one named output accepts N bytes and
    then fails with ENOSPC, as a full disk does (the atomic writer's own code runs unchanged);
  * Ctrl-C: a sys.settrace hook raises KeyboardInterrupt at the Nth Python function call, which
    is where a real Ctrl-C surfaces; one counting run picks points spread over the whole command
    plus points inside and just after each file write.
One test sends a real SIGINT to a real `data generate --workers 2` process group, as a terminal does.
"""

import builtins
import errno
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from conftest import save_tiny_world
from genie_play import io as genie_io
from genie_play.cli import main
from genie_play.data import video_import
from genie_play.data.shards import open_shard
from robustness.registry import case, register

ROOT = Path(__file__).resolve().parents[2]
ATOMIC = genie_io.atomic_path.__wrapped__.__code__  # every file genie_play writes goes through it
MKSTEMP = tempfile.mkstemp.__code__
GENERATE = ["data", "generate", "--episodes", "8", "--frames", "8", "--size", "16"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny random weights, their keymap and a prompt picture."""
    folder = save_tiny_world(tmp_path_factory.mktemp("world"))
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / "prompt.png")
    return folder


def play_args(world, out, keys="right jump"):
    return ["play", str(world / "prompt.png"), "--weights", str(world), "--keymap", str(world / "keymap.toml"),
            "--headless", "--keys", keys, "--maskgit-steps", "1", "--device", "cpu", "--out", str(out)]


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too) -> its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_only_complete_files(folder: Path) -> None:
    """No temp file, and every file that exists is whole: JSON parses, images decode to the last
    frame, arrays load, every shard has both its files, the report ends."""
    if not folder.exists():
        return
    for p in folder.rglob("*"):
        assert not p.name.endswith(".tmp"), f"temp file left behind: {p}"
        if p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix in (".png", ".gif"):
            with Image.open(p) as im:
                for frame in ImageSequence.Iterator(im):
                    frame.load()
        elif p.suffix == ".npy":
            np.load(p, allow_pickle=False)
            assert p.with_suffix(".json").exists(), f"shard frames without metadata: {p}"
        elif p.suffix == ".html":
            assert p.read_text().endswith("</body>")
        if p.name.startswith("shard-") and p.suffix == ".json":
            open_shard(p, mmap=False)


def no_traceback_one_line(err: str, last: str) -> None:
    assert "Traceback" not in err, err
    assert err.endswith(last + "\n"), err[-500:]


# --- output paths that cannot be written --------------------------------------------------------

def _bench(world, out):
    return ["bench", "--weights", str(world), "--device", "cpu", "--steps", "1", "--json", str(out / "b.json")]


UNWRITABLE = [  # (case, argv maker (world, data, output path under a regular file), the path named)
    (register("CLI", "data generate --out a folder whose parent is a regular file",
              "genie-play: error: FILE/data: cannot write: FILE is a file, not a folder; exit 2"),
     lambda w, d, out: [*GENERATE, "--out", str(out / "data")], "data"),
    (register("CLI", "data import --out under a regular file",
              "the same one line, before any video is decoded; exit 2"),
     lambda w, d, out: ["data", "import", str(d), "--out", str(out / "shards")], "shards"),
    (register("CLI", "data preview --out under a regular file", "the same one line naming FILE/x.png; exit 2"),
     lambda w, d, out: ["data", "preview", str(d), "--out", str(out / "x.png")], "x.png"),
    (register("CLI", "play --headless --out under a regular file",
              "the same one line, before the model loads; exit 2"),
     lambda w, d, out: play_args(w, out / "run.gif"), "run.gif"),
    (register("CLI", "eval --out under a regular file", "the same one line, before any rollout; exit 2"),
     lambda w, d, out: ["eval", "--weights", str(w), "--data", str(d), "--out", str(out / "report"), "--device", "cpu"],
     "report"),
    (register("CLI", "bench --json under a regular file", "the same one line, before the benchmark runs; exit 2"),
     lambda w, d, out: _bench(w, out), "b.json"),
]


@pytest.mark.parametrize("c, argv, name", UNWRITABLE, ids=[c.id for c, *_ in UNWRITABLE])
def test_an_output_under_a_regular_file_is_one_line(c, argv, name, world, generated_data, tmp_path, capsys, monkeypatch):
    decoded = []
    monkeypatch.setattr(video_import, "read_video", lambda *a: decoded.append(a))
    blocker = tmp_path / "FILE"
    blocker.write_text("a file, not a folder")
    before = files(tmp_path)
    assert main(argv(world, generated_data, blocker)) == 2
    err = capsys.readouterr().err
    assert err == f"genie-play: error: {blocker / name}: cannot write: {blocker} is a file, not a folder\n"
    assert files(tmp_path) == before and decoded == []


@case("CLI", "data import --out naming an existing regular file",
      "genie-play: error: FILE: exists and is not a folder; exit 2, before decoding")
def test_import_into_a_regular_file_is_one_line(generated_data, tmp_path, capsys):
    blocker = tmp_path / "FILE"
    blocker.write_text("keep me")
    assert main(["data", "import", str(generated_data), "--out", str(blocker)]) == 2
    assert capsys.readouterr().err == f"genie-play: error: {blocker}: exists and is not a folder\n"
    assert blocker.read_text() == "keep me"


# --- disk full ---------------------------------------------------------------------------------

class _FullDisk(io.FileIO):
    """A file on a disk with `room` bytes left: it takes that much, then fails with ENOSPC."""

    room = 0

    def write(self, data):
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = super().write(memoryview(data).cast("B")[: self.room])
        self.room -= written
        return written

    def fileno(self):  # writers that would bypass write() (Pillow's encoders) fall back to it
        raise io.UnsupportedOperation("fileno")


def disk_fills_while_writing(monkeypatch, name: str, room: int = 64) -> None:
    """The disk fills up `room` bytes into writing `name` (that is, its atomic temp file)."""
    real_open = builtins.open
    temp = re.compile(rf"\.{re.escape(name)}\..+\.tmp")

    def open_(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
        if "w" in mode and isinstance(file, (str, os.PathLike)) and temp.fullmatch(os.path.basename(file)):
            raw = _FullDisk(file, "w+" if "+" in mode else "w")
            raw.room = room
            buffered = io.BufferedRandom(raw) if "+" in mode else io.BufferedWriter(raw)
            return buffered if "b" in mode else io.TextIOWrapper(buffered, encoding or "utf-8", errors, newline)
        return real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)

    monkeypatch.setattr(builtins, "open", open_)


@case("CLI", "the disk fills up while play --headless rewrites an earlier GIF",
      "one line: genie-play: error: run.gif: cannot write: No space left on device; exit 2; "
      "the earlier run.gif and run.json are untouched, no temp file")
def test_disk_full_keeps_the_previous_recording(world, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run.gif"
    assert main(play_args(world, out)) == 0
    before = files(tmp_path)
    capsys.readouterr()
    disk_fills_while_writing(monkeypatch, "run.gif")
    assert main(play_args(world, out, keys="left left jump")) == 2
    err = capsys.readouterr().err
    no_traceback_one_line(err, f"genie-play: error: {out}: cannot write: No space left on device")
    assert files(tmp_path) == before  # same files, same bytes: the old recording is intact


@case("CLI", "the disk fills up while data generate writes a shard",
      "one line naming shard-00000.json: No space left on device; exit 2; no half shard; "
      "re-running finishes the same data, byte for byte")
def test_disk_full_in_generate_leaves_no_half_shard(tmp_path, capsys, monkeypatch):
    assert main([*GENERATE, "--out", str(tmp_path / "clean")]) == 0
    with monkeypatch.context() as m:
        disk_fills_while_writing(m, "shard-00000.json")
        assert main([*GENERATE, "--out", str(tmp_path / "full")]) == 2
    err = capsys.readouterr().err
    no_traceback_one_line(err, f"genie-play: error: {tmp_path / 'full' / 'shard-00000.json'}: cannot write: No space left on device")
    assert files(tmp_path / "full") == {}  # neither file of the shard (the frames were written first)
    assert main([*GENERATE, "--out", str(tmp_path / "full")]) == 0  # space freed: run it again
    clean, resumed = files(tmp_path / "clean"), files(tmp_path / "full")
    assert {k: v for k, v in resumed.items() if k != "summary.json"} == {k: v for k, v in clean.items() if k != "summary.json"}


@case("CLI", "the disk fills up while data import adds a shard to a folder",
      "one line naming shard-00001.json; exit 2; the folder's earlier shard is untouched and no half shard is added")
def test_disk_full_in_import_keeps_earlier_shards(generated_data, tmp_path, capsys, monkeypatch):
    gif = [Image.new("RGB", (20, 20), (i * 40, 0, 0)) for i in range(8)]
    gif[0].save(tmp_path / "a.gif", save_all=True, append_images=gif[1:], duration=66)
    out = tmp_path / "shards"
    argv = ["data", "import", str(tmp_path / "a.gif"), "--out", str(out), "--size", "16", "--frames", "8"]
    assert main(argv) == 0
    before = files(out)
    disk_fills_while_writing(monkeypatch, "shard-00001.json")
    assert main(argv) == 2
    no_traceback_one_line(capsys.readouterr().err, f"genie-play: error: {out / 'shard-00001.json'}: cannot write: No space left on device")
    assert files(out) == before


# --- Ctrl-C --------------------------------------------------------------------------------------

class CtrlC:
    """A sys.settrace hook that raises KeyboardInterrupt at one Python function call, as a Ctrl-C
    arriving there would: at call number `at`; or `after` calls into the `write`-th entry of the
    atomic writer (each file write enters it twice: to start, and to commit once written); or at
    the first call after the `temp`-th temp file was created (the narrowest window to leak one)."""

    def __init__(self, at=None, write=None, after=1, temp=None):
        self.at, self.write, self.after, self.temp = at, write, after, temp
        self.calls, self.writes, self.temps, self.fired = 0, [], 0, False

    def __call__(self, frame, event, arg):
        if event == "call":
            self.calls += 1
            if frame.f_code is ATOMIC:
                self.writes.append(self.calls)
                if len(self.writes) == self.write:
                    self.at = self.calls + self.after
            if self.calls == self.at:
                self.fired = True
                raise KeyboardInterrupt
            if frame.f_code is MKSTEMP:
                self.temps += 1
                if self.temps == self.temp:
                    return self._on_return  # trace this one frame to see it return
        return None  # no per-line tracing: cheap

    def _on_return(self, frame, event, arg):
        if event == "return":
            self.at = self.calls + 1
        return self._on_return


def run_traced(argv, hook: CtrlC) -> int:
    import torch

    grad, sigint = torch.is_grad_enabled(), signal.getsignal(signal.SIGINT)
    sys.settrace(hook)
    try:
        return main(argv)
    except KeyboardInterrupt:
        if hook.fired:  # fail this test, not the whole session
            pytest.fail(f"Ctrl-C at call {hook.at} escaped main(): the user would see a traceback")
        raise
    finally:
        sys.settrace(None)
        # An interrupt injected between a context manager's setup and its `with` body (torch.no_grad,
        # generate's "workers ignore Ctrl-C") leaves gradients off or SIGINT ignored; a real Ctrl-C
        # ends the process, here the next tests (and the processes they start) would inherit it.
        torch.set_grad_enabled(grad)
        signal.signal(signal.SIGINT, sigint)


def interrupt_points(argv, folder: Path, temps=False) -> tuple[dict[str, bytes], list[CtrlC]]:
    """A clean run (its files are returned: what a complete run writes; it also does the lazy
    imports, so later runs take the same path) and a counting run, into their own folders. Then
    Ctrl-C at 5 points spread over the command, and in the middle of and just after (before its
    rename) each file write; with `temps`, also just after each temp file is created."""
    assert main(argv(folder / "clean")) == 0
    count = CtrlC()
    assert run_traced(argv(folder / "count"), count) == 0
    points = [CtrlC(at=max(1, int(count.calls * f))) for f in (0.02, 0.25, 0.5, 0.75, 0.98)]
    for k in range(0, len(count.writes) - 1, 2):
        start, commit = count.writes[k], count.writes[k + 1]
        points += [CtrlC(write=k + 1, after=max(1, (commit - start) // 2)), CtrlC(write=k + 2, after=1)]
        if temps:
            points.append(CtrlC(temp=k // 2 + 1))
    return files(folder / "clean"), points


def check_interrupted(hook: CtrlC, code: int, capsys) -> None:
    assert hook.fired and code == 130, (hook.at, code)
    no_traceback_one_line(capsys.readouterr().err, "genie-play: interrupted")


@case("CLI", "Ctrl-C at 11 points of data generate (mid-shard, between a shard's two files, before the summary)",
      "one line: genie-play: interrupted; exit 130; only whole shards on disk; re-running completes the same data")
def test_ctrl_c_anywhere_in_generate(tmp_path, capsys):
    clean, points = interrupt_points(lambda out: [*GENERATE, "--out", str(out)], tmp_path)
    assert len(points) == 11
    capsys.readouterr()
    for i, hook in enumerate(points):
        out = tmp_path / f"run{i}"
        check_interrupted(hook, run_traced([*GENERATE, "--out", str(out)], hook), capsys)
        assert_only_complete_files(out)
        assert main([*GENERATE, "--out", str(out)]) == 0  # carries on where it stopped
        assert {k: v for k, v in files(out).items() if k != "summary.json"} == \
               {k: v for k, v in clean.items() if k != "summary.json"}


@case("CLI", "Ctrl-C at 11 points of data import (including just after each temp file is created)",
      "one line: genie-play: interrupted; exit 130; the folder holds whole shards only (never frames "
      "without their metadata), no temp file")
def test_ctrl_c_anywhere_in_import(tmp_path, capsys):
    gif = [Image.new("RGB", (20, 20), (i * 40, 0, 0)) for i in range(8)]
    gif[0].save(tmp_path / "a.gif", save_all=True, append_images=gif[1:], duration=66)

    def argv(out):
        return ["data", "import", str(tmp_path / "a.gif"), "--out", str(out), "--size", "16", "--frames", "8"]

    _, points = interrupt_points(argv, tmp_path, temps=True)
    assert len(points) == 11
    capsys.readouterr()
    for i, hook in enumerate(points):
        out = tmp_path / f"run{i}"
        check_interrupted(hook, run_traced(argv(out), hook), capsys)
        assert_only_complete_files(out)


@case("CLI", "Ctrl-C at 9 points of play --headless (loading, stepping, writing the GIF, writing its JSON)",
      "one line: genie-play: interrupted; exit 130; the GIF and JSON are absent or whole, never half-written")
def test_ctrl_c_anywhere_in_headless_play(world, tmp_path, capsys):
    clean, points = interrupt_points(lambda out: play_args(world, out / "run.gif"), tmp_path)
    assert len(points) == 9
    capsys.readouterr()
    for i, hook in enumerate(points):
        out = tmp_path / f"run{i}"
        check_interrupted(hook, run_traced(play_args(world, out / "run.gif"), hook), capsys)
        assert_only_complete_files(out)
        written = files(out) if out.exists() else {}
        assert all(clean[name] == data for name, data in written.items())  # each file whole, or absent


@case("CLI", "Ctrl-C while eval writes its report",
      "one line: genie-play: interrupted; exit 130; metrics.json and the panels written so far are whole, "
      "no report.html, no temp file")
def test_ctrl_c_while_eval_writes_its_report(world, generated_data, tmp_path, capsys):
    out = tmp_path / "eval"
    hook = CtrlC(write=7, after=25)  # 25 calls into the 4th file (rollouts.png): inside Pillow's save
    code = run_traced(["eval", "--weights", str(world), "--data", str(generated_data), "--out", str(out), "--clips", "1",
                       "--rollout-steps", "2", "--maskgit-steps", "1", "--device", "cpu"], hook)
    check_interrupted(hook, code, capsys)
    assert_only_complete_files(out)
    names = set(files(out))
    assert names == {"metrics.json", "reconstructions.png", "lam_codes.png"}  # rollouts.png was being written


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
@case("CLI", "a real Ctrl-C (SIGINT to the whole process group) during data generate --workers 2",
      "one line: genie-play: interrupted; exit 130; no traceback from any worker; only whole shards")
def test_real_ctrl_c_with_worker_processes(tmp_path):
    out = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "genie_play", "data", "generate", "--out", str(out), "--episodes", "2000",
                             "--frames", "8", "--size", "16", "--workers", "2"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,  # its own group, like a terminal job
                            # and Ctrl-C at its default, as in a terminal: a test run started with `&` from a
                            # script ignores SIGINT, and a child inherits that (CI once failed so, three times)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    chunks: list[bytes] = []

    def read():
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        # Wait until the workers are busy: the bar has counted a few chunks of clips.
        while not re.search(rb" (?:[1-9]\d|\d{3,})/2000 ", b"".join(chunks)):
            assert proc.poll() is None and time.monotonic() < deadline, b"".join(chunks).decode()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)  # before the fix, a worker hit mid-wait could also hang the pool's shutdown
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(timeout=10)
    text = b"".join(chunks).decode()
    assert proc.returncode == 130, text
    no_traceback_one_line(text, "genie-play: interrupted")
    assert_only_complete_files(out)
