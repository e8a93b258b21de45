"""The paste-back contract: unselected pixels untouched, results placed with zero offset anywhere."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pipeline_helpers import (
    assert_exact_outside,
    assert_placed_exactly,
    assert_placed_without_offset,
    changed_pixels,
    identity_engine,
    noise_engine,
    photo_layer,
    rect_selection,
    shifted_engine,
    within_chebyshev,
)

from gimp_gptimage.pipeline import ContextOptions, paste_back, prepare_edit

LAYER_W, LAYER_H = 1400, 1300


@pytest.fixture(scope="module")
def layer() -> np.ndarray:
    return photo_layer(LAYER_W, LAYER_H, seed=1)


# A 624 x 624 selection gets a 1248 x 1248 context in auto mode, which is itself a valid request size:
# no resampling, so an unchanged result must come back bit for bit, wherever the box is slid to.
SIDE = 624
PLACES = {
    "centre": ((LAYER_W - SIDE) // 2, (LAYER_H - SIDE) // 2),
    "odd position": (7, 3),
    "top-left corner": (0, 0),
    "top edge": (500, 0),
    "bottom edge": (500, LAYER_H - SIDE),
    "left edge": (0, 400),
    "right edge": (LAYER_W - SIDE, 400),
    "bottom-right corner": (LAYER_W - SIDE, LAYER_H - SIDE),
}


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_identity_engine_gives_back_the_original_exactly_and_a_shift_is_caught(layer, place) -> None:
    x, y = place
    sel = rect_selection(LAYER_H, LAYER_W, x, y, SIDE, SIDE)
    prep = prepare_edit(layer, sel, layer_offset=(100, -40))
    assert prep.request_size == (prep.region.w, prep.region.h) == (1248, 1248)

    out = paste_back(prep, identity_engine(prep), layer, sel)
    assert out.offset == (100 + prep.region.x, -40 + prep.region.y)
    assert_placed_exactly(out.composite(layer), layer)

    moved = paste_back(prep, shifted_engine(prep, dx=1), layer, sel)
    with pytest.raises(AssertionError):
        assert_placed_exactly(moved.composite(layer), layer)


SMALL_PLACES = {"centre": (975, 735), "top-left": (0, 0), "bottom-right": (LAYER_W - 50, LAYER_H - 30)}


@pytest.mark.parametrize("place", SMALL_PLACES.values(), ids=SMALL_PLACES.keys())
@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-1.5"])
def test_rescaled_result_is_placed_without_offset_and_a_shift_is_caught(layer, place, model) -> None:
    x, y = place
    sel = rect_selection(LAYER_H, LAYER_W, x, y, 50, 30)
    prep = prepare_edit(layer, sel, model=model)
    assert prep.request_size != (prep.region.w, prep.region.h)  # the point: it was rescaled
    r = prep.region
    box = (r.x, r.y, r.w, r.h)
    # Judge placement over the whole region: paste everywhere in it.
    full = rect_selection(LAYER_H, LAYER_W, r.x, r.y, r.w, r.h)
    out = paste_back(prep, identity_engine(prep), layer, full)
    assert_placed_without_offset(out.composite(layer), layer, box)

    scale = prep.content.w / r.w
    moved = paste_back(prep, shifted_engine(prep, dx=max(1, round(scale))), layer, full)
    with pytest.raises(AssertionError):
        assert_placed_without_offset(moved.composite(layer), layer, box)


def test_whole_layer_edit_is_placed_without_offset(layer) -> None:
    prep = prepare_edit(layer, None)
    assert prep.region == (0, 0, LAYER_W, LAYER_H)
    out = paste_back(prep, identity_engine(prep), layer, None)
    assert out.offset == (0, 0) and (out.alpha == 255).all()
    assert_placed_without_offset(out.composite(layer), layer, (0, 0, LAYER_W, LAYER_H))


def test_with_zero_margin_every_unselected_pixel_is_bit_identical(layer) -> None:
    sel = rect_selection(LAYER_H, LAYER_W, 300, 200, 400, 300)
    sel[250:260, 350:900] = 255  # an irregular shape
    opts = ContextOptions(blend_margin_px=0)
    prep = prepare_edit(layer, sel, options=opts)
    out = paste_back(prep, noise_engine(prep), layer, sel)
    composite = out.composite(layer)
    assert_exact_outside(composite, layer, sel > 0)
    assert changed_pixels(composite, layer)[sel > 0].mean() > 0.9  # and the edit did land


@pytest.mark.parametrize("margin", [1, 8, 20])
def test_soft_edge_reaches_at_most_the_margin_outside_the_selection(layer, margin) -> None:
    sel = rect_selection(LAYER_H, LAYER_W, 500, 400, 300, 200)
    prep = prepare_edit(layer, sel, options=ContextOptions(blend_margin_px=margin))
    out = paste_back(prep, noise_engine(prep), layer, sel)
    composite = out.composite(layer)
    assert_exact_outside(composite, layer, within_chebyshev(sel > 0, margin))
    # The margin is really used: the blend reaches past the selection...
    r = prep.region
    alpha = np.zeros((LAYER_H, LAYER_W), np.uint8)
    assert out.alpha is not None
    alpha[r.y : r.y + r.h, r.x : r.x + r.w] = out.alpha
    assert (alpha[sel == 0] > 0).any()
    assert not (alpha[~within_chebyshev(sel > 0, margin)] > 0).any()
    # ...and fades monotonically: one pixel out is weaker than inside, stronger than farther out.
    row = alpha[500, 800 : 800 + margin + 2].astype(int)
    assert (np.diff(row) <= 0).all() and row[0] < 255 and row[-1] == 0


def test_default_margin_is_honoured(layer) -> None:
    opts = ContextOptions()
    sel = rect_selection(LAYER_H, LAYER_W, 900, 700, 120, 80)
    prep = prepare_edit(layer, sel)
    composite = paste_back(prep, noise_engine(prep), layer, sel).composite(layer)
    assert_exact_outside(composite, layer, within_chebyshev(sel > 0, opts.blend_margin_px))


def test_identity_result_of_a_translucent_layer_keeps_alpha(layer) -> None:
    translucent = layer.copy()
    translucent[:, :, 3] = np.tile(np.arange(LAYER_W, dtype=np.uint16) % 256, (LAYER_H, 1)).astype(np.uint8)
    sel = rect_selection(LAYER_H, LAYER_W, 688, 438, SIDE, SIDE)
    prep = prepare_edit(translucent, sel)
    assert Image.open(io.BytesIO(prep.image_png)).mode == "RGBA"
    out = paste_back(prep, identity_engine(prep), translucent, sel)
    assert_placed_exactly(out.composite(translucent), translucent)
