import os
import signal
import subprocess
import sys
import textwrap

import pytest

from genie_play.errors import GenieError
from genie_play.io import atomic_path, atomic_write, write_bytes, write_json, write_text


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_appear_complete(tmp_path):
    write_text(tmp_path / "a.txt", "hello")
    write_bytes(tmp_path / "sub" / "b.bin", b"\x00\x01")  # missing folders are created
    write_json(tmp_path / "c.json", {"x": 1})
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "c.json").read_text() == '{\n  "x": 1\n}\n'
    assert _leftovers(tmp_path) == []


def test_writer_failing_mid_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "weights.bin"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target) as f:
            f.write(b"half of the data")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_old_file(tmp_path):
    target = tmp_path / "keymap.toml"
    write_text(target, "old = 1\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target, "w") as f:
            f.write("new = ")
            raise KeyboardInterrupt
    assert target.read_text() == "old = 1\n"
    assert _leftovers(tmp_path) == []


def test_library_writers_get_a_temp_path_beside_the_target(tmp_path):
    target = tmp_path / "out.gif"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_bytes(b"GIF89a")
        assert not target.exists()
    assert target.read_bytes() == b"GIF89a"


def test_written_file_has_normal_permissions(tmp_path):
    write_text(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_is_a_one_line_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(GenieError, match=r"locked/x.txt: cannot write: Permission denied"):
            write_text(locked / "x.txt", "x")
    finally:
        locked.chmod(0o700)


def test_target_under_a_file_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(GenieError, match=r"file/x.txt: cannot write"):
        write_text(tmp_path / "file" / "x.txt", "x")


def test_disk_full_during_write_is_a_one_line_error_and_keeps_old_file(tmp_path):
    target = tmp_path / "rec.json"
    write_text(target, "old")
    with pytest.raises(GenieError, match=r"rec.json: cannot write: No space left on device"):
        with atomic_write(target, "w") as f:
            f.write("new")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_process_killed_mid_write_leaves_old_file_intact(tmp_path):
    target = tmp_path / "ckpt.bin"
    write_bytes(target, b"old checkpoint")
    script = textwrap.dedent(f"""
        import os, signal, sys
        from genie_play.io import atomic_write
        with atomic_write({str(target)!r}) as f:
            f.write(b"new but incomplete")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"old checkpoint"
