"""Result → region pixels, canvas offset and paste-back alpha; optional flattened composite."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from gimp_gptimage.pipeline.codec import as_rgba, resize
from gimp_gptimage.pipeline.colour import match_colour
from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.pipeline.masks import paste_alpha
from gimp_gptimage.pipeline.prepare import PreparedEdit, check_layer, check_selection
from gimp_gptimage.pipeline.region import Rect

_STRIP_ROWS = 256


@dataclass(frozen=True, eq=False)
class PasteResult:
    """The result for one region: insert `pixels` at `offset` (canvas) with `alpha` as its layer mask."""

    pixels: np.ndarray  # (h, w, 4) uint8, the region's size
    offset: tuple[int, int]  # canvas position of pixels[0, 0]
    alpha: np.ndarray  # (h, w) uint8 paste-back mask
    region: Rect  # layer pixels

    def composite(self, layer_rgba: np.ndarray) -> np.ndarray:
        """A copy of the layer with the result blended in: out = lerp(layer, pixels, alpha/255) on every
        channel, alpha included (an edit that makes pixels transparent keeps them transparent).
        Where alpha is 0 the layer's bytes are copied unchanged."""
        check_layer(layer_rgba)
        out = np.array(layer_rgba, copy=True)
        r = self.region
        target = out[r.y : r.y + r.h, r.x : r.x + r.w]
        for top in range(0, r.h, _STRIP_ROWS):
            rows = slice(top, top + _STRIP_ROWS)
            alpha = self.alpha[rows]
            low, high = cv2.minMaxLoc(alpha)[:2]
            if high == 0:
                continue
            if low == 255:
                target[rows] = self.pixels[rows]
                continue
            weight = alpha[:, :, None].astype(np.uint16)
            blended = self.pixels[rows] * weight + target[rows] * (255 - weight) + 127
            target[rows] = (blended // 255).astype(np.uint8)
        return out


def paste_back(
    prep: PreparedEdit,
    result: Image.Image | bytes | np.ndarray,
    layer_rgba: np.ndarray,
    selection: np.ndarray | None,
) -> PasteResult:
    """Undo the letterbox and scaling of `result`, colour-match it, and derive the paste-back alpha.

    `layer_rgba` and `selection` must be the ones given to prepare_edit. A result of another size than
    requested (a relay that ignored `size`) is first scaled to the requested size.
    """
    check_layer(layer_rgba)
    coverage = check_selection(selection, layer_rgba)
    r = prep.region
    if r.x + r.w > layer_rgba.shape[1] or r.y + r.h > layer_rgba.shape[0]:
        raise PipelineInputError("The layer changed size since the request was prepared; edit it again.")
    width, height = prep.request_size
    pixels = resize(as_rgba(result), width, height)

    c = prep.content
    if prep.options.colour_match and not prep.whole_layer:
        pixels = _colour_matched(prep, pixels)
    content = np.ascontiguousarray(pixels[c.y : c.y + c.h, c.x : c.x + c.w])
    region_pixels = np.ascontiguousarray(resize(content, r.w, r.h))

    if prep.whole_layer or coverage is None or not coverage.any():
        alpha = np.full((r.h, r.w), 255, np.uint8)
    else:
        alpha = paste_alpha(coverage[r.y : r.y + r.h, r.x : r.x + r.w], prep.options.blend_margin_px)
    offset = (prep.layer_offset[0] + r.x, prep.layer_offset[1] + r.y)
    return PasteResult(pixels=region_pixels, offset=offset, alpha=alpha, region=r)


def _colour_matched(prep: PreparedEdit, pixels: np.ndarray) -> np.ndarray:
    """Colour-match at request resolution, on pixels the model was told to keep (letterbox excluded)
    that are opaque in both images."""
    c = prep.content
    box = (slice(c.y, c.y + c.h), slice(c.x, c.x + c.w))
    original = prep.request_rgba[box]
    result = pixels[box]
    sample = (prep.keep_alpha[box] == 255) & (original[:, :, 3] > 0) & (result[:, :, 3] > 0)
    result_rgb = np.ascontiguousarray(result[:, :, :3])
    matched = match_colour(result_rgb, np.ascontiguousarray(original[:, :, :3]), sample)
    if matched is result_rgb:
        return pixels
    out = np.array(pixels, copy=True)
    out[c.y : c.y + c.h, c.x : c.x + c.w, :3] = matched
    return out
