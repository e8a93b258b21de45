"""Where the selection is, and which part of the layer to send as context."""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np

ContextMode = Literal["auto", "whole", "padding"]

# Krita AI Diffusion's context rule: at least this many pixels per side when the layer allows.
MIN_CONTEXT_SIDE = 512


class Rect(NamedTuple):
    """A box in layer pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int


def selection_bounds(selection: np.ndarray) -> Rect | None:
    """Bounding box of the non-zero coverage, or None if nothing is selected.

    Reads the selection once by rows and then only the selected rows by columns, so a 12k x 12k
    memmap is scanned without any full-size temporary.
    """
    rows = np.flatnonzero(selection.max(axis=1))
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(selection[top:bottom].max(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    return Rect(left, top, right - left, bottom - top)


def _place(centre: float, length: int, limit: int) -> int:
    """Start of a span of `length` centred on `centre`, slid back inside [0, limit)."""
    start = math.floor(centre - length / 2)
    return min(max(start, 0), limit - length)


def _span_around(start: int, length: int, want: int, limit: int) -> tuple[int, int]:
    """A span of about `want` pixels containing [start, start+length), slid (not shrunk) into [0, limit)."""
    size = min(max(want, length), limit)
    pos = _place(start + length / 2, size, limit)
    # Rounding of the centre must never cut the selection off.
    pos = min(pos, start)
    pos = max(pos, start + length - size)
    return pos, size


def context_region(bounds: Rect, layer_w: int, layer_h: int, mode: ContextMode, padding_px: int) -> Rect:
    """The part of the layer the model sees.

    auto: Krita's rule — pad the selection box by max(longest layer side / 16, half the box's average
    side), make each side at least 512 px, and slide the box back inside the layer instead of shrinking
    it. padding: the selection box plus `padding_px` on every side, clipped to the layer. whole: the layer.
    """
    if mode == "whole":
        return Rect(0, 0, layer_w, layer_h)
    if mode == "padding":
        left = max(bounds.x - padding_px, 0)
        top = max(bounds.y - padding_px, 0)
        right = min(bounds.x + bounds.w + padding_px, layer_w)
        bottom = min(bounds.y + bounds.h + padding_px, layer_h)
        return Rect(left, top, right - left, bottom - top)
    pad = max(max(layer_w, layer_h) // 16, (bounds.w + bounds.h) // 4)
    x, w = _span_around(bounds.x, bounds.w, max(bounds.w + 2 * pad, MIN_CONTEXT_SIDE), layer_w)
    y, h = _span_around(bounds.y, bounds.h, max(bounds.h + 2 * pad, MIN_CONTEXT_SIDE), layer_h)
    return Rect(x, y, w, h)


def grow_to_aspect(region: Rect, aspect: float, layer_w: int, layer_h: int) -> Rect:
    """Grow the short side of `region` towards width/height == `aspect`, as far as the layer allows.

    Used in auto mode so a region wider than the model accepts (more than 3:1, or a fixed-size model's
    3:2) gets real surroundings as extra context instead of letterbox bars.
    """
    if region.w / region.h > aspect:
        y, h = _span_around(region.y, region.h, math.ceil(region.w / aspect), layer_h)
        return Rect(region.x, y, region.w, h)
    x, w = _span_around(region.x, region.w, math.ceil(region.h * aspect), layer_w)
    return Rect(x, region.y, w, region.h)
