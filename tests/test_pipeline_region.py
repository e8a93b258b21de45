"""Context region and masks: how much surroundings the model sees and where it may paint."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline_helpers import photo_layer, rect_selection, request_mask_alpha

from gimp_gptimage.pipeline import ContextOptions, PipelineInputError, Rect, paste_back, prepare_edit
from gimp_gptimage.pipeline.region import context_region, grow_to_aspect, selection_bounds


def test_selection_bounds_of_hard_soft_and_empty_selections() -> None:
    sel = np.zeros((50, 80), np.uint8)
    assert selection_bounds(sel) is None
    sel[10, 20] = 1  # the faintest soft pixel counts
    assert selection_bounds(sel) == Rect(20, 10, 1, 1)
    sel[30:40, 5:8] = 255
    assert selection_bounds(sel) == Rect(5, 10, 16, 30)


def test_auto_context_follows_krita_padding_rule() -> None:
    # 600 x 400 in 6000 x 4000: padding max(6000/16, 500/2) = 375 on every side.
    assert context_region(Rect(2700, 1800, 600, 400), 6000, 4000, "auto", 0) == Rect(2325, 1425, 1350, 1150)
    # Big selection: half its average side wins.
    assert context_region(Rect(1000, 1000, 2000, 1000), 6000, 4000, "auto", 0) == Rect(250, 250, 3500, 2500)
    # Tiny selection: at least 512 px per side.
    assert context_region(Rect(100, 100, 1, 1), 1000, 1000, "auto", 0).w == 512


def test_auto_context_slides_inside_the_layer_instead_of_shrinking() -> None:
    corner = context_region(Rect(0, 0, 600, 400), 6000, 4000, "auto", 0)
    assert corner == Rect(0, 0, 1350, 1150)
    far = context_region(Rect(5400, 3600, 600, 400), 6000, 4000, "auto", 0)
    assert far == Rect(4650, 2850, 1350, 1150)
    # Only a layer smaller than the wanted context limits it.
    assert context_region(Rect(10, 10, 50, 50), 300, 200, "auto", 0) == Rect(0, 0, 300, 200)


def test_padding_and_whole_modes() -> None:
    assert context_region(Rect(100, 50, 200, 100), 1000, 800, "padding", 64) == Rect(36, 0, 328, 214)
    assert context_region(Rect(100, 50, 200, 100), 1000, 800, "whole", 64) == Rect(0, 0, 1000, 800)


def test_grow_to_aspect_stays_in_the_layer_and_keeps_the_region() -> None:
    grown = grow_to_aspect(Rect(100, 0, 900, 100), 3.0, 1000, 250)
    assert grown == Rect(100, 0, 900, 250)  # wanted 300 tall, the layer has 250
    grown = grow_to_aspect(Rect(0, 500, 300, 200), 1.5, 1000, 1000)
    assert grown == Rect(0, 500, 300, 200)
    grown = grow_to_aspect(Rect(800, 100, 200, 200), 1.5, 1000, 1000)
    assert grown == Rect(700, 100, 300, 200)  # slid left at the right edge


def test_mask_is_the_selection_grown_then_feathered() -> None:
    layer = photo_layer(2000, 1500, seed=9)
    sel = rect_selection(1500, 2000, 688, 438, 624, 624)  # region == request: mask pixels == layer pixels
    opts = ContextOptions(grow_px=10, feather_px=20)
    prep = prepare_edit(layer, sel, options=opts)
    assert prep.request_size == (prep.region.w, prep.region.h)
    mask = request_mask_alpha(prep)
    r = prep.region
    row = mask[438 - r.y + 300]  # a row through the middle of the selection
    left = 688 - r.x  # first selected column in the mask
    assert (row[left : left + 624] == 0).all()  # the selection is editable
    assert (row[left - 10 : left] == 0).all()  # grown by 10 px
    ramp = row[left - 31 : left - 10][::-1].astype(int)  # then feathered over 20 px
    assert ramp[0] < 30 and ramp[-1] == 255 and (np.diff(ramp) >= 0).all()
    assert (row[: left - 31] == 255).all()  # and the rest is kept


def test_paste_back_needs_the_same_layer_and_selection() -> None:
    layer = photo_layer(400, 300)
    sel = rect_selection(300, 400, 10, 10, 50, 50)
    prep = prepare_edit(layer, sel)
    with pytest.raises(PipelineInputError, match="selection"):
        paste_back(prep, prep.image_png, layer, None)
    with pytest.raises(PipelineInputError, match="changed size"):
        paste_back(prep, prep.image_png, photo_layer(300, 300), rect_selection(300, 300, 10, 10, 5, 5))
    out = paste_back(prep, prep.image_png, layer, sel)
    with pytest.raises(PipelineInputError, match="larger layer"):
        out.composite(photo_layer(100, 100))
