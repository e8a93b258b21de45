"""The MI-GAN engine: the offline engine with a real inpainting model for masked edits (object removal).

MI-GAN (Picsart AI Research, ICCV 2023, MIT) continues edges and texture into the hole where OpenCV's
Navier-Stokes fill leaves a smeared ghost of what was removed (bench/results/removal.md). It does not read
the prompt: it removes what is selected. Everything else (restyle, fusion, generations) is the OpenCV
engine's; fusion gets the model's fill under its collage.

The model sees a square window around the hole as one 512 x 512 input (at full resolution when the hole and
its context fit, else shrunk; never stretched); result `index` of n is made from another view of it
(mirrored, a tighter or wider window), so n fills differ and each is deterministic. The fill then gets the
photo's grain (grain.py: the model's pixels are noise-free). Only pixels inside the mask change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

from ..migan import MODEL_NAME, RESOLUTION, ModelUnavailable
from .engine import OpenCVEngine, edit_weight, inpaint
from .engine_protocol import Engine
from .grain import add_grain
from .migan_session import MiganSession, shared_session

log = logging.getLogger(__name__)

HOLE_WEIGHT = 0.99  # what the model fills: pixels (all but) fully to be edited
# The square window the model sees for result 0, 1, 2...: (least side, context beyond the hole on each side,
# both in image pixels; mirrored). Result 0 fills a hole of up to 256 px at full resolution with the
# context the model file's own pipeline gives it; the others see the hole in another frame and scale.
_VIEWS = [
    (512, 128, False),
    (512, 128, True),
    (448, 64, False),
    (448, 64, True),
    (640, 192, False),
    (640, 192, True),
    (576, 96, False),
]


class MiganEngine(OpenCVEngine):
    """The OpenCV engine with masked fills by MI-GAN; thread-safe (the session runs one fill at a time)."""

    name = "offline-migan"
    fill_method = f"{MODEL_NAME} inpainting model"

    def __init__(self, session: MiganSession) -> None:
        self._session = session

    def fill(self, rgb: np.ndarray, keep: np.ndarray, seed: int, index: int) -> np.ndarray:
        # The model fills what is fully to be edited; a feathered edge beyond that stays known context (the
        # model keeps known pixels, so the blend leaves them as they were instead of a faint ghost).
        weight = edit_weight(keep)
        hole = (weight >= HOLE_WEIGHT).view(np.uint8)
        if not hole.any():
            hole = (weight > 0).view(np.uint8)
        del weight  # the whole image's floats are not held through the model run: only the window's, after it
        height, width = hole.shape
        # Grow the hole so the removed object's anti-aliased fringe is not taken as surroundings to continue.
        grow = max(2, round(max(height, width) / 300))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        unknown = cv2.dilate(hole, kernel)
        (y0, y1, x0, x1), side = _window(cv2.boundingRect(unknown), (height, width), index)
        unknown = unknown[y0:y1, x0:x1].astype(bool)  # only the window's part stays in memory during the run
        del hole
        try:
            mirrored = _VIEWS[index % len(_VIEWS)][2]
            filled = self._fill_window(rgb[y0:y1, x0:x1], unknown, RESOLUTION / side, mirrored=mirrored)
        except Exception as exc:  # a model run that fails must not fail the request
            log.warning("%s fill failed (%s); using the OpenCV fill for this result", MODEL_NAME, exc)
            return inpaint(rgb, edit_weight(keep), seed)
        # The model writes noise-free pixels (and a shrunk window lost its finest detail): give the fill the
        # grain of the photo around it, so it does not read as a smooth patch.
        filled = add_grain(filled, rgb[y0:y1, x0:x1], unknown, unknown | (keep[y0:y1, x0:x1] < 255), seed)
        # Outside the window the fill is the image itself, so only the window is blended (and copied).
        out = rgb.copy()
        w = edit_weight(keep[y0:y1, x0:x1])[..., None]
        blended = rgb[y0:y1, x0:x1].astype(np.float32) * (1 - w) + filled.astype(np.float32) * w
        out[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return out

    def _fill_window(self, crop: np.ndarray, unknown: np.ndarray, scale: float, *, mirrored: bool) -> np.ndarray:
        """The window filled where `unknown`, run as one RESOLUTION-square input: scaled by `scale` (at most
        to RESOLUTION) and, where smaller, padded with its own mirror image. The pipeline inside the model
        file then uses it as it is (it would resize any other input to 512 x 512, blurring and distorting)."""
        height, width = unknown.shape
        if mirrored:
            crop, unknown = crop[:, ::-1], unknown[:, ::-1]
        scale = min(scale, RESOLUTION / max(height, width))
        size = (min(RESOLUTION, max(1, round(width * scale))), min(RESOLUTION, max(1, round(height * scale))))
        shrink = scale < 1
        if size != (width, height):
            small = cv2.resize(np.ascontiguousarray(crop), size, interpolation=_resampling(shrink))
            # Any pixel touching the hole stays a hole, so nothing of the object survives the shrink.
            touched = cv2.resize(unknown.astype(np.uint8) * np.uint8(255), size, interpolation=cv2.INTER_AREA)
            small_unknown = touched > 0
        else:
            small, small_unknown = crop, unknown
        sh, sw = small_unknown.shape
        top, left = (RESOLUTION - sh) // 2, (RESOLUTION - sw) // 2
        pads = ((top, RESOLUTION - sh - top), (left, RESOLUTION - sw - left))
        frame = np.pad(small, (*pads, (0, 0)), mode="symmetric")
        frame_keep = np.pad(~small_unknown, pads, mode="symmetric")
        out = self._session.run(frame, frame_keep)[top : top + sh, left : left + sw]
        if size != (width, height):
            out = cv2.resize(out, (width, height), interpolation=_resampling(not shrink))
        return out[:, ::-1] if mirrored else out


def _resampling(shrink: bool) -> int:
    return cv2.INTER_AREA if shrink else cv2.INTER_CUBIC


def _window(box: Sequence[int], shape: tuple[int, int], index: int) -> tuple[tuple[int, int, int, int], int]:
    """The crop (y0, y1, x0, x1) of an image of `shape` (height, width) the model sees for result `index`
    of a hole whose bounding `box` is (x, y, w, h), and the side of the square it stands for: the box plus
    the view's context, at least the view's least side, slid to stay inside the image (and cut by its edges).

    Beyond the views in _VIEWS the window also slides by a few pixels per round, so every index differs.
    """
    height, width = shape
    left, top, box_w, box_h = box
    least, context, _ = _VIEWS[index % len(_VIEWS)]
    side = max(least, box_h + 2 * context, box_w + 2 * context)
    shift = 8 * (index // len(_VIEWS))
    y0 = _place(top + box_h // 2 - side // 2 + shift, side, height)
    x0 = _place(left + box_w // 2 - side // 2 - shift, side, width)
    return (y0, min(height, y0 + side), x0, min(width, x0 + side)), side


def _place(start: int, side: int, length: int) -> int:
    """Where a window of `side` starting near `start` begins so it stays inside 0..length (or covers it)."""
    return max(0, min(start, length - side))


def default_engine() -> Engine:
    """The MI-GAN engine, or the OpenCV engine when the model cannot be used (said once, in the log)."""
    try:
        return MiganEngine(shared_session())
    except ModelUnavailable:
        return OpenCVEngine()


__all__ = ["MiganEngine", "default_engine"]
