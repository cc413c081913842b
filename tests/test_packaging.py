"""A regular (non-editable) install must carry every shipped file under models/ and assets/."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")


def test_every_shipped_folder_is_listed_in_data_files():
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    listed = {pattern.rsplit("/", 1)[0] for patterns in data_files.values() for pattern in patterns}
    for top in ("models", "assets"):
        folders = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / top).rglob("*") if p.is_file()}
        assert folders <= listed, f"add data-files lines for {sorted(folders - listed)}"
    for target, patterns in data_files.items():
        assert all(target == "share/genie_play/" + p.rsplit("/", 1)[0] for p in patterns)


def test_shipped_folders_are_found_in_a_checkout_and_in_an_install(tmp_path, monkeypatch):
    from genie_play import paths

    assert paths.models_dir() == ROOT / "models" and paths.assets_dir() == ROOT / "assets"
    installed = tmp_path / "share" / "genie_play" / "models"
    installed.mkdir(parents=True)
    monkeypatch.setattr(paths, "_SOURCE_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert paths.models_dir() == installed
