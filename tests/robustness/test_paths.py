"""Where files are written: only under the folder (or file) the user named, whatever the names
that come from inputs: video file names, picture names, capture names, names inside shard metadata.

Every test snapshots the whole tmp_path tree before and after, so a file written anywhere else
(a path traversal, a write through a planted symlink) is caught, not just one expected location.
"""

import json
import os
import re

import av
import numpy as np
import pytest
from PIL import Image

from conftest import save_tiny_world
from genie_play.app.recorder import Recording, capture_name, write_png
from genie_play.cli import main
from genie_play.data.shards import open_folder
from robustness.registry import case, register

CRAFTED = ["..\\..\\evil", "-rf ", "line\nbreak", "%s%n", "..", "名前"]  # stems: traversal, flags, format codes


def tree(root):
    """Every path under `root` (links not followed) -> ('link', target), ('dir', None) or ('file', bytes)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", None)
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    out[rel] = ("file", f.read())
    return out


def added(before, after):
    return sorted(k for k in after if k not in before)


def write_mp4(path, frames=4, size=32):
    rng = np.random.default_rng(7)
    with av.open(str(path), "w", format="mp4") as box:
        stream = box.add_stream("libx264", rate=15)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            box.mux(stream.encode(av.VideoFrame.from_ndarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), format="rgb24")))
        box.mux(stream.encode(None))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return save_tiny_world(tmp_path_factory.mktemp("world"))


def play(world, prompt, out, keys="right jump"):
    return main(["play", str(prompt), "--weights", str(world), "--keymap", str(world / "keymap.toml"), "--headless",
                 "--keys", keys, "--maskgit-steps", "1", "--device", "cpu", "--out", str(out)])


def picture(path):
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(path, format="PNG")
    return path


@case("security", "data import of videos named ..\\..\\evil.mp4, '-rf .mp4', with a line break or format codes, "
      "given through a path with .. in it",
      "only shard-00000.npy and .json appear, inside --out; the names stay text in the shard metadata")
def test_import_writes_only_shards_inside_out(tmp_path, capsys):
    videos = tmp_path / "in" / "videos"
    videos.mkdir(parents=True)
    (tmp_path / "in" / "x").mkdir()
    for stem in CRAFTED[:4]:
        write_mp4(videos / f"{stem}.mp4")
    out = tmp_path / "out" / "shards"
    before = tree(tmp_path)
    # The folder through "x/..", and the traversal-looking name on its own: a folder walk skips
    # names starting with "." as hidden files (.DS_Store), so it is named explicitly too.
    assert main(["data", "import", str(tmp_path / "in" / "x" / ".." / "videos"), str(videos / "..\\..\\evil.mp4"),
                 "--out", str(out), "--size", "16", "--frames", "4"]) == 0
    assert added(before, tree(tmp_path)) == ["out", "out/shards", "out/shards/shard-00000.json", "out/shards/shard-00000.npy"]
    [shard] = open_folder(out)
    assert sorted(os.path.basename(c["source"]) for c in shard.clips) == sorted(f"{s}.mp4" for s in CRAFTED[:4])
    assert capsys.readouterr().err == ""


@case("security", "symlinks planted at play --headless's output names (run.gif, run.json) pointing at other files",
      "the links are replaced by the new GIF and JSON; the files they pointed at are untouched")
def test_headless_replaces_planted_links_instead_of_writing_through_them(world, tmp_path):
    victims = tmp_path / "victims"
    victims.mkdir()
    (victims / "gif").write_text("not yours to overwrite")
    (victims / "json").write_text("nor this")
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.gif").symlink_to(victims / "gif")
    (out / "run.json").symlink_to(victims / "json")
    prompt = picture(tmp_path / "p.png")
    assert play(world, prompt, out / "run.gif") == 0
    assert not (out / "run.gif").is_symlink() and not (out / "run.json").is_symlink()
    with Image.open(out / "run.gif") as gif:
        assert gif.n_frames == 3
    assert json.loads((out / "run.json").read_text())["frames"] == 3
    assert (victims / "gif").read_text() == "not yours to overwrite" and (victims / "json").read_text() == "nor this"


@case("security", "play --headless into a PNG-frames folder that holds planted symlinks (frame_00001.png, actions.json)",
      "each link is replaced by a real frame or JSON inside the folder; the linked-to files are untouched")
def test_png_frames_folder_replaces_planted_links(world, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "frames"
    out.mkdir()
    (out / "frame_00001.png").symlink_to(victim)
    (out / "actions.json").symlink_to(victim)
    prompt = picture(tmp_path / "p.png")
    before = tree(tmp_path)
    assert play(world, prompt, out) == 0
    after = tree(tmp_path)
    assert added(before, after) == ["frames/frame_00000.png", "frames/frame_00002.png"]
    assert after["frames/frame_00001.png"][0] == "file" and after["frames/actions.json"][0] == "file"
    assert victim.read_text() == "keep"


@case("security", "play --headless a prompt picture named ..\\..\\evil.png with a line break",
      "the only new files are --out's GIF and its JSON")
def test_a_crafted_prompt_name_changes_nothing_about_where_files_go(world, tmp_path):
    prompt = picture(tmp_path / "..\\..\\evil\nname.png")
    before = tree(tmp_path)
    assert play(world, prompt, tmp_path / "rec" / "run.gif", keys="right") == 0
    assert added(before, tree(tmp_path)) == ["rec", "rec/run.gif", "rec/run.json"]
    assert json.loads((tmp_path / "rec" / "run.json").read_text())["prompt"] == str(prompt)


@case("security", "window captures (recordings, screenshots) named from stems and suffixes holding ../, / and %",
      "always a plain file name inside the captures folder; never overwrites an earlier capture")
def test_captures_stay_in_their_folder(tmp_path):
    captures = tmp_path / "captures"
    captures.mkdir()
    before = tree(tmp_path)
    for stem in [*CRAFTED, "../../../evil", "/abs/evil", "a/b"]:
        for suffix in (".gif", "/../../x.gif", ".png"):
            path = capture_name(captures, stem, suffix)
            assert path.parent == captures and re.fullmatch(r"[\w-]+\.\w+", path.name), path
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (0, 255)]
    first = Recording(capture_name(captures, "../../genie", ".gif"), {"prompt": "x"}, scale=1, frames=frames).save()
    second = Recording(capture_name(captures, "../../genie", ".gif"), {"prompt": "x"}, scale=1, frames=frames).save()
    write_png(capture_name(captures, "../screenshot", ".png"), frames[1])
    new = added(before, tree(tmp_path))
    assert first != second and len(new) == 5 and all(n.startswith("captures/") and n.count("/") == 1 for n in new), new


SHARD_NAMES = [
    (register("security", "a shard whose metadata names its frames ../../secret.npy",
              "one line naming the shard: frames_file '../../secret.npy' is not a file name in the shard's own folder; "
              "exit 2; the outside file is never read"), "../../secret.npy"),
    (register("security", "a shard whose metadata names its frames by an absolute path",
              "the same one line; exit 2; the outside file is never read"), "ABSOLUTE"),
]


@pytest.mark.parametrize("c, name", SHARD_NAMES, ids=[c.id for c, _ in SHARD_NAMES])
def test_shard_metadata_cannot_point_outside_its_folder(c, name, generated_data, tmp_path, capsys, monkeypatch):
    data = tmp_path / "a" / "b" / "data"
    data.mkdir(parents=True)
    for p in generated_data.glob("shard-*"):
        (data / p.name).write_bytes(p.read_bytes())
    secret = tmp_path / "secret.npy"
    secret.write_bytes((data / "shard-00000.npy").read_bytes())  # a valid array: it must not even be opened
    name = str(secret) if name == "ABSOLUTE" else name
    meta_path = data / "shard-00000.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "frames_file": name}))
    opened = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda f, *a, **k: opened.append(str(f)) or real_load(f, *a, **k))
    assert main(["data", "preview", str(data), "--out", str(tmp_path / "sheet.png")]) == 2
    assert capsys.readouterr().err == (f"genie-play: error: {meta_path}: frames_file {name!r} is not a file name "
                                       "in the shard's own folder\n")
    assert str(secret) not in opened and not (tmp_path / "sheet.png").exists()
