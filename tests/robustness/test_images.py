"""Prompt pictures of every kind the player may drop: each plays, or is refused in one line naming it."""

import re

import numpy as np
import pytest
from PIL import Image

from genie_play.errors import GenieError
from genie_play.images import MAX_IMAGE_PIXELS, fit_frame, load_image
from robustness.registry import register

RGB = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)


def _save(path, image, **options):
    image.save(path, **options)
    return path


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _truncated(path, fmt):
    _save(path, Image.fromarray(RGB), format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _exif_rotated(path):
    exif = Image.fromarray(RGB).getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    return _save(path, Image.fromarray(RGB), exif=exif)


def _animated(path):
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def _bomb(path):
    side = int(MAX_IMAGE_PIXELS ** 0.5) + 1000  # a 1-bit PNG this size is a few hundred KB
    return _save(path, Image.new("1", (side, side)))


REFUSED = [  # (case, file name, how to make it, the message after "PATH: ")
    (register("images", "a file that is not an image", "one line naming the file: not an image file"),
     "notes.png", lambda p: _write(p, b"hello"), r"not an image file \(or an unsupported format\)"),
    (register("images", "a truncated PNG", "one line naming the file: cannot read image (truncated)"),
     "cut.png", lambda p: _truncated(p, "PNG"), r"cannot read image \(image file is truncated"),
    (register("images", "a truncated JPEG", "one line naming the file: cannot read image (truncated)"),
     "cut.jpg", lambda p: _truncated(p, "JPEG"), r"cannot read image \(image file is truncated"),
    (register("images", "a zero-byte file", "one line naming the file: is empty (0 bytes)"),
     "empty.png", lambda p: _write(p, b""), r"is empty \(0 bytes\), not an image"),
    (register("images", f"a decompression bomb (a small PNG claiming over {MAX_IMAGE_PIXELS:,} pixels)",
              f"refused from the header, before decoding: over the {MAX_IMAGE_PIXELS:,}-pixel limit"),
     "bomb.png", _bomb, rf"image is \d+x\d+, over the {MAX_IMAGE_PIXELS:,}-pixel limit"),
    (register("images", "a path that does not exist", "one line naming the path: no such file"),
     "missing.png", lambda p: p, r"no such file"),
    (register("images", "a directory instead of an image", "one line naming it: is a directory"),
     "folder.png", lambda p: p.mkdir() or p, r"is a directory, not an image"),
]

PLAYED = [  # (case, file name, how to make it, a check of the RGB array it loads as)
    (register("images", "a 1x1 picture", "plays: scaled up to a flat frame"),
     "dot.png", lambda p: _save(p, Image.new("RGB", (1, 1), (9, 99, 199))),
     lambda a: a.shape == (1, 1, 3) and a[0, 0].tolist() == [9, 99, 199]),
    (register("images", "extreme aspect ratios (1x4000, 10000x2)", "plays: the centre square is cropped out"),
     "tall.png", lambda p: _save(p, Image.new("RGB", (1, 4000), (50, 60, 70))),
     lambda a: a.shape == (4000, 1, 3)),
    (None, "wide.png", lambda p: _save(p, Image.new("RGB", (10000, 2), (50, 60, 70))), lambda a: a.shape == (2, 10000, 3)),
    (register("images", "a 16-bit grayscale PNG", "plays: scaled to 8 bits, not clipped"),
     "deep.png", lambda p: _save(p, Image.fromarray(np.full((8, 8), 65535, np.uint16))),
     lambda a: a.max() == 255 and a.min() == 255),
    (register("images", "grayscale and palette pictures", "plays: converted to RGB"),
     "gray.png", lambda p: _save(p, Image.new("L", (20, 20), 128)), lambda a: (a == 128).all()),
    (None, "palette.png", lambda p: _save(p, Image.fromarray(RGB).convert("P")), lambda a: a.shape == (40, 60, 3)),
    (register("images", "RGBA with transparent pixels", "plays: transparency shown over white"),
     "clear.png", lambda p: _save(p, Image.new("RGBA", (20, 20), (255, 0, 0, 0))), lambda a: (a == 255).all()),
    (register("images", "a CMYK JPEG", "plays: converted to RGB"),
     "print.jpg", lambda p: _save(p, Image.fromarray(RGB).convert("CMYK")), lambda a: a.shape == (40, 60, 3)),
    (register("images", "an EXIF-rotated JPEG (phone photo)", "plays upright: the EXIF rotation is applied"),
     "phone.jpg", _exif_rotated, lambda a: a.shape == (60, 40, 3)),
    (register("images", "an animated GIF", "plays its first frame"),
     "anim.gif", _animated, lambda a: a[0, 0].tolist() == [255, 0, 0]),
]


@pytest.mark.parametrize("case, name, make, message", REFUSED, ids=[c.id for c, *_ in REFUSED])
def test_unusable_pictures_are_refused_in_one_line_naming_them(tmp_path, case, name, make, message):
    path = make(tmp_path / name)
    with pytest.raises(GenieError) as e:
        load_image(path)
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)
    assert re.search(message, str(e.value)), str(e.value)


@pytest.mark.parametrize("case, name, make, check", PLAYED, ids=[name for _, name, *_ in PLAYED])
def test_odd_but_valid_pictures_load_as_rgb_and_fit_the_frame(tmp_path, case, name, make, check):
    rgb = load_image(make(tmp_path / name))
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and check(rgb)
    frame = fit_frame(rgb, 64)
    assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
