"""The two masks: the one sent to the model (where it may paint) and the paste-back alpha."""

from __future__ import annotations

import math

import cv2
import numpy as np

from gimp_gptimage.pipeline.region import selection_bounds

_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
_SQUARE = np.ones((3, 3), np.uint8)


def selection_at_size(selection_crop: np.ndarray, width: int, height: int) -> np.ndarray:
    """Which pixels of a (width x height) rendering of the crop touch the selection, as 0/255.

    When shrinking, the selection is first dilated by about two destination pixels so that area
    averaging can never lose a single selected pixel (a 1-px selection stays editable at any scale).
    """
    src_h, src_w = selection_crop.shape
    covered = (selection_crop > 0).astype(np.uint8) * np.uint8(255)
    if (src_w, src_h) == (width, height):
        return covered
    shrink = max(src_w / width, src_h / height)
    if shrink > 1:
        reach = 2 * math.ceil(shrink) + 1
        covered = cv2.dilate(covered, np.ones((reach, reach), np.uint8))
        small = cv2.resize(covered, (width, height), interpolation=cv2.INTER_AREA)
    else:
        small = cv2.resize(covered, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.where(small > 0, np.uint8(255), np.uint8(0))


def edit_alpha(edit_core: np.ndarray, grow: float, feather: float) -> np.ndarray:
    """Alpha of the mask sent to the model: 0 (edit) on the core grown by `grow` px, rising to 255
    (keep) over the next `feather` px. Distances are in the mask's own pixels."""
    if not edit_core.any():
        return np.full(edit_core.shape, 255, np.uint8)
    distance = cv2.distanceTransform(np.where(edit_core > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 5)
    if feather <= 0:
        return np.where(distance > grow, np.uint8(255), np.uint8(0))
    ramp = (distance - grow) * (255.0 / feather)
    return np.clip(ramp + 0.5, 0, 255).astype(np.uint8)


def paste_alpha(selection_crop: np.ndarray, margin: int) -> np.ndarray:
    """Paste-back alpha for a region: the selection itself, widened by a soft edge of at most
    `margin` px (Chebyshev distance) outside it.

    It is a grey dilation with a cone: alpha(p) = max over q within k px of selection(q) * (m+1-k)/(m+1).
    A hard edge gets a linear ramp; a soft (feathered) selection keeps its own gradient and only its
    tail grows, by at most `margin` px. Pixels farther away stay exactly 0, so they stay untouched.
    """
    alpha = np.array(selection_crop, dtype=np.uint8, copy=True)
    if margin <= 0:
        return alpha
    bounds = selection_bounds(alpha)
    if bounds is None:
        return alpha
    # Only the selection's box plus the margin can change.
    h, w = alpha.shape
    x0, y0 = max(bounds.x - margin, 0), max(bounds.y - margin, 0)
    x1, y1 = min(bounds.x + bounds.w + margin, w), min(bounds.y + bounds.h + margin, h)
    band = alpha[y0:y1, x0:x1]
    grown = band.copy()
    result = band.copy()
    steps = margin + 1
    for k in range(1, margin + 1):
        # Alternating cross and square kernels grow an octagon, close to a Euclidean disc.
        grown = cv2.dilate(grown, _CROSS if k % 2 else _SQUARE)
        np.maximum(result, cv2.convertScaleAbs(grown, alpha=(steps - k) / steps), out=result)
    band[...] = result
    return alpha
