"""The CLI's file readers give Pillow's pixels exactly, whichever decoder reads the file: OpenCV for plain
8-bit PNGs (the fast path), Pillow for everything else and for every file OpenCV cannot read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from gimp_gptimage.cli.inputs import load_selection
from gimp_gptimage.image_files import InputFileError, load_rgba, plain_png


def pillow_rgba(path: Path) -> np.ndarray:
    """What the readers gave before OpenCV read any file (the reference)."""
    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            image = image.point(lambda v: v / 256).convert("L")
        return np.asarray(image.convert("RGBA"))


def noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize(
    ("mode", "save"),
    [
        ("RGB", {}),
        ("RGBA", {}),
        ("RGB", {"interlace": 1}),  # Adam7
        ("RGBA", {"compress_level": 9}),
    ],
)
def test_plain_pngs_are_read_by_opencv_with_pillows_pixels(tmp_path: Path, mode: str, save: dict) -> None:
    path = tmp_path / "plain.png"
    Image.fromarray(noise((37, 53, len(mode))), mode).save(path, **save)
    assert plain_png(path, ("RGB", "RGBA")) is not None  # the fast path is the one taken
    pixels = load_rgba(path)
    assert pixels.dtype == np.uint8 and pixels.flags.c_contiguous
    assert np.array_equal(pixels, pillow_rgba(path))


def save_rgb16(path: Path) -> None:
    cv2.imwrite(str(path), noise((20, 30, 3)).astype(np.uint16) * 257)


def save_palette(path: Path) -> None:
    Image.fromarray(noise((20, 30, 3))).quantize(16).save(path)


def save_colour_key(path: Path) -> None:
    Image.fromarray(noise((20, 30, 3)) // 64 * 64).save(path, transparency=(64, 128, 192))


def save_gray16(path: Path) -> None:
    Image.fromarray(noise((20, 30)).astype(np.uint16) * 200).save(path)


def save_jpeg(path: Path) -> None:
    Image.fromarray(noise((20, 30, 3))).save(path, "JPEG")


@pytest.mark.parametrize("save", [save_rgb16, save_palette, save_colour_key, save_gray16, save_jpeg])
def test_other_files_are_left_to_pillow_and_read_as_before(tmp_path: Path, save) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "other.png"
    save(path)
    assert plain_png(path, ("L", "RGB", "RGBA")) is None
    assert np.array_equal(load_rgba(path), pillow_rgba(path))


def test_a_png_cut_short_or_damaged_gets_pillows_message(tmp_path: Path) -> None:
    whole = tmp_path / "whole.png"
    Image.fromarray(noise((200, 300, 3))).save(whole, compress_level=0)
    data = whole.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    assert plain_png(cut, ("RGB",)) is None  # no IEND: OpenCV is not asked (it would print libpng's complaint)
    with pytest.raises(InputFileError, match=r"The image file .*cut\.png is "):
        load_rgba(cut)
    # A checksum OpenCV refuses, the structure intact: what Pillow alone made of it, pixels or its message.
    damaged = tmp_path / "damaged.png"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(flipped))
    assert plain_png(damaged, ("RGB",)) is None
    try:
        expected = pillow_rgba(damaged)
    except OSError:
        with pytest.raises(InputFileError, match=r"damaged\.png is damaged or truncated"):
            load_rgba(damaged)
    else:
        assert np.array_equal(load_rgba(damaged), expected)


def test_a_missing_file_is_still_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        load_rgba(tmp_path / "nowhere.png")


@pytest.mark.parametrize("mode", ["L", "RGB", "LA"])
def test_selections_read_either_way_are_the_same(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "sel.png"
    Image.fromarray(noise((40, 60, len(mode)))[..., 0] if mode == "L" else noise((40, 60, len(mode))), mode).save(path)
    assert (plain_png(path, ("L",)) is not None) == (mode == "L")
    with Image.open(path) as image:
        if mode == "LA":
            rgba = np.asarray(image.convert("RGBA"))
            gray = np.asarray(Image.fromarray(rgba[..., :3]).convert("L"), dtype=np.uint16)
            expected = ((gray * rgba[..., 3] + 127) // 255).astype(np.uint8)
        else:
            expected = np.asarray(image.convert("L"))
    assert np.array_equal(load_selection(path, (60, 40)), expected)
    with pytest.raises(InputFileError, match="The selection is 60x40 but the image is 61x40"):
        load_selection(path, (61, 40))


def test_the_cli_starts_reading_before_it_loads_the_http_client() -> None:
    """The edit's input thread starts once the command line and the readers are imported: neither brings the
    HTTP client (the api package loads its names on first use), so decoding begins that much sooner."""
    probe = (
        "import sys\nimport gimp_gptimage.cli.main, gimp_gptimage.cli.inputs\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'keyring', 'gimp_gptimage.api.client') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert loaded.stdout.strip() == "[]", loaded.stderr
    from gimp_gptimage.api import ImagesClient  # the package's names are all still there

    assert ImagesClient.__module__ == "gimp_gptimage.api.client"
