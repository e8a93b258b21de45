"""decode_image: what the model sends back becomes the same 8-bit pixels Pillow would give, without the GIL."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from PIL import Image

from gimp_gptimage.pipeline.codec import decode_image
from gimp_gptimage.pipeline.errors import PipelineInputError

RNG = np.random.default_rng(7)
NOISE = RNG.integers(0, 256, (48, 64, 4), dtype=np.uint8)


def _encoded(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _pillow(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _samples() -> list[tuple[str, str, bytes]]:
    """Every mode each format can hold (JPEG has no alpha or palette, BMP no grey with alpha)."""
    samples = []
    for mode in ("RGBA", "RGB", "L", "LA", "P"):
        image = Image.fromarray(NOISE, "RGBA").convert(mode)
        for fmt in ("PNG", "WEBP", "JPEG", "GIF", "BMP"):
            with contextlib.suppress(OSError):
                samples.append((mode, fmt, _encoded(image, fmt, **({"lossless": True} if fmt == "WEBP" else {}))))
    return samples


@pytest.mark.parametrize(("mode", "fmt", "data"), _samples(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_mode_and_format_decodes_exactly_as_pillow_does(mode: str, fmt: str, data: bytes) -> None:
    decoded, expected = decode_image(data), _pillow(data)
    assert decoded.mode == expected.mode and decoded.size == expected.size
    assert np.array_equal(np.asarray(decoded), np.asarray(expected))


def test_sixteen_bit_png_keeps_the_high_byte() -> None:
    import cv2

    # A low byte of up to 3 must not round the high byte up.
    deep = np.minimum(NOISE[:, :, :3].astype(np.uint32) * 256 + 3, 65535).astype(np.uint16)

    ok, buffer = cv2.imencode(".png", cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    assert ok
    decoded = decode_image(buffer.tobytes())
    assert decoded.mode == "RGB"
    assert np.array_equal(np.asarray(decoded), NOISE[:, :, :3])


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: b"not an image at all", "cannot identify"),
        (lambda d: b"", "cannot identify"),
    ],
)
def test_damaged_data_gets_pillows_message(damage, words: str) -> None:  # type: ignore[no-untyped-def]
    data = _encoded(Image.fromarray(NOISE, "RGBA"), "PNG")
    with pytest.raises(PipelineInputError, match=words):
        decode_image(damage(data))


def test_a_decompression_bomb_is_refused_before_any_pixel_is_made() -> None:
    huge = _encoded(Image.new("L", (1, 1)), "PNG")
    # Rewrite the IHDR size: 60000 x 60000 claims 3.6 gigapixels in a few bytes.
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    bomb = huge[:8] + chunk + huge[8 + 25 :]
    with pytest.raises(PipelineInputError, match="decompression bomb"):
        decode_image(bomb)
