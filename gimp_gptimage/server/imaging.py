"""Image I/O for the local server: decoding uploads, picking output sizes, encoding results and previews."""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np
from PIL import Image, ImageFilter

from ..api.image_rules import API_FORMATS, nearest_fixed_size, open_image
from ..api.params import GRID, MAX_EDGE, MAX_PIXELS, MAX_RATIO, MIN_PIXELS, model_spec
from ..pipeline.codec import encode_png

DEFAULT_QUALITY = 90  # encoder quality when output_compression is not given
AUTO_PIXELS = 1024 * 1024  # size=auto aims at about a megapixel, like the real models


def decode_image(data: bytes) -> Image.Image:
    """A fully loaded upload; UnreadableImage if it is not a PNG/JPEG/WebP within the one pixel limit that
    every image from outside obeys (api.image_rules)."""
    return open_image(data, formats=API_FORMATS)


def _free_size_for_aspect(aspect: float) -> tuple[int, int]:
    """The valid gpt-image-2 size closest to a megapixel with the given width/height ratio."""
    aspect = min(max(aspect, 1 / MAX_RATIO), MAX_RATIO)
    width = round(math.sqrt(AUTO_PIXELS * aspect) / GRID) * GRID
    height = round(math.sqrt(AUTO_PIXELS / aspect) / GRID) * GRID
    width, height = min(width, MAX_EDGE), min(height, MAX_EDGE)
    while width * height < MIN_PIXELS:
        width, height = width + GRID, height + GRID
    while width * height > MAX_PIXELS:
        width, height = width - GRID, height - GRID
    return width, height


def resolve_size(size: str, model: str, source: tuple[int, int] | None) -> tuple[int, int]:
    """The pixel size to produce: the requested one, or for `auto` one that keeps the input's aspect."""
    if size != "auto":
        width, height = size.split("x")
        return int(width), int(height)
    spec = model_spec(model)
    aspect = source[0] / source[1] if source else 1.0
    if spec is not None and not spec.free_sizes:
        return nearest_fixed_size(*source) if source else nearest_fixed_size(1, 1)
    return _free_size_for_aspect(aspect)


def encode_image(image: Image.Image, output_format: str, compression: int | None) -> bytes:
    """Encode as png/jpeg/webp; `compression` is the API's 0-100 quality for the lossy formats."""
    buffer = io.BytesIO()
    if output_format == "jpeg":
        image.convert("RGB").save(buffer, "JPEG", quality=compression if compression is not None else DEFAULT_QUALITY)
    elif output_format == "webp":
        quality = compression if compression is not None else DEFAULT_QUALITY
        image.save(buffer, "WEBP", quality=quality, method=0)
    elif image.mode in ("RGB", "RGBA"):
        # The pipeline's fast PNG settings: a quarter of Pillow's time at its level 1, and smaller files.
        return encode_png(np.asarray(image), keep_alpha=image.mode == "RGBA")
    else:
        image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def preview(image: Image.Image, step: int, steps: int) -> Image.Image:
    """Partial image `step` of `steps`: a blurred low-resolution version that sharpens with each step."""
    factor = 2 ** (steps - step + 1)
    small = image.resize((max(1, image.width // factor), max(1, image.height // factor)), Image.Resampling.BILINEAR)
    return small.resize(image.size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(factor / 2))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header declares enormous dimensions: a client must check before decoding."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = zlib.compress(b"\x00" * (width * 3 + 1) * 4, 9)  # only the first rows are present
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")
