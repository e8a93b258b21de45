"""The markup sheet of a 2.6 edit, cut and scaled exactly like the image it annotates.

The user's markup (arrows, circles, notes on a transparent layer, in layer pixels) is cropped over the same
context region as the image, scaled to the same content box and letterboxed with transparency, so every
stroke lands on the request image where it lies on the layer. It is never a reference and never pasted.
"""

from __future__ import annotations

import cv2
import numpy as np

from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.pipeline.region import Rect
from gimp_gptimage.pipeline.sizes import ContentBox

_FLAGS = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def check_markup(markup: np.ndarray | None, layer_rgba: np.ndarray) -> np.ndarray | None:
    if markup is None:
        return None
    if not isinstance(markup, np.ndarray) or markup.dtype != np.uint8 or markup.shape != layer_rgba.shape:
        shape = getattr(markup, "shape", None)
        raise PipelineInputError(
            f"The markup must be RGBA pixels the size of the layer ({layer_rgba.shape[1]}x{layer_rgba.shape[0]}); "
            f"got shape {shape}."
        )
    return markup


def markup_png(markup: np.ndarray, region: Rect, content: ContentBox, request_size: tuple[int, int]) -> bytes:
    """The `markup` upload: RGBA PNG of the request size, transparent outside the strokes."""
    crop = np.ascontiguousarray(markup[region.y : region.y + region.h, region.x : region.x + region.w])
    alpha = crop[:, :, 3]
    if not alpha.any():
        raise PipelineInputError(
            f"The markup has nothing drawn in the area sent to the model ({region.w}x{region.h} px at "
            f"{region.x},{region.y}): draw inside it, or hide the markup layer."
        )
    if alpha.min() == 255:
        raise PipelineInputError(
            "The markup is opaque everywhere in the area sent to the model: draw the marks on a transparent layer."
        )
    # Straight alpha would pull the black of transparent pixels into the strokes' edges: scale premultiplied.
    premultiplied = crop.astype(np.float32)
    premultiplied[:, :, :3] *= premultiplied[:, :, 3:4] / 255.0
    interpolation = cv2.INTER_AREA if content.w * content.h < region.w * region.h else cv2.INTER_LINEAR
    scaled = cv2.resize(premultiplied, (content.w, content.h), interpolation=interpolation)
    a = scaled[:, :, 3:4]
    scaled[:, :, :3] = np.where(a > 0, scaled[:, :, :3] * 255.0 / np.maximum(a, 1e-6), 0)
    sheet = np.zeros((request_size[1], request_size[0], 4), np.uint8)
    sheet[content.y : content.y + content.h, content.x : content.x + content.w] = np.clip(scaled + 0.5, 0, 255)
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGBA2BGRA), _FLAGS)
    if not ok:  # pragma: no cover - only on out-of-memory inside OpenCV
        raise PipelineInputError("Could not encode the markup as PNG.")
    return buffer.tobytes()
