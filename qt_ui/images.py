"""Image conversions for the dialog. The heavy half (`*_thumbnail_bytes`) runs in a worker thread; the GUI
thread only wraps a few hundred KB of ready RGBA bytes in a QImage (`to_qimage`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from PyQt6.QtGui import QImage

from gimp_gptimage.pipeline import blend

THUMB_PX = 256


@dataclass(frozen=True)
class RawRGBA:
    """Tightly packed RGBA8888 rows, ready for a QImage without any further conversion."""

    width: int
    height: int
    data: bytes


def _fit(width: int, height: int, box: int) -> tuple[int, int]:
    scale = min(box / max(width, 1), box / max(height, 1), 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def pil_thumbnail(image: Image.Image, box: int = THUMB_PX) -> RawRGBA:
    """A small RGBA copy of a PIL image (call off the GUI thread)."""
    size = _fit(image.width, image.height, box)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA")
    # reduce() first keeps huge images cheap (and converting after shrinking touches few pixels); the final
    # resize gives a clean, antialiased thumbnail.
    factor = max(1, min(image.width // size[0], image.height // size[1]) // 2)
    if factor > 1:
        image = image.reduce(factor)
    small = image.resize(size, Image.Resampling.BILINEAR).convert("RGBA")
    return RawRGBA(small.width, small.height, small.tobytes())


def array_thumbnail(rgba: np.ndarray, box: int = THUMB_PX) -> RawRGBA:
    """A small RGBA copy of an (h, w, 3|4) uint8 array (call off the GUI thread)."""
    h, w = rgba.shape[:2]
    step = max(1, max(h, w) // (box * 2))
    view = np.ascontiguousarray(rgba[::step, ::step])
    mode = "RGBA" if view.shape[2] == 4 else "RGB"
    return pil_thumbnail(Image.fromarray(view, mode), box)


def result_thumbnail(
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    under: np.ndarray | None,
    box: int = THUMB_PX,
) -> RawRGBA:
    """What the result will look like in the picture: `pixels` over `under` (the original region) through the
    paste-back mask, so the model's redraw outside the selection never shows (call off the GUI thread)."""
    if alpha is None or under is None or under.shape[:2] != pixels.shape[:2]:
        return array_thumbnail(pixels, box)
    h, w = pixels.shape[:2]
    step = max(1, max(h, w) // (box * 2))
    over = pixels[::step, ::step]
    return array_thumbnail(blend(np.asarray(under[::step, ::step]), over, alpha[::step, ::step]), box)


def bytes_thumbnail(data: bytes, box: int = THUMB_PX) -> RawRGBA:
    """Decode encoded image bytes (PNG/JPEG/WebP) and shrink them (call off the GUI thread)."""
    import io

    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (box * 2, box * 2))  # JPEG decodes at reduced scale for free
        return pil_thumbnail(image, box)


def to_qimage(raw: RawRGBA) -> QImage:
    """Wrap ready bytes in a QImage (cheap; safe on the GUI thread). The copy detaches it from `raw`."""
    image = QImage(raw.data, raw.width, raw.height, raw.width * 4, QImage.Format.Format_RGBA8888)
    return image.copy()


def load_rgba(path: str) -> np.ndarray:
    """Read an image file as an (h, w, 4) uint8 array (call off the GUI thread)."""
    with Image.open(path) as image:
        image.load()
        return np.asarray(image.convert("RGBA"))
