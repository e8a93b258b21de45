"""Thumbnails: results as they will land in the picture, and encoded previews decoded straight to size."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from qt_ui.images import bytes_thumbnail, result_thumbnail


def pixels_of(raw) -> np.ndarray:
    return np.frombuffer(raw.data, np.uint8).reshape(raw.height, raw.width, 4)


def test_outside_the_mask_the_thumbnail_shows_the_original() -> None:
    under = np.zeros((300, 400, 4), np.uint8)
    under[..., 2:] = 255  # opaque blue
    result = np.zeros_like(under)
    result[..., 0] = 255
    result[..., 3] = 255  # opaque red, the model redrew everything
    alpha = np.zeros((300, 400), np.uint8)
    alpha[:, 200:] = 255  # only the right half was selected
    thumb = pixels_of(result_thumbnail(result, alpha, under, box=100))
    left, right = thumb[:, : thumb.shape[1] // 2 - 2], thumb[:, thumb.shape[1] // 2 + 2 :]
    assert (left[..., 2] == 255).all() and (left[..., 0] == 0).all()
    assert (right[..., 0] == 255).all() and (right[..., 2] == 0).all()


def test_without_a_mask_the_result_is_shown_as_it_is() -> None:
    result = np.full((50, 80, 4), 200, np.uint8)
    thumb = pixels_of(result_thumbnail(result, None, None, box=40))
    assert thumb.shape[1] == 40 and (thumb == 200).all()


# -- bytes_thumbnail: a streamed preview or a history file straight to a thumbnail --------------------------

PHOTO = np.asarray(Image.open(Path(__file__).parent.parent / "resources" / "coffee.png").convert("RGBA"))


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buffer.getvalue()


def _samples() -> list[tuple[str, str, bytes]]:
    """The photo in every mode each format can hold (JPEG has no alpha or palette, BMP no grey with alpha)."""
    samples = []
    for mode in ("RGBA", "RGB", "L", "LA", "P"):
        image = Image.fromarray(PHOTO, "RGBA").convert(mode)
        for fmt in ("PNG", "WEBP", "JPEG", "GIF", "BMP"):
            with contextlib.suppress(OSError):
                samples.append((mode, fmt, _encoded(image, fmt)))
    return samples


def _reference(data: bytes, size: tuple[int, int]) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA").resize(size, Image.Resampling.BOX), np.int16)


@pytest.mark.parametrize(("mode", "fmt", "data"), _samples(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_mode_and_format_gives_the_picture_pillow_sees(mode: str, fmt: str, data: bytes) -> None:
    raw = bytes_thumbnail(data, box=120)
    assert (raw.width, raw.height) == (120, 80)  # 600 x 400 fitted, aspect kept
    thumb = pixels_of(raw).astype(np.int16)
    difference = np.abs(thumb - _reference(data, (120, 80)))
    assert difference.mean() < 2.5 and np.percentile(difference, 99) <= 24  # resampling differs, not colours


def test_a_big_jpeg_is_decoded_at_reduced_scale_and_still_looks_right() -> None:
    big = Image.fromarray(PHOTO[:, :, :3]).resize((4800, 3200), Image.Resampling.BICUBIC)
    data = _encoded(big, "JPEG")
    thumb = pixels_of(bytes_thumbnail(data, box=120)).astype(np.int16)
    assert thumb.shape == (80, 120, 4)
    assert np.abs(thumb - _reference(data, (120, 80))).mean() < 2.5


def test_sixteen_bit_png_keeps_the_high_byte() -> None:
    # A low byte of up to 3 must not round the high byte up.
    deep = np.minimum(PHOTO[:, :, :3].astype(np.uint32) * 256 + 3, 65535).astype(np.uint16)
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    assert ok
    raw = bytes_thumbnail(buffer.tobytes(), box=600)
    assert np.array_equal(pixels_of(raw)[:, :, :3], PHOTO[:, :, :3])


def test_see_through_pixels_do_not_darken_the_edges_around_them() -> None:
    """Transparent pixels are black here: a straight average would turn the white shape's edge grey."""
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[:, 45:] = 255  # opaque white from column 45, transparent black before it
    thumb = pixels_of(bytes_thumbnail(_encoded(Image.fromarray(rgba, "RGBA"), "PNG"), box=10))
    edge = thumb[:, 4]  # averages source columns 40-49: five transparent, five opaque
    assert np.isin(edge[:, 3], (127, 128)).all()
    assert (edge[:, :3] >= 250).all()


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: d[: len(d) // 2], "damaged or incomplete"),
        (lambda d: b"not an image at all", "unknown format"),
        (lambda d: b"", "unknown format"),
    ],
)
def test_damaged_data_is_a_value_error(damage, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=words):
        bytes_thumbnail(damage(_encoded(Image.fromarray(PHOTO, "RGBA"), "PNG")))


def test_a_decompression_bomb_is_refused_before_any_pixel_is_made() -> None:
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)  # 900 megapixels claimed in a few bytes
    ihdr = struct.pack(">I", 13) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    tiny = _encoded(Image.new("RGB", (1, 1)), "PNG")
    with pytest.raises(ValueError, match=r"30000x30000|decompression bomb"):
        bytes_thumbnail(tiny[:8] + ihdr + tiny[8 + 25 :])
