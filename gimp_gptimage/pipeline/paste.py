"""Result → region pixels, canvas offset and paste-back alpha; optional flattened composite."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from gimp_gptimage.pipeline.codec import as_rgba, resize
from gimp_gptimage.pipeline.colour import LabTransfer, measure_drift
from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.pipeline.framing import request_frame
from gimp_gptimage.pipeline.masks import paste_alpha
from gimp_gptimage.pipeline.prepare import PreparedEdit, check_layer, check_selection
from gimp_gptimage.pipeline.region import Rect

_STRIP_ROWS = 256


@dataclass(frozen=True, eq=False)
class PasteResult:
    """The result for one region: insert `pixels` at `offset` (canvas) with `alpha` as its layer mask.

    The one record of placed pixels from the pipeline to the outbox: the job runner wraps it in a JobResult
    (name, history), and every front end composites or inserts it from there."""

    pixels: np.ndarray  # (h, w, 4) uint8, the region's size
    offset: tuple[int, int]  # canvas position of pixels[0, 0]
    alpha: np.ndarray | None  # (h, w) uint8 paste-back mask; None: the whole region is replaced (no mask)
    region: Rect  # layer pixels

    def composite(self, layer_rgba: np.ndarray) -> np.ndarray:
        """A copy of the layer with the result blended in: out = lerp(layer, pixels, alpha/255) on every
        channel, alpha included (an edit that makes pixels transparent keeps them transparent).
        Where alpha is 0 the layer's bytes are copied unchanged; without alpha the region is replaced."""
        self.check_fits(layer_rgba)
        out = np.array(layer_rgba, copy=True)
        self.blend_rows(out, 0, self.pixels)
        return out

    def check_fits(self, layer_rgba: np.ndarray) -> None:
        """PipelineInputError unless `layer_rgba` is a layer this result's region lies in."""
        check_layer(layer_rgba)
        r = self.region
        if r.x + r.w > layer_rgba.shape[1] or r.y + r.h > layer_rgba.shape[0]:
            raise PipelineInputError("This result belongs to a larger layer; it cannot be composited here.")

    def blend_rows(self, canvas: np.ndarray, top: int, pixels: np.ndarray) -> None:
        """Blend `pixels` (this result's, in `canvas`'s channels) into `canvas`, in place, where `canvas` holds
        rows [top, top + len(canvas)) of the layer: only the part of the region among those rows."""
        r = self.region
        first, last = max(r.y, top), min(r.y + r.h, top + canvas.shape[0])
        if first >= last:
            return
        target = canvas[first - top : last - top, r.x : r.x + r.w]
        pixels = pixels[first - r.y : last - r.y]
        if self.alpha is None:
            target[:] = pixels
            return
        alphas = self.alpha[first - r.y : last - r.y]
        for start in range(0, last - first, _STRIP_ROWS):
            rows = slice(start, start + _STRIP_ROWS)
            alpha = alphas[rows]
            low, high = cv2.minMaxLoc(alpha)[:2]
            if high == 0:
                continue
            if low == 255:
                target[rows] = pixels[rows]
                continue
            target[rows] = blend(target[rows], pixels[rows], alpha)


def blend(under: np.ndarray, over: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """lerp(under, over, alpha / 255) on every channel, rounded; where alpha is 0, `under` comes back exactly."""
    weight = alpha[:, :, None].astype(np.uint16)
    return ((over * weight + under * (255 - weight) + 127) // 255).astype(np.uint8)


def paste_back(
    prep: PreparedEdit,
    result: Image.Image | bytes | np.ndarray,
    layer_rgba: np.ndarray,
    selection: np.ndarray | None,
) -> PasteResult:
    """Undo the letterbox and scaling of `result`, colour-match it, and derive the paste-back alpha.

    `layer_rgba` and `selection` must be the ones given to prepare_edit. A result of another size than
    requested (a larger size, or a relay that ignored `size`) is scaled straight to the region, so no
    detail is lost on the way; only a letterboxed one is first brought to the requested size so the bars
    are cut exactly. One of another shape is first cut to the request's frame if the model extended the
    scene rather than squeezing it (framing.request_frame).
    """
    check_layer(layer_rgba)
    coverage = check_selection(selection, layer_rgba)
    r, c = prep.region, prep.content
    if (layer_rgba.shape[1], layer_rgba.shape[0]) != prep.layer_size:
        raise PipelineInputError("The layer changed size since the request was prepared; edit it again.")
    if coverage is None and not prep.whole_layer:
        raise PipelineInputError("The selection the request was prepared with is missing; edit it again.")
    width, height = prep.request_size
    pixels = request_frame(as_rgba(result), prep.request_rgba, prep.keep_alpha)
    letterboxed = (c.w, c.h) != (width, height)
    if letterboxed:
        pixels = resize(pixels, width, height)
        content = pixels[c.y : c.y + c.h, c.x : c.x + c.w]
    else:
        content = pixels  # the whole result is the region, at whatever resolution it came
    content = np.ascontiguousarray(content)

    if prep.options.colour_match and not prep.whole_layer:
        transfer = _colour_drift(prep, content)
        if transfer is not None:
            content = content.copy()
            content[:, :, :3] = transfer.apply(np.ascontiguousarray(content[:, :, :3]))
    region_pixels = resize(content, r.w, r.h)
    if region_pixels is result or not region_pixels.flags.owndata:
        region_pixels = region_pixels.copy()  # never hand out a view of the caller's or a decoder's buffer

    if prep.whole_layer:
        alpha = np.full((r.h, r.w), 255, np.uint8)
    else:
        assert coverage is not None  # checked above: only a whole-layer edit has no selection
        alpha = paste_alpha(coverage[r.y : r.y + r.h, r.x : r.x + r.w], prep.options.blend_margin_px)
    offset = (prep.layer_offset[0] + r.x, prep.layer_offset[1] + r.y)
    return PasteResult(pixels=region_pixels, offset=offset, alpha=alpha, region=r)


def _colour_drift(prep: PreparedEdit, content: np.ndarray) -> LabTransfer | None:
    """The model's colour drift, measured at request resolution on pixels it was told to keep that are
    opaque in both images (letterbox bars excluded)."""
    c = prep.content
    box = (slice(c.y, c.y + c.h), slice(c.x, c.x + c.w))
    original = prep.request_rgba[box]
    result = resize(content, c.w, c.h)
    sample = (prep.keep_alpha[box] == 255) & (original[:, :, 3] > 0) & (result[:, :, 3] > 0)
    return measure_drift(np.ascontiguousarray(result[:, :, :3]), np.ascontiguousarray(original[:, :, :3]), sample)
