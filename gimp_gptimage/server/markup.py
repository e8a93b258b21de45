"""How the offline engine reads markup: the marked strokes widen the area it fills.

A real 2.6 model reads arrows, circles and notes as instructions. The offline engine cannot read, so it
takes the sensible literal meaning: whatever is drawn on, and whatever a closed stroke encircles, is to be
changed. That area joins the mask's (or is the whole edit area when no mask came), and the engine fills it
the way it fills any masked area. Kept apart from the engine so the engine's fill can change freely.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

STROKE_ALPHA = 32  # markup pixels at least this opaque count as drawn (anti-aliased edges fade below)
STROKE_GROW_FRACTION = 0.01  # strokes widen by 1 % of the image's long side (at least 3 px)
NOTE = "markup read as the area to change"


def markup_area(markup: Image.Image) -> np.ndarray:
    """(H, W) bool: the drawn strokes, widened a little, plus everything a closed stroke encircles."""
    alpha = np.asarray(markup.convert("RGBA").getchannel("A"))
    drawn = (alpha >= STROKE_ALPHA).astype(np.uint8)
    if not drawn.any():
        return drawn.astype(bool)
    grow = max(3, round(STROKE_GROW_FRACTION * max(markup.size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    area = cv2.dilate(drawn, kernel)
    # A circle around an object means "this object": fill the outer contour of every closed stroke.
    contours, _ = cv2.findContours(area, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(area, contours, -1, 1, thickness=cv2.FILLED)
    return area.astype(bool)


def widen_mask(mask: Image.Image | None, markup: Image.Image) -> Image.Image:
    """The API mask (alpha 0 = edit) with the markup's area added to the part to edit; a new mask when
    none came. The markup has the first image's size (the server checked), the mask too."""
    area = markup_area(markup)
    if mask is None:
        keep = np.full(area.shape, 255, np.uint8)
    else:
        keep = np.asarray(mask.convert("RGBA").getchannel("A")).copy()
    keep[area] = 0
    rgba = np.zeros((*keep.shape, 4), np.uint8)
    rgba[..., 3] = keep
    return Image.fromarray(rgba, "RGBA")
