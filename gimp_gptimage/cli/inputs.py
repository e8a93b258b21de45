"""Reading the CLI's image files into the arrays the pipeline takes, with one clear message per problem."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..api.errors import ValidationError


class InputFileError(ValidationError):
    """An input file is missing, unreadable, not an image, or does not fit the main image."""


def _open(path: Path, what: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # A big photo the user chose is not an attack: no warning line; past twice the limit it is refused.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
            image.load()
    except FileNotFoundError:
        raise InputFileError(f"The {what} file {path} does not exist.") from None
    except IsADirectoryError:
        raise InputFileError(f"The {what} path {path} is a folder, not an image file.") from None
    except PermissionError:
        raise InputFileError(f"The {what} file {path} cannot be read (permission denied).") from None
    except UnidentifiedImageError:
        raise InputFileError(
            f"The {what} file {path} is not an image this program can read; save it as PNG, JPEG or WebP."
        ) from None
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise InputFileError(
            f"The {what} file {path} is too large to open safely (more than {limit:,} pixels); scale it down "
            "or crop it first, or edit it in GIMP."
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputFileError(f"The {what} file {path} is damaged or truncated ({exc}).") from None
    return image


def load_rgba(path: Path, what: str = "image") -> np.ndarray:
    """(H, W, 4) uint8 sRGB pixels of an image file (palette, gray and 16-bit images converted)."""
    image = _open(path, what)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")
    return np.asarray(image.convert("RGBA"))


def has_alpha(path: Path) -> bool:
    """Whether an image file has transparency (so its results should keep an alpha channel)."""
    with Image.open(path) as image:
        return "A" in image.getbands() or "transparency" in image.info


def load_selection(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A selection in GIMP's sense: grayscale, white = selected, soft edges allowed; (H, W) uint8.

    Colour images count by luminance; an alpha channel multiplies in (transparent = not selected).
    """
    image = _open(path, "selection")
    _check_size(image, size, "selection")
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"))
        gray = np.asarray(Image.fromarray(rgba[..., :3]).convert("L"), dtype=np.uint16)
        return ((gray * rgba[..., 3] + 127) // 255).astype(np.uint8)
    return np.asarray(image.convert("L"))


def load_mask(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A mask in the API's sense (alpha 0 = edit) turned into a selection: 255 - alpha; (H, W) uint8."""
    image = _open(path, "mask")
    _check_size(image, size, "mask")
    if "A" not in image.getbands() and "transparency" not in image.info:
        raise InputFileError(
            f"The mask {path} has no alpha channel: its transparent pixels mark the area to edit. "
            "For a white-on-black selection use --selection."
        )
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    return (255 - alpha).astype(np.uint8)


def _check_size(image: Image.Image, size: tuple[int, int], what: str) -> None:
    if image.size != size:
        raise InputFileError(
            f"The {what} is {image.width}x{image.height} but the image is {size[0]}x{size[1]}; "
            "they must be the same size."
        )
