"""The rules every image from outside obeys, written once for the client, the local server and the readers.

- One decoder (`open_image`) with one decompression-bomb limit, for result bytes, downloaded links,
  streamed previews, uploads to the local server and files a person picked.
- The upload rules of the Images API: each file under 50 MB; a mask is a PNG with an alpha channel and the
  first image's pixel size.
- The fixed request size nearest in shape, for models that take only three sizes.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .params import FIXED_SIZES, parse_size

# The API's per-file limit: "each image must be smaller than 50 MB", so 50 MB itself is refused.
MAX_IMAGE_BYTES = 50 * 1024 * 1024
# Above a 60-megapixel camera's photo and eight times the largest result a model returns, far below what a
# decompression bomb declares (a 60,000 x 60,000 PNG of a few kilobytes); decoded as RGBA it is 256 MB.
# Checked from the header, before a pixel is decoded.
MAX_DECODE_PIXELS = 8192 * 8192
API_FORMATS = ("PNG", "JPEG", "WEBP")

FIXED_SIZE_TUPLES: tuple[tuple[int, int], ...] = tuple(wh for wh in map(parse_size, FIXED_SIZES) if wh is not None)


class UnreadableImage(ValueError):
    """Bytes or a file that are not a whole, sane image; the message is a phrase to put after "it is not a
    readable image: " (callers add what the image was)."""


class UnknownImageFormat(UnreadableImage):
    """Not an image format Pillow knows (or not an image at all: a web page, text)."""


class ImageTooLarge(UnreadableImage):
    """The header declares more pixels than MAX_DECODE_PIXELS: refused before decoding."""


def too_large_upload(size_bytes: int) -> bool:
    return size_bytes >= MAX_IMAGE_BYTES


def open_image(source: bytes | Path, *, formats: tuple[str, ...] | None = None, load: bool = True) -> Image.Image:
    """The image, fully decoded unless `load` is false (then only its header is read, and the bomb check
    done); UnreadableImage saying why not. `formats` limits the accepted formats (Pillow's names).

    FileNotFoundError, IsADirectoryError and PermissionError from a path pass through: they are about the
    file, not the image."""
    try:
        with warnings.catch_warnings():
            # Pillow warns from its own (lower) limit up; this module's limit is the one that decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            stream = io.BytesIO(source) if isinstance(source, bytes) else None
            image = Image.open(stream or source)
        if image.width * image.height > MAX_DECODE_PIXELS:
            image.close()
            raise ImageTooLarge(
                f"it claims {image.width}x{image.height} pixels, more than the {MAX_DECODE_PIXELS:,} allowed "
                "(a decompression bomb)"
            )
        if formats is not None and image.format not in formats:
            image.close()
            raise UnreadableImage(f"it is a {image.format} image; only {', '.join(formats)} are accepted")
        if load:
            image.load()  # a full decode: catches truncated or corrupt data of every format, not just PNG
            if stream is not None:
                stream.close()  # Pillow keeps its stream: the decoded image must not keep the bytes alive
    except UnreadableImage:
        raise
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except UnidentifiedImageError:
        if not isinstance(source, bytes):
            raise UnknownImageFormat("unknown format") from None
        if source[:4096].lstrip()[:1] == b"<":
            raise UnknownImageFormat(f"it is a web page ({_page_title(source[:4096], len(source))})") from None
        raise UnknownImageFormat(f"unknown format, {len(source):,} bytes starting {source[:16]!r}") from None
    except Image.DecompressionBombError:
        raise ImageTooLarge(
            f"it claims more than the {MAX_DECODE_PIXELS:,} pixels allowed (a decompression bomb)"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImage(f"damaged or truncated ({exc})") from None
    return image


def _page_title(head: bytes, size: int) -> str:
    from .error_mapping import html_title  # here: it brings httpx, which a reader of image files does not need

    title = html_title(head.decode("utf-8", errors="replace"))[:80]
    return f"'{title}'" if title else f"{size:,} bytes of HTML"


def has_alpha(image: Image.Image) -> bool:
    """Whether an image carries transparency: an alpha band, or a palette/gray transparency entry."""
    return "A" in image.getbands() or "transparency" in image.info


def mask_problem(mask: Image.Image, image_size: tuple[int, int]) -> tuple[str, str] | None:
    """(rule, what is wrong) when a decoded mask breaks the API's mask rules for a first image of
    `image_size`, else None. The wording of the "what" part is the real API's."""
    if mask.format != "PNG":
        return "mask is PNG", "mask must be a PNG image"
    if not has_alpha(mask):
        return "mask needs alpha", "mask image missing alpha channel"
    if mask.size != image_size:
        return "mask size", "mask size does not match image size"
    return None


def nearest_fixed_size(width: int, height: int) -> tuple[int, int]:
    """The fixed request size closest in aspect ratio to width x height (the square one on a tie)."""
    aspect = math.log(width / height)
    return min(FIXED_SIZE_TUPLES, key=lambda wh: (abs(math.log(wh[0] / wh[1]) - aspect), wh[0] != wh[1]))
