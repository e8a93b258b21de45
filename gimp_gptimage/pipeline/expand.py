"""Expand Canvas: the picture on a larger canvas, the new area painted by the model in one or more requests.

    prep = prepare_expansion(picture_rgba, plan_canvas(w, h, to="16:9"), model=..., options=...)
    for tile in prep.tiles: ... prepare_edit(tile.layer, tile.selection, options=prep.tile_options) ...
                            ... paste_back(...) -> window-sized pixels ...
    out = assemble(prep, [pixels of each tile])   # out.pixels cover the canvas, out.alpha the new area

Each request is an ordinary edit (pipeline.prepare / paste, colour match included) of one window of the
pre-filled canvas with the new area as the selection, so everything the edit pipeline promises holds per
window. Windows overlap; where they do, the later one fades in from its inner edges. With blend_margin_px=0
every picture pixel is bit-identical in out.composite(canvas); otherwise the soft edge reaches at most
blend_margin_px into the picture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.pipeline.expand_fill import Fill, new_area, prefill_canvas
from gimp_gptimage.pipeline.expand_plan import CanvasPlan, overlap_for, plan_requests
from gimp_gptimage.pipeline.masks import paste_alpha
from gimp_gptimage.pipeline.paste import PasteResult, blend
from gimp_gptimage.pipeline.prepare import ContextOptions, check_layer
from gimp_gptimage.pipeline.region import Rect, selection_bounds

_FAR = np.float32(1e9)
_STRIP_ROWS = 256


@dataclass(frozen=True, eq=False)
class ExpandTile:
    """One request: a window of the pre-filled canvas, and which of its pixels are new (the selection)."""

    window: Rect  # canvas pixels
    layer: np.ndarray = field(repr=False)  # (h, w, 4) uint8 view of the pre-filled canvas
    selection: np.ndarray = field(repr=False)  # (h, w) uint8, 255 = new


@dataclass(frozen=True, eq=False)
class PreparedExpansion:
    plan: CanvasPlan
    tiles: tuple[ExpandTile, ...]
    canvas: np.ndarray = field(repr=False)  # (H, W, 4) pre-filled canvas, the picture exactly where it stays
    new: np.ndarray = field(repr=False)  # (H, W) uint8, 255 = new area
    options: ContextOptions

    @property
    def tile_options(self) -> ContextOptions:
        """Every window is sent whole (the planner chose the context), and the mask marks exactly the new
        area plus the blend margin as "edit": a model told it may repaint picture beyond what is pasted
        continues from there instead of from the seam."""
        margin = self.options.blend_margin_px
        return dataclasses.replace(self.options, mode="whole", grow_px=margin, feather_px=0)


def prepare_expansion(
    picture: np.ndarray,
    plan: CanvasPlan,
    *,
    model: str = "gpt-image-2",
    options: ContextOptions | None = None,
    fill: Fill | None = None,
) -> PreparedExpansion:
    """Plan the requests (raising PipelineInputError for what cannot be done without distortion) and build
    the pre-filled canvas they are cut from."""
    options = options or ContextOptions()
    check_layer(picture)
    if (picture.shape[1], picture.shape[0]) != (plan.picture.w, plan.picture.h):
        raise PipelineInputError("The picture does not match the canvas plan; plan it again.")
    windows = plan_requests(plan, model, options.pixel_budget)
    canvas = prefill_canvas(picture, plan, fill)
    new = new_area(plan)
    tiles = tuple(
        ExpandTile(w, canvas[w.y : w.y + w.h, w.x : w.x + w.w], new[w.y : w.y + w.h, w.x : w.x + w.w]) for w in windows
    )
    return PreparedExpansion(plan, tiles, canvas, new, options)


def assemble(prep: PreparedExpansion, tile_pixels: Sequence[np.ndarray]) -> PasteResult:
    """One canvas-sized result from each window's pasted-back pixels (in prep.tiles' order).

    Its pixels are the models' work over the new area and the margin, the picture itself elsewhere; its
    alpha is the new area widened by blend_margin_px, to be used as the layer mask."""
    if len(tile_pixels) != len(prep.tiles):
        raise PipelineInputError(f"{len(tile_pixels)} results for {len(prep.tiles)} requests.")
    plan = prep.plan
    out = prep.canvas.copy()
    covered = np.zeros((plan.height, plan.width), np.uint8)
    for tile, pixels in zip(prep.tiles, tile_pixels, strict=True):
        w = tile.window
        if pixels.shape != (w.h, w.w, 4):
            raise PipelineInputError(f"A result of {pixels.shape[1]}x{pixels.shape[0]} for a {w.w}x{w.h} window.")
        box = (slice(w.y, w.y + w.h), slice(w.x, w.x + w.w))
        _lay(out[box], pixels, _fade_in(w, covered[box], plan))
        covered[box] = 1
    alpha = paste_alpha(prep.new, prep.options.blend_margin_px)
    p = plan.picture
    inside = (slice(p.y, p.y + p.h), slice(p.x, p.x + p.w))
    np.copyto(out[inside], prep.canvas[inside], where=(alpha[inside] == 0)[:, :, None])
    return PasteResult(pixels=out, offset=(0, 0), alpha=alpha, region=Rect(0, 0, plan.width, plan.height))


def _lay(under: np.ndarray, over: np.ndarray, weight: np.ndarray) -> None:
    """under = lerp(under, over, weight / 255) in place. Per strip of rows only the columns where the weight
    is below 255 (the windows' overlaps) are blended; the rest is copied."""
    for top in range(0, under.shape[0], _STRIP_ROWS):
        rows = slice(top, top + _STRIP_ROWS)
        cols = np.flatnonzero((weight[rows] < 255).any(axis=0))
        if cols.size == 0:
            under[rows] = over[rows]
            continue
        first, last = int(cols[0]), int(cols[-1]) + 1
        under[rows, :first] = over[rows, :first]
        under[rows, last:] = over[rows, last:]
        part = (rows, slice(first, last))
        under[part] = blend(under[part], over[part], weight[part])


def _fade_in(window: Rect, prior: np.ndarray, plan: CanvasPlan) -> np.ndarray:
    """uint8 weight of a window over what earlier windows painted: 255 where nothing was painted yet,
    rising from 0 at the window's inner edges to 255 where the earlier coverage ends."""
    weight = np.full(prior.shape, 255, np.uint8)
    box = selection_bounds(prior)
    if box is None:
        return weight
    h, w = prior.shape
    # Only the earlier coverage (plus the pixel ring where it ends) needs distances: elsewhere it is 255.
    x0, y0 = max(box.x - 1, 0), max(box.y - 1, 0)
    x1, y1 = min(box.x + box.w + 1, w), min(box.y + box.h + 1, h)
    sub = prior[y0:y1, x0:x1]
    cols = np.arange(x0, x1, dtype=np.float32) + 1
    rows = np.arange(y0, y1, dtype=np.float32) + 1
    to_edge = np.full(sub.shape, _FAR, np.float32)
    if window.x > 0:
        np.minimum(to_edge, cols[None, :], out=to_edge)
    if window.x + w < plan.width:
        np.minimum(to_edge, (w + 1 - cols)[None, :], out=to_edge)
    if window.y > 0:
        np.minimum(to_edge, rows[:, None], out=to_edge)
    if window.y + h < plan.height:
        np.minimum(to_edge, (h + 1 - rows)[:, None], out=to_edge)
    if sub.all():  # wholly inside earlier windows: blend in over an overlap's width from the edges
        ramp = np.minimum(to_edge / np.float32(overlap_for(min(w, h))), np.float32(1))
    else:
        to_new = cv2.distanceTransform(sub, cv2.DIST_L2, 5)
        ramp = np.where(sub > 0, to_edge / (to_edge + to_new), np.float32(1))
    weight[y0:y1, x0:x1] = np.clip(ramp * 255 + 0.5, 0, 255).astype(np.uint8)
    return weight
