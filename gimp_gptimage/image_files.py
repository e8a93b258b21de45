"""Reading image files a person chose (CLI arguments, dropped or picked references) into the arrays the
pipeline takes, with one clear message per problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .api.errors import ValidationError
from .api.image_rules import MAX_DECODE_PIXELS, ImageTooLarge, UnknownImageFormat, UnreadableImage
from .api.image_rules import has_alpha as image_has_alpha
from .api.image_rules import open_image as open_checked


class InputFileError(ValidationError):
    """An input file is missing, unreadable, not an image, or does not fit the main image."""


def open_image(path: Path, what: str) -> Image.Image:
    """The image at `path`, fully loaded; InputFileError naming `what` and the path if it cannot be."""
    try:
        return open_checked(path)
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


def load_rgba(path: Path, what: str = "image") -> np.ndarray:
    """(H, W, 4) uint8 sRGB pixels of an image file (palette, gray and 16-bit images converted)."""
    image = open_image(path, what)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")
    return np.asarray(image.convert("RGBA"))


def has_alpha(path: Path) -> bool:
    """Whether an image file has transparency (so its results should keep an alpha channel)."""
    with Image.open(path) as image:
        return image_has_alpha(image)
