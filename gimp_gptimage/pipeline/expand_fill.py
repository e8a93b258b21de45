"""Expand Canvas, pre-fill: the new area is painted from the picture before the model sees it.

gpt-image models ignore transparency and copy what they are given, so a flat or transparent border comes
back flat or shifts the picture. The fill is a seam: any function (rgb, hole) -> rgb can be passed in (an
inpainting model from the local server's engine), with OpenCV inpainting at low resolution as the fallback.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from gimp_gptimage.pipeline.codec import resize
from gimp_gptimage.pipeline.expand_plan import CanvasPlan

# (rgb (H, W, 3) uint8, hole (H, W) bool) -> rgb with the hole painted; pixels outside the hole may change
# (they are put back by prefill_canvas).
Fill = Callable[[np.ndarray, np.ndarray], np.ndarray]

_WORK_EDGE = 512  # OpenCV's inpainting is slow on large holes and carries only colour, so work small
_RADIUS = 5


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
    """The best fill available here (the MI-GAN engine when installed, else OpenCV)."""
    return opencv_fill


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
