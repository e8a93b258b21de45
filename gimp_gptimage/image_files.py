"""Reading image files a person chose (CLI arguments, dropped or picked references) into the arrays the
pipeline takes, with one clear message per problem."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile

from .api.errors import ValidationError
from .api.image_rules import MAX_DECODE_PIXELS, ImageTooLarge, UnknownImageFormat, UnreadableImage
from .api.image_rules import has_alpha as image_has_alpha
from .api.image_rules import open_image as open_checked

# A plain PNG (8 bits a channel, no palette, no colour key) is decoded by OpenCV: in about three quarters of
# Pillow's time and straight into an array, where Pillow's pixels are copied out of its own buffer once more.
# The same pixels either way; every other file, and any PNG OpenCV cannot read, is Pillow's.
_OPENCV_TO_RGBA = {3: cv2.COLOR_BGR2RGBA, 4: cv2.COLOR_BGRA2RGBA}
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # a PNG's last chunk: a file cut short lacks it


class InputFileError(ValidationError):
    """An input file is missing, unreadable, not an image, or does not fit the main image."""


def open_image(path: Path, what: str, *, load: bool = True) -> Image.Image:
    """The image at `path`, fully loaded (unless `load` is false: then its header only, bomb-checked);
    InputFileError naming `what` and the path if it cannot be."""
    try:
        return open_checked(path, load=load)
    except FileNotFoundError:
        raise InputFileError(f"The {what} file {path} does not exist.") from None
    except IsADirectoryError:
        raise InputFileError(f"The {what} path {path} is a folder, not an image file.") from None
    except PermissionError:
        raise InputFileError(f"The {what} file {path} cannot be read (permission denied).") from None
    except UnknownImageFormat:
        raise InputFileError(
            f"The {what} file {path} is not an image this program can read; save it as PNG, JPEG or WebP."
        ) from None
    except ImageTooLarge:
        raise InputFileError(
            f"The {what} file {path} is too large to open safely (more than {MAX_DECODE_PIXELS:,} pixels); scale "
            "it down or crop it first, or edit it in GIMP."
        ) from None
    except UnreadableImage as exc:
        raise InputFileError(f"The {what} file {path} is {exc}.") from None


def image_size(path: Path, what: str = "image") -> tuple[int, int]:
    """(width, height) from the header alone (and the decompression-bomb check); `open_image`'s errors."""
    with open_image(path, what, load=False) as header:
        return header.size


def load_rgba(path: Path, what: str = "image") -> np.ndarray:
    """(H, W, 4) uint8 sRGB pixels of an image file (palette, gray and 16-bit images converted)."""
    plain = plain_png(path, ("RGB", "RGBA"))
    if plain is not None:
        return cv2.cvtColor(plain, _OPENCV_TO_RGBA[plain.shape[2]])
    image = open_image(path, what)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")
    return np.asarray(image.convert("RGBA"))


def plain_png(path: Path, modes: tuple[str, ...]) -> np.ndarray | None:
    """OpenCV's pixels of `path` (OpenCV's channel order: (H, W) gray, BGR, BGRA) when it is a whole PNG of
    8-bit channels stored as one of Pillow's `modes` ("L", "RGB", "RGBA") without a transparent colour;
    None for anything else, for which Pillow's reader (`open_image`) gives the pixels or names the problem."""
    try:
        with open_checked(path, load=False) as header:  # the header only, and the decompression-bomb check
            size, mode = header.size, header.mode
            plain = (
                isinstance(header, ImageFile.ImageFile)
                and header.format == "PNG"
                and header.mode in modes
                and "transparency" not in header.info
                and [tile[3] for tile in header.tile] == [header.mode]  # stored as it reads: not 16-bit, not packed
            )
        if not plain:
            return None
        data = np.fromfile(path, np.uint8)  # not cv2.imread: it cannot open every path a person can type
    except (UnreadableImage, OSError):
        return None
    if data[-len(_IEND) :].tobytes() != _IEND:
        return None
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint8 or pixels.shape[1::-1] != size:
        return None
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    return pixels if channels == len(mode) else None  # "L", "RGB", "RGBA": one letter a channel


def has_alpha(path: Path) -> bool:
    """Whether an image file has transparency (so its results should keep an alpha channel)."""
    with Image.open(path) as image:
        return image_has_alpha(image)
