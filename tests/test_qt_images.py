"""Result thumbnails show the result as it will land in the picture, not the model's whole redraw."""

from __future__ import annotations

import numpy as np

from qt_ui.images import result_thumbnail


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
