"""Reading the CLI's selection and mask files; images and references are read by gimp_gptimage.image_files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..api.image_rules import has_alpha as image_has_alpha
from ..image_files import InputFileError, has_alpha, image_size, load_rgba, open_image, plain_png

__all__ = [
    "InputFileError",
    "has_alpha",
    "image_size",
    "load_markup",
    "load_mask",
    "load_rgba",
    "load_selection",
    "open_image",
]


def load_selection(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A selection in GIMP's sense: grayscale, white = selected, soft edges allowed; (H, W) uint8.

    Colour images count by luminance; an alpha channel multiplies in (transparent = not selected).
    """
    gray = plain_png(path, ("L",))
    if gray is not None:
        _check_size(gray.shape[1::-1], size, "selection")
        return gray
    image = open_image(path, "selection")
    _check_size(image.size, size, "selection")
    if image_has_alpha(image):
        rgba = np.asarray(image.convert("RGBA"))
        gray = np.asarray(Image.fromarray(rgba[..., :3]).convert("L"), dtype=np.uint16)
        return ((gray * rgba[..., 3] + 127) // 255).astype(np.uint8)
    return np.asarray(image.convert("L"))


def load_mask(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A mask in the API's sense (alpha 0 = edit) turned into a selection: 255 - alpha; (H, W) uint8."""
    image = open_image(path, "mask")
    _check_size(image.size, size, "mask")
    if not image_has_alpha(image):
        raise InputFileError(
            f"The mask {path} has no alpha channel: its transparent pixels mark the area to edit. "
            "For a white-on-black selection use --selection."
        )
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    return (255 - alpha).astype(np.uint8)


def load_markup(path: Path, size: tuple[int, int]) -> np.ndarray:
    """Markup for a 2.6 edit: RGBA the image's size, transparent except the annotations; (H, W, 4) uint8."""
    image = open_image(path, "markup")
    _check_size(image.size, size, "markup")
    if not image_has_alpha(image):
        raise InputFileError(
            f"The markup {path} has no transparency: draw the arrows and notes on a transparent sheet (PNG with alpha)."
        )
    return np.asarray(image.convert("RGBA"))


def _check_size(found: tuple[int, ...], size: tuple[int, int], what: str) -> None:
    if tuple(found) != size:
        raise InputFileError(
            f"The {what} is {found[0]}x{found[1]} but the image is {size[0]}x{size[1]}; they must be the same size."
        )
