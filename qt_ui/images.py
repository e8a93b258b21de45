"""Image conversions for the dialog. The heavy half (`*_thumbnail`, all shrinking with OpenCV) runs in a worker
thread; the GUI thread only wraps a few hundred KB of ready RGBA bytes in a QImage (`to_qimage`)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from PyQt6.QtGui import QImage

from gimp_gptimage.pipeline import blend

THUMB_PX = 256
_BGR_TO_RGBA = {1: cv2.COLOR_GRAY2RGBA, 3: cv2.COLOR_BGR2RGBA, 4: cv2.COLOR_BGRA2RGBA}
_RGB_TO_RGBA = {1: cv2.COLOR_GRAY2RGBA, 3: cv2.COLOR_RGB2RGBA}
_JPEG_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


@dataclass(frozen=True)
class RawRGBA:
    """Tightly packed RGBA8888 rows, ready for a QImage without any further conversion."""

    width: int
    height: int
    data: bytes


def _fit(width: int, height: int, box: int) -> tuple[int, int]:
    scale = min(box / max(width, 1), box / max(height, 1), 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def array_thumbnail(rgba: np.ndarray, box: int = THUMB_PX) -> RawRGBA:
    """A small RGBA copy of an (h, w, 3|4) uint8 RGB(A) array (call off the GUI thread)."""
    h, w = rgba.shape[:2]
    step = max(1, max(h, w) // (box * 2))  # a strided view first: a whole layer is never averaged in full
    return _small_rgba(np.ascontiguousarray(rgba[::step, ::step]), _fit(w, h, box), bgr=False)


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


def _shrink(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average down to `size`: first by a whole factor (OpenCV's fast path, on a crop to a multiple of
    it: at most a few edge pixels, less than one pixel of the thumbnail), then the rest of the way."""
    h, w = pixels.shape[:2]
    factor = min(w // size[0], h // size[1])
    if factor > 1:
        crop = pixels[: h - h % factor, : w - w % factor]
        pixels = cv2.resize(crop, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def _small_rgba(pixels: np.ndarray, size: tuple[int, int], *, bgr: bool) -> RawRGBA:
    """Gray, RGB(A) or (OpenCV's) BGR(A) 8-bit pixels shrunk to `size` as RGBA."""
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels == 4 and cv2.minMaxLoc(cv2.extractChannel(pixels, 3))[0] < 255:
        # Shrinking straight colour would bleed the colour of see-through pixels into the edges around them.
        rgba = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA) if bgr else pixels
        small = cv2.cvtColor(_shrink(cv2.cvtColor(rgba, cv2.COLOR_RGBA2mRGBA), size), cv2.COLOR_mRGBA2RGBA)
    elif channels == 4 and not bgr:
        small = _shrink(pixels, size)
    else:  # converting colours after shrinking touches few pixels
        small = cv2.cvtColor(_shrink(pixels, size), (_BGR_TO_RGBA if bgr else _RGB_TO_RGBA)[channels])
    return RawRGBA(small.shape[1], small.shape[0], small.tobytes())


def bytes_thumbnail(data: bytes, box: int = THUMB_PX) -> RawRGBA:
    """Encoded image bytes straight to a thumbnail (call off the GUI thread); ValueError if unreadable.

    A streamed preview is a full-size PNG: decoding it is most of the time from its arrival to its thumbnail.
    OpenCV decodes it in one call that lets go of the GIL, where Pillow's PNG reader takes the GIL back for
    every chunk and ran 3-4x slower beside a GUI thread busy parsing the next event (bench/results/ui.md);
    the pixels are shrunk before any colour conversion, and JPEG decodes at a reduced scale.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:  # the header only: a bomb is refused before any pixel
            width, height, fmt = image.width, image.height, image.format
            if width * height > (Image.MAX_IMAGE_PIXELS or float("inf")):
                raise ValueError(f"the image claims {width}x{height} pixels")
            if fmt not in ("PNG", "JPEG", "WEBP"):  # GIF, BMP...: formats OpenCV may lack
                return _small_rgba(np.asarray(image.convert("RGBA")), _fit(width, height, box), bgr=False)
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(str(exc)) from exc
    size = _fit(width, height, box)
    flags = cv2.IMREAD_UNCHANGED
    if fmt == "JPEG":  # no alpha; libjpeg scales while decoding (keep twice the thumbnail for a clean shrink)
        reduce = min(width // size[0], height // size[1]) // 2
        flags = next((flag for factor, flag in _JPEG_REDUCED if reduce >= factor), cv2.IMREAD_COLOR)
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if pixels is None:
        raise ValueError("the image data is damaged or incomplete")
    if pixels.dtype != np.uint8:  # 16-bit PNG: the high byte
        pixels = np.right_shift(np.asarray(pixels), 8).astype(np.uint8)
    return _small_rgba(pixels, size, bgr=True)


def to_qimage(raw: RawRGBA) -> QImage:
    """Wrap ready bytes in a QImage (cheap; safe on the GUI thread). The copy detaches it from `raw`."""
    image = QImage(raw.data, raw.width, raw.height, raw.width * 4, QImage.Format.Format_RGBA8888)
    return image.copy()
