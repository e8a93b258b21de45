"""The `markup` upload of a 2.6 edit: a PNG, transparent except the annotations, the first image's size.

Checked before sending with the same rule (and words) the local server answers with (params.markup_violation).
"""

from __future__ import annotations

import io
from typing import cast

from PIL import Image

from .multipart import FilePart
from .params import markup_violation


def has_transparent_pixels(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        low, _high = cast(tuple[int, int], image.convert("RGBA").getchannel("A").getextrema())  # one band: ints
        return low < 255
    return False


def markup_facts(data: bytes) -> tuple[str | None, tuple[int, int] | None, bool]:
    """(format, size, has transparent pixels) of a markup file; (None, None, False) when unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format, image.size, has_transparent_pixels(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None, None, False


def _size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return (0, 0)


def markup_part(markup: bytes, first_image: bytes) -> FilePart:
    """The multipart part, or ValidationError saying what is wrong with the markup."""
    fmt, size, transparent = markup_facts(markup)
    problem = markup_violation(fmt, size, _size(first_image), transparent)
    if problem is not None:
        raise problem.to_error()
    return FilePart("markup", "markup.png", "image/png", markup)
