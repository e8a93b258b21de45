"""The CLI's full-size PNG writer (pipeline/layer_png.py): strips encoded in parallel, unchanged ones reused.

Every file must decode — with Pillow and with OpenCV (libpng), which both check the CRCs and the Adler-32 —
to exactly `PasteResult.composite`, wherever the region falls against the strip boundaries."""

from __future__ import annotations

import dataclasses
import io
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pipeline_helpers import noise_engine, rect_selection

from gimp_gptimage.pipeline import ContextOptions, PasteResult, Rect, paste_back, prepare_edit
from gimp_gptimage.pipeline.codec import encode_png
from gimp_gptimage.pipeline.layer_png import LayerPng, _adler32_combine


def photo(height: int, width: int, seed: int = 0, translucent: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 200, width, dtype=np.float32)[None, :, None]
    pixels = np.clip(gradient + rng.normal(0, 12, (height, width, 4)), 0, 255).astype(np.uint8)
    pixels[:, :, 3] = 255
    if translucent:
        pixels[::3, ::2, 3] = rng.integers(0, 255, pixels[::3, ::2, 3].shape, dtype=np.uint8)
    return pixels


def decoded_by_both(png: bytes, keep_alpha: bool) -> np.ndarray:
    """The RGB(A) pixels of `png` as Pillow reads them, after checking OpenCV reads the same."""
    with Image.open(io.BytesIO(png)) as image:
        assert image.mode == ("RGBA" if keep_alpha else "RGB")
        pixels = np.asarray(image)
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr is not None
    assert np.array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGBA if keep_alpha else cv2.COLOR_BGR2RGB), pixels)
    return pixels


def expected(composite: np.ndarray, keep_alpha: bool) -> np.ndarray:
    return composite if keep_alpha else composite[:, :, :3]


def soft_result(layer: np.ndarray, x: int, y: int, w: int, h: int, seed: int = 1) -> PasteResult:
    """A result for a (x, y, w, h) selection with a feathered paste-back mask (an 8-pixel margin)."""
    selection = rect_selection(layer.shape[0], layer.shape[1], x, y, w, h)
    prep = prepare_edit(layer, selection, options=ContextOptions(blend_margin_px=8))
    return paste_back(prep, noise_engine(prep, seed), layer, selection)


@pytest.mark.parametrize("keep_alpha", [False, True])
@pytest.mark.parametrize("prefetch", [False, True])
def test_the_file_is_the_composite(keep_alpha: bool, prefetch: bool) -> None:
    layer = photo(700, 900, translucent=True)
    placed = soft_result(layer, 300, 250, 200, 150)
    before = layer.copy()
    with LayerPng(layer, keep_alpha=keep_alpha) as writer:
        if prefetch:
            writer.prefetch()
        png = writer.png(placed)
    assert np.array_equal(decoded_by_both(png, keep_alpha), expected(placed.composite(layer), keep_alpha))
    assert np.array_equal(layer, before)  # the layer itself is left as it was


def test_unchanged_strips_are_shared_and_each_result_gets_its_own_rows() -> None:
    """Two results and the layer as it is, from one writer: the strips encoded in advance serve all three."""
    layer = photo(1200, 700)
    first, second = soft_result(layer, 100, 100, 120, 90, seed=1), soft_result(layer, 400, 900, 200, 200, seed=2)
    with LayerPng(layer, keep_alpha=False) as writer:
        writer.prefetch()
        pngs = [writer.png(first), writer.png(second), writer.png(), writer.png(first)]
    assert np.array_equal(decoded_by_both(pngs[0], False), first.composite(layer)[:, :, :3])
    assert np.array_equal(decoded_by_both(pngs[1], False), second.composite(layer)[:, :, :3])
    assert np.array_equal(decoded_by_both(pngs[2], False), layer[:, :, :3])
    assert pngs[3] == pngs[0]


def test_a_region_without_a_mask_replaces_its_pixels() -> None:
    layer = photo(300, 500)
    placed = dataclasses.replace(soft_result(layer, 50, 60, 100, 80), alpha=None)
    with LayerPng(layer, keep_alpha=True) as writer:
        assert np.array_equal(decoded_by_both(writer.png(placed), True), placed.composite(layer))


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 160),
    width=st.integers(1, 90),
    data=st.data(),
    keep_alpha=st.booleans(),
)
def test_any_region_against_any_strip_boundary(height: int, width: int, data: st.DataObject, keep_alpha: bool) -> None:
    """Small strips (a few rows) so regions start, end and sit exactly at strip boundaries; the row below a
    region must be re-encoded too, as its filter reads the region's last row."""
    layer = photo(height, width, seed=height * 1000 + width, translucent=True)
    y = data.draw(st.integers(0, height - 1))
    h = data.draw(st.integers(1, height - y))
    x = data.draw(st.integers(0, width - 1))
    w = data.draw(st.integers(1, width - x))
    rng = np.random.default_rng(y * 7 + x)
    pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    alpha = data.draw(st.sampled_from([None, "random", "opaque", "clear"]))
    mask = {
        None: None,
        "random": rng.integers(0, 256, (h, w), dtype=np.uint8),
        "opaque": np.full((h, w), 255, np.uint8),
        "clear": np.zeros((h, w), np.uint8),
    }[alpha]
    placed = PasteResult(pixels=pixels, offset=(x, y), alpha=mask, region=Rect(x, y, w, h))
    rows = data.draw(st.integers(1, 9))
    writer = LayerPng(layer, keep_alpha=keep_alpha, strip_bytes=rows * width * (4 if keep_alpha else 3))
    with writer:
        if data.draw(st.booleans()):
            writer.prefetch()
        png = writer.png(placed)
    assert np.array_equal(decoded_by_both(png, keep_alpha), expected(placed.composite(layer), keep_alpha))


def test_a_photo_is_no_larger_than_opencvs_file_with_the_same_settings() -> None:
    """Strips cost a few bytes each (a sync flush, a chunk header, a window that starts empty)."""
    layer = photo(1500, 2000)
    with LayerPng(layer, keep_alpha=False) as writer:
        ours = len(writer.png())
    theirs = len(encode_png(layer, keep_alpha=False))
    assert ours <= theirs * 1.01


def test_a_result_for_another_layer_is_refused() -> None:
    layer = photo(100, 100)
    placed = PasteResult(np.zeros((50, 50, 4), np.uint8), (80, 80), None, Rect(80, 80, 50, 50))
    with LayerPng(layer, keep_alpha=False) as writer, pytest.raises(Exception, match="larger layer"):
        writer.png(placed)


def test_closing_drops_strips_not_yet_encoded() -> None:
    """A job that fails after the prefetch started must not keep the CLI busy encoding a file nobody gets."""
    writer = LayerPng(photo(2000, 1500), keep_alpha=False, strip_bytes=1500 * 3)  # 2,000 one-row strips
    writer.prefetch()
    writer.close()
    strips = list(writer._unchanged.values())
    still_running = [strip for strip in strips if not strip.done()]
    assert len(still_running) <= 1  # the one the prefetch thread was encoding: none waits for its turn
    assert sum(strip.cancelled() for strip in strips) > len(strips) // 2


@given(st.binary(max_size=3000), st.binary(max_size=3000))
def test_adler32_combine_is_zlibs(first: bytes, second: bytes) -> None:
    assert _adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second)) == zlib.adler32(first + second)


def test_the_final_block_is_zlibs_empty_stream() -> None:
    assert zlib.compress(b"", wbits=-15) == b"\x03\x00"
