"""Results of another shape than requested land neither stretched nor shifted (pipeline/framing.py).

A relay that ignores `size` answers a square to a wide request. The model either squeezed the whole scene
into the square or kept its proportions and extended it above and below; both are built here from what the
request really sent, and each must come back exactly over the region.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pipeline_helpers import assert_placed_without_offset, photo_layer, rect_selection, request_image

from gimp_gptimage.pipeline import ContextOptions, PreparedEdit, paste_back, prepare_edit
from gimp_gptimage.pipeline.framing import request_frame

W, H = 1600, 1200
SIDE = 1024  # what the relay answers, whatever was asked


@pytest.fixture(scope="module")
def layer() -> np.ndarray:
    return photo_layer(W, H, seed=3)


@pytest.fixture(scope="module")
def wide(layer: np.ndarray) -> tuple[np.ndarray, PreparedEdit]:
    sel = rect_selection(H, W, 400, 500, 800, 220)
    prep = prepare_edit(layer, sel, options=ContextOptions(colour_match=False))
    width, height = prep.request_size
    assert width / height > 1.3  # a clearly wide request, so a square answer is clearly another shape
    return sel, prep


def squeezed(prep: PreparedEdit) -> np.ndarray:
    """The whole sent scene squeezed into the square."""
    return cv2.resize(request_image(prep), (SIDE, SIDE), interpolation=cv2.INTER_AREA)


def extended(prep: PreparedEdit) -> np.ndarray:
    """The sent scene at its own proportions across the square, with new scenery above and below."""
    sent = request_image(prep)
    height = round(SIDE * sent.shape[0] / sent.shape[1])
    out = photo_layer(SIDE, SIDE, seed=11)  # other scenery: what the model invented beyond the frame
    top = (SIDE - height) // 2
    out[top : top + height] = cv2.resize(sent, (SIDE, height), interpolation=cv2.INTER_AREA)
    return out


def test_a_result_of_the_requested_shape_is_used_as_it_is(wide) -> None:  # type: ignore[no-untyped-def]
    _, prep = wide
    larger = cv2.resize(request_image(prep), (prep.request_size[0] * 2, prep.request_size[1] * 2))
    assert request_frame(larger, prep.request_rgba, prep.keep_alpha) is larger


@pytest.mark.parametrize(("answer", "cut"), [(squeezed, False), (extended, True)], ids=["squeezed", "extended"])
def test_a_square_answer_to_a_wide_request_lands_exactly(layer, wide, answer, cut: bool) -> None:  # type: ignore[no-untyped-def]
    sel, prep = wide
    result = answer(prep)
    frame = request_frame(result, prep.request_rgba, prep.keep_alpha)
    if cut:
        width, height = prep.request_size
        assert frame.shape[1] == SIDE and abs(frame.shape[0] - SIDE * height / width) <= 1
    else:
        assert frame is result
    out = paste_back(prep, result, layer, sel)
    r = out.region
    original = layer[r.y : r.y + r.h, r.x : r.x + r.w].astype(np.int16)
    assert np.abs(out.pixels.astype(np.int16) - original).mean() < 6  # the scene, not a stretched copy of it
    assert_placed_without_offset(out.composite(layer), layer, r, tolerance=0.25)


def test_reading_it_the_other_way_would_have_distorted_it(layer, wide) -> None:  # type: ignore[no-untyped-def]
    """The control: the extended answer scaled straight back (the old behaviour) is far off the scene."""
    _, prep = wide
    r = prep.region
    stretched = cv2.resize(extended(prep), (r.w, r.h), interpolation=cv2.INTER_AREA)
    original = layer[r.y : r.y + r.h, r.x : r.x + r.w].astype(np.int16)
    assert np.abs(stretched.astype(np.int16) - original).mean() > 20


def test_a_whole_layer_edit_compares_every_pixel(layer) -> None:  # type: ignore[no-untyped-def]
    """Nothing selected means nothing kept: the whole picture is the evidence."""
    prep = prepare_edit(layer, None, options=ContextOptions(colour_match=False))
    width, height = prep.request_size
    tall = np.zeros((height * 2, width, 4), np.uint8)  # invented scenery above and below: plain black here
    tall[:, :, 3] = 255
    tall[height // 2 : height // 2 + height] = request_image(prep)
    frame = request_frame(tall, prep.request_rgba, prep.keep_alpha)
    assert frame.shape[:2] == (height, width)
    assert np.array_equal(frame, request_image(prep))
