"""Selection → context region → request size → the PNGs to upload."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from gimp_gptimage.api.params import GRID, MAX_PIXELS
from gimp_gptimage.pipeline.codec import as_rgba, encode_mask_png, encode_png, resize
from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.pipeline.markup import check_markup, markup_png
from gimp_gptimage.pipeline.masks import edit_alpha, selection_at_size
from gimp_gptimage.pipeline.region import (
    ContextMode,
    Rect,
    context_region,
    grow_to_aspect,
    selection_bounds,
)
from gimp_gptimage.pipeline.sizes import (
    DEFAULT_PIXEL_BUDGET,
    MIN_PIXEL_BUDGET,
    ContentBox,
    fit_content,
    resolve_size,
    takes_free_sizes,
)

# References only guide style and content; more pixels than this cost upload time, not quality.
MAX_REFERENCE_SIDE = 2048
MAX_REFERENCE_PIXELS = 2048 * 1536


@dataclass(frozen=True)
class ContextOptions:
    """How much surroundings the model sees and how the result is blended back.

    The defaults here are the program's only context defaults (settings store only what a user changed;
    jobs.context.context_options applies them). grow_px/feather_px shape the mask sent to the model (the
    editable area is the selection grown by grow_px, fading to "keep" over feather_px more), in layer
    pixels. blend_margin_px is how far the paste-back's soft edge may reach outside the selection; the
    default 0 keeps every unselected pixel bit-identical (the retoucher's promise in the README).
    """

    mode: ContextMode = "auto"
    padding_px: int = 256
    grow_px: int = 12
    feather_px: int = 24
    blend_margin_px: int = 0
    colour_match: bool = True
    pixel_budget: int = DEFAULT_PIXEL_BUDGET

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "whole", "padding"):
            raise PipelineInputError(f"Unknown context mode '{self.mode}'; use auto, whole or padding.")
        for name in ("padding_px", "grow_px", "feather_px", "blend_margin_px"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 4096:
                raise PipelineInputError(f"{name} must be a whole number of pixels from 0 to 4096, not {value!r}.")
        if not MIN_PIXEL_BUDGET <= self.pixel_budget <= MAX_PIXELS:
            raise PipelineInputError(
                f"pixel_budget must be between {MIN_PIXEL_BUDGET:,} and {MAX_PIXELS:,} pixels, "
                f"not {self.pixel_budget:,}."
            )


@dataclass(frozen=True, eq=False)
class PreparedEdit:
    """Everything to upload, plus what paste_back needs to undo the scaling and letterbox."""

    region: Rect  # layer pixels
    request_size: tuple[int, int]
    content: ContentBox  # where the region sits inside the request image
    image_png: bytes
    mask_png: bytes
    reference_pngs: tuple[bytes, ...]
    model: str
    options: ContextOptions
    layer_offset: tuple[int, int]
    whole_layer: bool  # nothing selected: the whole layer is edited and replaced
    layer_size: tuple[int, int]  # (width, height) of the layer it was prepared from
    # The request image as RGBA and the mask's alpha (255 = keep), for colour matching.
    request_rgba: np.ndarray = field(repr=False)
    keep_alpha: np.ndarray = field(repr=False)
    markup_png: bytes | None = field(default=None, repr=False)  # the markup over the same region, if any

    @property
    def size_str(self) -> str:
        return f"{self.request_size[0]}x{self.request_size[1]}"


def check_layer(layer_rgba: np.ndarray) -> None:
    if not isinstance(layer_rgba, np.ndarray) or layer_rgba.dtype != np.uint8:
        raise PipelineInputError("The layer must be 8-bit RGBA pixels.")
    if layer_rgba.ndim != 3 or layer_rgba.shape[2] != 4:
        raise PipelineInputError(f"The layer must be RGBA (height, width, 4); got shape {layer_rgba.shape}.")
    if layer_rgba.shape[0] < 1 or layer_rgba.shape[1] < 1:
        raise PipelineInputError("The layer is empty (0 pixels).")


def check_selection(selection: np.ndarray | None, layer_rgba: np.ndarray) -> np.ndarray | None:
    """The selection as uint8 coverage in layer pixels, or None for "nothing selected"."""
    if selection is None:
        return None
    if not isinstance(selection, np.ndarray) or selection.shape != layer_rgba.shape[:2]:
        shape = getattr(selection, "shape", None)
        raise PipelineInputError(
            f"The selection must cover the layer pixel for pixel ({layer_rgba.shape[1]}x{layer_rgba.shape[0]}); "
            f"got shape {shape}."
        )
    if selection.dtype == np.bool_:
        return selection.view(np.uint8) * np.uint8(255)
    if selection.dtype != np.uint8:
        raise PipelineInputError(f"The selection must be 8-bit coverage, not {selection.dtype}.")
    return selection


def _choose_region_and_size(
    bounds: Rect | None, layer_w: int, layer_h: int, model: str, size: str, options: ContextOptions
) -> tuple[Rect, tuple[int, int], ContentBox]:
    """Context region, request size and letterbox box, decided together.

    Regions wider than 3:1 (or, for fixed-size models, of another aspect than the chosen size): in auto
    mode the region first grows along its short side, slid inside the layer, because real surroundings
    are better context than bars; whatever the layer cannot provide (a 9000 x 1000 banner) is letterboxed
    with replicated edge pixels, told to the model as "keep", and cut away on paste-back. "whole" and
    "padding" modes keep exactly the context the user asked for and letterbox.
    """
    if bounds is None:
        region = Rect(0, 0, layer_w, layer_h)
    else:
        region = context_region(bounds, layer_w, layer_h, options.mode, options.padding_px)
    auto_size = (size or "auto").strip().lower() == "auto"
    request = resolve_size(size, region.w, region.h, model, options.pixel_budget)
    if options.mode == "auto" and bounds is not None:
        region = grow_to_aspect(region, request[0] / request[1], layer_w, layer_h)
        request = resolve_size(size, region.w, region.h, model, options.pixel_budget)
    # A free size chosen here is within one grid step of the region's aspect: fill it (tiny anisotropic
    # scale). Fixed and explicit sizes are letterboxed without distortion.
    stretch = GRID if auto_size and takes_free_sizes(model) else 1
    content = fit_content(region.w, region.h, request[0], request[1], stretch_px=stretch)
    return region, request, content


def _letterbox(pixels: np.ndarray, content: ContentBox, width: int, height: int, fill: int | None) -> np.ndarray:
    if (content.w, content.h) == (width, height):
        return pixels
    sides = (content.y, height - content.y - content.h, content.x, width - content.x - content.w)
    if fill is None:
        return cv2.copyMakeBorder(pixels, *sides, cv2.BORDER_REPLICATE)
    return cv2.copyMakeBorder(pixels, *sides, cv2.BORDER_CONSTANT, value=fill)


def _reference_png(image: np.ndarray | Image.Image, number: int) -> bytes:
    pixels = as_rgba(image, what=f"reference image {number}")
    h, w = pixels.shape[:2]
    scale = min(1.0, MAX_REFERENCE_SIDE / max(w, h), math.sqrt(MAX_REFERENCE_PIXELS / (w * h)))
    if scale < 1:
        pixels = resize(pixels, max(1, round(w * scale)), max(1, round(h * scale)))
    return encode_png(np.ascontiguousarray(pixels))


def prepare_edit(
    layer_rgba: np.ndarray,
    selection: np.ndarray | None,
    *,
    model: str = "gpt-image-2",
    size: str = "auto",
    options: ContextOptions | None = None,
    layer_offset: tuple[int, int] = (0, 0),
    references: Sequence[np.ndarray | Image.Image] = (),
    markup: np.ndarray | None = None,
) -> PreparedEdit:
    """Crop the context around the selection, scale it to a valid request size and build the uploads.

    `layer_rgba` (H, W, 4) uint8 may be a memmap: only the region is read (plus one pass over the
    selection to find it). `selection` is (H, W) coverage in layer pixels; None or all zero means the
    whole layer. The mask marks the selection grown by grow_px and feathered as the area to edit.
    `markup` (H, W, 4) uint8 in layer pixels, if given, is cut over the same region (`markup_png`).
    """
    options = options or ContextOptions()
    check_layer(layer_rgba)
    coverage = check_selection(selection, layer_rgba)
    markup = check_markup(markup, layer_rgba)
    layer_h, layer_w = layer_rgba.shape[:2]
    bounds = selection_bounds(coverage) if coverage is not None else None
    region, (width, height), content = _choose_region_and_size(bounds, layer_w, layer_h, model, size, options)

    crop = layer_rgba[region.y : region.y + region.h, region.x : region.x + region.w]
    scaled = np.ascontiguousarray(resize(crop, content.w, content.h))
    request_rgba = _letterbox(scaled, content, width, height, fill=None)

    if bounds is None:
        keep = np.zeros((content.h, content.w), np.uint8)
    else:
        assert coverage is not None  # bounds were found in it
        sel_crop = coverage[region.y : region.y + region.h, region.x : region.x + region.w]
        core = selection_at_size(sel_crop, content.w, content.h)
        scale = content.w / region.w
        keep = edit_alpha(core, options.grow_px * scale, options.feather_px * scale)
    keep_alpha = _letterbox(keep, content, width, height, fill=255)

    return PreparedEdit(
        region=region,
        request_size=(width, height),
        content=content,
        image_png=encode_png(request_rgba),
        mask_png=encode_mask_png(keep_alpha),
        reference_pngs=tuple(_reference_png(ref, i + 1) for i, ref in enumerate(references)),
        model=model,
        options=options,
        layer_offset=(int(layer_offset[0]), int(layer_offset[1])),
        whole_layer=bounds is None,
        layer_size=(layer_w, layer_h),
        request_rgba=request_rgba,
        keep_alpha=keep_alpha,
        markup_png=markup_png(markup, region, content, (width, height)) if markup is not None else None,
    )
