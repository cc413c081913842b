"""Reading pictures the player gives us and fitting them to the model's square frame.

One place for both, so a prompt image, an imported video frame and a dropped file are all cropped
and resized the same way. Anything that is not a readable picture is a one-line GenieError.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from genie_play.errors import file_error

# Refuse pictures above this many pixels before decoding them (a 100 KB PNG can claim 50k x 50k).
MAX_IMAGE_PIXELS = 50_000_000


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read any still image (first frame of an animation) as RGB uint8 (H, W, 3), EXIF-rotated."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise file_error(path, "no such file")
    if path.is_dir():
        raise file_error(path, "is a directory, not an image")
    if path.stat().st_size == 0:
        raise file_error(path, "is empty (0 bytes), not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # reads the header only
                width, height = im.size
                check_pixels(path, width, height)
                if width == 0 or height == 0:
                    raise file_error(path, "image has zero size")
                im.seek(0)
                return to_rgb(ImageOps.exif_transpose(im))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise file_error(path, f"image is over the {MAX_IMAGE_PIXELS:,}-pixel limit") from None
    except UnidentifiedImageError:
        raise file_error(path, "not an image file (or an unsupported format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise file_error(path, f"cannot read image ({str(e) or type(e).__name__})") from None


def check_pixels(path, width: int, height: int, what: str = "image", limit: int = MAX_IMAGE_PIXELS) -> None:
    """Refuse a picture or video frame over `limit` pixels, from its declared size (before decoding)."""
    if width * height > limit:
        raise file_error(path, f"{what} is {width}x{height}, over the {limit:,}-pixel limit")


def to_rgb(im) -> np.ndarray:
    """A PIL image of any mode -> RGB uint8; transparency is composited onto white."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        scale = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        gray = np.clip(a / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def fit_frame(rgb: np.ndarray, size: int) -> np.ndarray:
    """Center-crop RGB uint8 (H, W, 3) to a square and resize it to (size, size, 3)."""
    if rgb.shape == (size, size, 3) and rgb.dtype == np.uint8:
        return np.array(rgb)
    from PIL import Image

    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(np.ascontiguousarray(rgb[top:top + side, left:left + side]))
    resample = Image.Resampling.LANCZOS if side > size else Image.Resampling.BICUBIC
    return np.array(square.resize((size, size), resample, reducing_gap=3.0))  # a writable copy


def grid(rows: list[list[np.ndarray]], gap: int = 2, scale: int = 2) -> np.ndarray:
    """Tile rows of equal-size RGB uint8 frames into one image, with white gaps, upscaled crisply."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + gap) + gap, cols * (w + gap) + gap, 3), 255, dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, frame in enumerate(row):
            y, x = gap + i * (h + gap), gap + j * (w + gap)
            out[y:y + h, x:x + w] = frame
    return out.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else out


def save_grid(path: str | os.PathLike, rows: list[list[np.ndarray]], **layout) -> None:
    """Write `grid(rows)` as a PNG, atomically."""
    from PIL import Image

    from genie_play.io import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(grid(rows, **layout)).save(tmp, format="PNG")


def prompt_frame(image, size: int) -> np.ndarray:
    """A prompt (path, PIL image or RGB uint8 array) as an RGB uint8 frame of size x size."""
    from genie_play.errors import GenieError

    if isinstance(image, (str, os.PathLike)):
        return fit_frame(load_image(image), size)
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise GenieError(f"prompt array must be RGB uint8 (H, W, 3), got {image.dtype} {image.shape}")
        return fit_frame(image, size)
    return fit_frame(to_rgb(image), size)  # a PIL image
