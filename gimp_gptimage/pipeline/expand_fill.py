"""Expand Canvas, pre-fill: the new area is painted from the picture before the model sees it.

gpt-image models ignore transparency and copy what they are given, so a flat or transparent border comes
back flat or shifts the picture. The fill is a seam: any function (rgb, hole) -> rgb can be passed in. The
default is the offline engine's MI-GAN inpainting model (shared with the local server), run window by window
outward from the picture (`tiled`) because it works at 512 px inside: one run over a large canvas would be
upscaled into a blur. Without the model it is OpenCV inpainting at low resolution.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import cv2
import numpy as np

from gimp_gptimage.migan import RESOLUTION
from gimp_gptimage.pipeline.codec import resize
from gimp_gptimage.pipeline.expand_plan import CanvasPlan
from gimp_gptimage.pipeline.region import Rect

log = logging.getLogger(__name__)

# (rgb (H, W, 3) uint8, hole (H, W) bool) -> rgb with the hole painted; pixels outside the hole may change
# (they are put back by prefill_canvas).
Fill = Callable[[np.ndarray, np.ndarray], np.ndarray]

_WORK_EDGE = 512  # OpenCV's inpainting is slow on large holes and carries only colour, so work small
_RADIUS = 5
MODEL_EDGE = RESOLUTION  # MI-GAN's own working size: a window this large is filled at full resolution
# A large expansion gets larger (softer) windows rather than more runs: each run costs about 0.6 s on two
# cores (bench/results/expand.md), and the model repaints the new area anyway.
MAX_FILL_RUNS = 12


def opencv_fill(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Telea inpainting at most _WORK_EDGE px on the long side, upscaled: the picture's colours and edges
    continue into the new area smoothly (no flat band, no hard edge for the model to keep)."""
    height, width = hole.shape
    scale = min(1.0, _WORK_EDGE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.ascontiguousarray(resize(rgb, *size))
    small_hole = resize(hole.astype(np.uint8) * np.uint8(255), *size) > 0
    # Grow by a pixel so the shrunk picture's edge, averaged with the unfilled border, is not carried in.
    small_hole = cv2.dilate(small_hole.astype(np.uint8), np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_hole, _RADIUS, cv2.INPAINT_TELEA)
    return resize(filled, width, height)


def default_fill() -> Fill:
    """MI-GAN window by window when the model can be used, else OpenCV (the reason is logged once, by the
    shared session)."""
    from gimp_gptimage.migan import ModelUnavailable
    from gimp_gptimage.server.engine_migan import MiganEngine
    from gimp_gptimage.server.migan_session import shared_session

    try:
        engine = MiganEngine(shared_session())
    except ModelUnavailable:
        return opencv_fill

    def migan(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        return engine.fill(rgb, np.where(hole, np.uint8(0), np.uint8(255)), seed=0, index=0)

    return tiled(migan)


def tiled(fill: Fill, edge: int = MODEL_EDGE, max_runs: int = MAX_FILL_RUNS) -> Fill:
    """`fill` run on windows about `edge` px square, in rings outward from the kept rectangle: each window is
    half picture (or what earlier windows painted) and half new area, so every run sees context at the
    model's own resolution and continues from its neighbours' work. Holes that are not the outside of a
    rectangle, and canvases that fit one window, get one run."""

    def run(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        height, width = hole.shape
        known = _kept_rect(hole)
        if known is None or max(width, height) <= edge * 1.25:
            return fill(rgb, hole)
        out, done = rgb.copy(), ~hole
        for window, strip in fill_windows(known, width, height, edge, max_runs):
            box = (slice(window.y, window.y + window.h), slice(window.x, window.x + window.w))
            todo = np.zeros((window.h, window.w), bool)
            sy0, sx0 = max(strip.y - window.y, 0), max(strip.x - window.x, 0)
            todo[sy0 : strip.y + strip.h - window.y, sx0 : strip.x + strip.w - window.x] = True
            todo &= ~done[box]
            if not todo.any():
                continue
            painted = _at_most(edge, fill, out[box], ~done[box])
            np.copyto(out[box], painted, where=todo[:, :, None])
            done[box] |= todo
        return out

    return run


def _at_most(edge: int, fill: Fill, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """`fill` on a copy shrunk to `edge` px on the long side, the result scaled back: the model works at that
    size anyway, and a run at full size would only cost time (seconds per large window)."""
    height, width = hole.shape
    if max(height, width) <= edge:
        return fill(rgb, hole)
    scale = edge / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    # A small pixel touching any unknown one is unknown: the known context stays pure picture.
    small_hole = cv2.resize(hole.astype(np.uint8) * np.uint8(255), size, interpolation=cv2.INTER_AREA) > 0
    return cv2.resize(fill(small, small_hole), (width, height), interpolation=cv2.INTER_CUBIC)


def _kept_rect(hole: np.ndarray) -> Rect | None:
    """The kept part of the canvas if it is one rectangle (an expansion), else None."""
    rows, cols = np.flatnonzero(~hole.all(axis=1)), np.flatnonzero(~hole.all(axis=0))
    if rows.size == 0:
        return None
    rect = Rect(int(cols[0]), int(rows[0]), int(cols[-1]) + 1 - int(cols[0]), int(rows[-1]) + 1 - int(rows[0]))
    kept = ~hole[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
    return rect if kept.all() and int(kept.size) == int((~hole).sum()) else None


def fill_windows(known: Rect, width: int, height: int, edge: int, max_runs: int) -> list[tuple[Rect, Rect]]:
    """(window, strip) pairs in fill order: each ring grows the known rectangle by half a window on every
    side, left and right strips first (along the known height), then top and bottom (the whole width, so
    the corners continue the side strips). Windows grow by steps until at most `max_runs` are needed."""
    side = edge
    while True:
        windows = _rings(known, width, height, side)
        if len(windows) <= max_runs or side >= max(width, height):
            return windows
        side = math.ceil(side * 1.2)


def _rings(known: Rect, width: int, height: int, side: int) -> list[tuple[Rect, Rect]]:
    step = side // 2
    x0, y0, x1, y1 = known.x, known.y, known.x + known.w, known.y + known.h
    tw, th = min(side, width), min(side, height)
    out: list[tuple[Rect, Rect]] = []
    while (x0, y0, x1, y1) != (0, 0, width, height):
        nx0, ny0, nx1, ny1 = max(0, x0 - step), max(0, y0 - step), min(width, x1 + step), min(height, y1 + step)
        sides = (
            (Rect(nx0, y0, x0 - nx0, y1 - y0), nx0, True),  # left
            (Rect(x1, y0, nx1 - x1, y1 - y0), nx1 - tw, True),  # right
            (Rect(nx0, ny0, nx1 - nx0, y0 - ny0), ny0, False),  # top
            (Rect(nx0, y1, nx1 - nx0, ny1 - y1), ny1 - th, False),  # bottom
        )
        for strip, at, vertical in sides:
            if strip.w > 0 and strip.h > 0:
                if vertical:
                    out += [(Rect(at, pos, tw, th), strip) for pos in _spans(y0, y1 - y0, th, height)]
                else:
                    out += [(Rect(pos, at, tw, th), strip) for pos in _spans(nx0, nx1 - nx0, tw, width)]
        x0, y0, x1, y1 = nx0, ny0, nx1, ny1
    return out


def _spans(start: int, length: int, span: int, room: int) -> list[int]:
    """Starts of windows `span` long covering [start, start+length) inside [0, room), a quarter overlapping."""
    if length <= span:
        return [min(max(start + (length - span) // 2, 0), room - span)]
    overlap = span // 4
    count = math.ceil((length - overlap) / (span - overlap))
    return [start + round(i * (length - span) / (count - 1)) for i in range(count)]


def new_area(plan: CanvasPlan) -> np.ndarray:
    """(H, W) uint8: 255 on the new canvas, 0 on the kept picture."""
    mask = np.full((plan.height, plan.width), 255, np.uint8)
    p = plan.picture
    mask[p.y : p.y + p.h, p.x : p.x + p.w] = 0
    return mask


def prefill_canvas(picture: np.ndarray, plan: CanvasPlan, fill: Fill | None = None) -> np.ndarray:
    """The new canvas as RGBA: the picture bit for bit where it stays, the new area filled (opaque)."""
    p = plan.picture
    # Edge replication first: a cheap, structure-free start that any fill improves on.
    sides = (p.y, plan.height - p.y - p.h, p.x, plan.width - p.x - p.w)
    rgb = cv2.copyMakeBorder(np.ascontiguousarray(picture[:, :, :3]), *sides, cv2.BORDER_REPLICATE)
    hole = new_area(plan) > 0
    filled = (fill or default_fill())(rgb, hole)
    if filled.shape != rgb.shape or filled.dtype != np.uint8:
        raise ValueError(f"the fill returned {filled.shape} {filled.dtype} for a {plan.width}x{plan.height} canvas")
    np.copyto(rgb, filled, where=hole[:, :, None])
    canvas = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)  # the new area opaque
    canvas[p.y : p.y + p.h, p.x : p.x + p.w] = picture
    return canvas
