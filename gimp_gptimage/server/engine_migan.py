"""The MI-GAN engine: the offline engine with a real inpainting model for masked edits (object removal).

MI-GAN (Picsart AI Research, ICCV 2023, MIT) continues edges and texture into the hole where OpenCV's
Navier-Stokes fill leaves a smeared ghost of what was removed (bench/results/removal.md). It does not read
the prompt: it removes what is selected. Everything else (restyle, fusion, generations) is the OpenCV
engine's; fusion gets the model's fill under its collage.

The model sees a crop around the hole; result `index` of n is made from another view of it (mirrored, a
tighter or wider window), so n fills differ and each is deterministic. Only pixels inside the mask change.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..migan import MODEL_NAME, ModelUnavailable
from .engine import OpenCVEngine, inpaint
from .engine_protocol import Engine
from .migan_session import MiganSession, shared_session

log = logging.getLogger(__name__)

HOLE_WEIGHT = 0.99  # what the model fills: pixels (all but) fully to be edited
MIN_SIDE = 32  # the model's blur pads by reflection and fails on inputs of a few pixels
MAX_WINDOW = 2048  # larger windows are shrunk first: the model works at 512 inside, full-size copies only cost memory
# (margin around the hole as a share of its extent, mirrored) for result 0, 1, 2...
_VIEWS = [(1.0, False), (1.0, True), (0.5, False), (0.5, True), (1.6, False), (1.6, True), (0.75, False)]


class MiganEngine(OpenCVEngine):
    """The OpenCV engine with masked fills by MI-GAN; thread-safe (the session runs one fill at a time)."""

    name = "offline-migan"
    fill_method = f"{MODEL_NAME} inpainting model"

    def __init__(self, session: MiganSession) -> None:
        self._session = session

    def fill(self, rgb: np.ndarray, weight: np.ndarray, seed: int, index: int) -> np.ndarray:
        # The model fills what is fully to be edited; a feathered edge beyond that stays known context (the
        # model keeps known pixels, so the blend leaves them as they were instead of a faint ghost).
        hole = (weight >= HOLE_WEIGHT) if (weight >= HOLE_WEIGHT).any() else (weight > 0)
        height, width = hole.shape
        # Grow the hole so the removed object's anti-aliased fringe is not taken as surroundings to continue.
        grow = max(2, round(max(height, width) / 300))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        unknown = cv2.dilate(hole.astype(np.uint8), kernel).astype(bool)
        y0, y1, x0, x1 = _window(unknown, index)
        try:
            filled = self._fill_window(rgb[y0:y1, x0:x1], ~unknown[y0:y1, x0:x1], mirrored=_view(index)[1])
        except Exception as exc:  # a model run that fails must not fail the request
            log.warning("%s fill failed (%s); using the OpenCV fill for this result", MODEL_NAME, exc)
            return inpaint(rgb, weight, seed)
        # Outside the window the fill is the image itself, so only the window is blended (and copied).
        out = rgb.copy()
        w = weight[y0:y1, x0:x1, None].astype(np.float32)
        blended = rgb[y0:y1, x0:x1].astype(np.float32) * (1 - w) + filled.astype(np.float32) * w
        out[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return out

    def _fill_window(self, crop: np.ndarray, keep: np.ndarray, *, mirrored: bool) -> np.ndarray:
        height, width = keep.shape
        if mirrored:
            crop, keep = np.ascontiguousarray(crop[:, ::-1]), np.ascontiguousarray(keep[:, ::-1])
        scale = min(1.0, MAX_WINDOW / max(height, width))
        if scale < 1:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            keep = cv2.resize(keep.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        pad_y, pad_x = max(0, MIN_SIDE - crop.shape[0]), max(0, MIN_SIDE - crop.shape[1])
        if pad_y or pad_x:
            crop = cv2.copyMakeBorder(np.ascontiguousarray(crop), 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
            keep = np.pad(keep, ((0, pad_y), (0, pad_x)), mode="edge")
        out = self._session.run(crop, keep)[: crop.shape[0] - pad_y, : crop.shape[1] - pad_x]
        if scale < 1:
            out = cv2.resize(out, (width, height), interpolation=cv2.INTER_CUBIC)
        return out[:, ::-1] if mirrored else out


def _view(index: int) -> tuple[float, bool]:
    return _VIEWS[index % len(_VIEWS)]


def _window(unknown: np.ndarray, index: int) -> tuple[int, int, int, int]:
    """The crop (y0, y1, x0, x1) the model sees for result `index`: the hole's box plus a margin of context.

    Beyond the views in _VIEWS the window also slides by a few pixels per round, so every index differs.
    """
    height, width = unknown.shape
    ys, xs = np.nonzero(unknown)
    top, bottom, left, right = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    share = _view(index)[0]
    margin = max(16, round(share * max(bottom - top, right - left)))
    shift = min(margin, 8 * (index // len(_VIEWS)))
    return (
        max(0, top - margin + shift),
        min(height, bottom + margin + shift),
        max(0, left - margin - shift),
        min(width, right + margin - shift),
    )


def default_engine() -> Engine:
    """The MI-GAN engine, or the OpenCV engine when the model cannot be used (said once, in the log)."""
    try:
        return MiganEngine(shared_session())
    except ModelUnavailable:
        return OpenCVEngine()


__all__ = ["MiganEngine", "default_engine"]
