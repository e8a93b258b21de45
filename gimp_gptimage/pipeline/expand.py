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
from gimp_gptimage.pipeline.region import Rect

_FAR = np.float32(1e9)


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
        weight = _fade_in(w, covered[box], plan)
        out[box] = blend(out[box], pixels, weight)
        covered[box] = 1
    alpha = paste_alpha(prep.new, prep.options.blend_margin_px)
    p = plan.picture
    inside = (slice(p.y, p.y + p.h), slice(p.x, p.x + p.w))
    np.copyto(out[inside], prep.canvas[inside], where=(alpha[inside] == 0)[:, :, None])
    return PasteResult(pixels=out, offset=(0, 0), alpha=alpha, region=Rect(0, 0, plan.width, plan.height))


def _fade_in(window: Rect, prior: np.ndarray, plan: CanvasPlan) -> np.ndarray:
    """uint8 weight of a window over what earlier windows painted: 255 where nothing was painted yet,
    rising from 0 at the window's inner edges to 255 where the earlier coverage ends."""
    if not prior.any():
        return np.full(prior.shape, 255, np.uint8)
    h, w = prior.shape
    cols, rows = np.arange(w, dtype=np.float32) + 1, np.arange(h, dtype=np.float32) + 1
    to_edge = np.full((h, w), _FAR, np.float32)
    if window.x > 0:
        np.minimum(to_edge, cols[None, :], out=to_edge)
    if window.x + w < plan.width:
        np.minimum(to_edge, cols[::-1][None, :], out=to_edge)
    if window.y > 0:
        np.minimum(to_edge, rows[:, None], out=to_edge)
    if window.y + h < plan.height:
        np.minimum(to_edge, rows[::-1][:, None], out=to_edge)
    if prior.all():  # wholly inside earlier windows: blend in over an overlap's width from the edges
        ramp = np.clip(to_edge / overlap_for(min(w, h)), 0, 1)
    else:
        to_new = cv2.distanceTransform(prior, cv2.DIST_L2, 5)
        ramp = np.where(prior > 0, to_edge / (to_edge + to_new), 1.0)
    return np.clip(ramp * 255 + 0.5, 0, 255).astype(np.uint8)
