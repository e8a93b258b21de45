"""Model request sizes: choosing one for a region, and fitting the region into it.

The rules themselves (grid, limits, which models take free sizes) live in `api.params`, the same table
the client and the local server check requests against.
"""

from __future__ import annotations

from dataclasses import dataclass

from gimp_gptimage.api.image_rules import nearest_fixed_size
from gimp_gptimage.api.params import (
    EXPERIMENTAL_PIXELS,
    FIXED_SIZES,
    GRID,
    MAX_EDGE,
    MAX_PIXELS,
    MAX_RATIO,
    MIN_PIXELS,
    free_size_violation,
    model_spec,
    parse_size,
)
from gimp_gptimage.pipeline.errors import PipelineInputError

# The largest request that is not "experimental" for gpt-image-2: fast and reliable.
DEFAULT_PIXEL_BUDGET = EXPERIMENTAL_PIXELS
# Below this a budget leaves too few grid sizes to keep every aspect ratio within one grid step.
MIN_PIXEL_BUDGET = 1024 * 1024


def takes_free_sizes(model: str) -> bool:
    """gpt-image-2 (and its snapshots) takes any valid WxH; every other model, known or not, gets the
    three sizes all GPT image models accept."""
    spec = model_spec(model)
    return spec is not None and spec.free_sizes


def _round_to_grid(value: float) -> int:
    return int(value / GRID + 0.5) * GRID


def choose_size(
    region_w: int, region_h: int, model: str = "gpt-image-2", pixel_budget: int = DEFAULT_PIXEL_BUDGET
) -> tuple[int, int]:
    """The request size (W, H) for a region of region_w x region_h pixels.

    Free-size models: the aspect ratio is clamped to 3:1 (a wider region is letterboxed by the caller),
    the short side walks the 16-px grid and the long side is the exact-aspect length rounded to the grid
    (so it is never more than half a grid step off). Among valid sizes the smallest one holding at least
    the region's pixels wins (no detail lost); small regions are thus upscaled to the model's minimum and
    large ones capped at `pixel_budget` (at most 8,294,400).
    Fixed-size models: the one of 1024x1024 / 1536x1024 / 1024x1536 closest in aspect ratio.
    """
    if region_w < 1 or region_h < 1:
        raise PipelineInputError(f"The area to edit is empty ({region_w}x{region_h} pixels).")
    if not takes_free_sizes(model):
        return nearest_fixed_size(region_w, region_h)
    cap = min(int(pixel_budget), MAX_PIXELS)
    if cap < MIN_PIXEL_BUDGET:
        raise PipelineInputError(
            f"The pixel budget {pixel_budget:,} is too small; it must be at least {MIN_PIXEL_BUDGET:,} pixels."
        )
    ratio = min(max(region_w / region_h, 1 / MAX_RATIO), MAX_RATIO)
    landscape = ratio >= 1
    long_per_short = ratio if landscape else 1 / ratio
    target = min(max(region_w * region_h, MIN_PIXELS), cap)
    above: tuple[int, int, int] | None = None  # smallest valid size with >= target pixels
    below: tuple[int, int, int] | None = None  # largest valid size with < target pixels
    for short in range(GRID, MAX_EDGE + 1, GRID):
        long = _round_to_grid(short * long_per_short)
        if long > MAX_EDGE:
            break
        pixels = short * long
        if not MIN_PIXELS <= pixels <= cap:
            continue
        if pixels >= target:
            if above is None or pixels < above[0]:
                above = (pixels, short, long)
        elif below is None or pixels > below[0]:
            below = (pixels, short, long)
    best = above or below
    assert best is not None, "MIN_PIXEL_BUDGET guarantees a valid size"
    _, short, long = best
    return (long, short) if landscape else (short, long)


def resolve_size(size: str, region_w: int, region_h: int, model: str, pixel_budget: int) -> tuple[int, int]:
    """`size` as (W, H): "auto" chooses one, an explicit size must be valid for the model."""
    text = (size or "auto").strip().lower()
    if text == "auto":
        return choose_size(region_w, region_h, model, pixel_budget)
    wh = parse_size(text)
    if wh is None:
        raise PipelineInputError(f"Invalid size '{size}'. Expected 'auto' or WIDTHxHEIGHT, e.g. 1536x1024.")
    spec = model_spec(model)
    if spec is not None and not spec.free_sizes and text not in FIXED_SIZES:
        raise PipelineInputError(
            f"Invalid size '{size}' for {model}. Supported sizes are 1024x1024, 1536x1024, 1024x1536 and auto."
        )
    if spec is not None and spec.free_sizes:
        problem = free_size_violation(*wh, label=text)
        if problem:
            raise PipelineInputError(problem)
    if wh[0] < 1 or wh[1] < 1:
        raise PipelineInputError(f"Invalid size '{size}'.")
    return wh


@dataclass(frozen=True)
class ContentBox:
    """Where the region's pixels sit inside the request image; the rest is letterbox padding."""

    x: int
    y: int
    w: int
    h: int


def fit_content(region_w: int, region_h: int, width: int, height: int, stretch_px: int = 1) -> ContentBox:
    """Scale the region uniformly to fit (width, height) and centre it (letterbox).

    If filling the whole request would distort the region by at most `stretch_px` pixels per axis, fill
    it instead: free-size choices are within one grid step of the region's aspect, and stretching that
    little is invisible while padding would waste pixels.
    """
    scale = min(width / region_w, height / region_h)
    content_w = min(width, max(1, round(region_w * scale)))
    content_h = min(height, max(1, round(region_h * scale)))
    if width - content_w <= stretch_px and height - content_h <= stretch_px:
        return ContentBox(0, 0, width, height)
    return ContentBox((width - content_w) // 2, (height - content_h) // 2, content_w, content_h)
