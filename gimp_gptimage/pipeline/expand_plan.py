"""Expand Canvas, planning: the new canvas from a ratio, a size or pixels per side, and the requests that
cover its new area.

The requests are windows of the canvas: the new area plus picture around it, each scaled to a valid model
size (the rule table in api.params, sizes chosen by pipeline.sizes). One window for the whole canvas when
that keeps at least half the resolution; otherwise overlapping windows along the edges, never wider than
3:1, so a long strip is split instead of being squeezed. Planning is arithmetic only: no pixels needed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gimp_gptimage.api.params import MAX_EDGE, MAX_RATIO
from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.pipeline.region import Rect, grow_to_aspect
from gimp_gptimage.pipeline.sizes import DEFAULT_PIXEL_BUDGET, choose_size, nearest_fixed_size, takes_free_sizes
from gimp_gptimage.plugin.gptimage.gptimage_canvas import ANCHORS

# Along each axis the canvas may be at most this many times the picture: beyond it the model would invent
# far more than it can continue from.
MAX_EXPAND_FACTOR = MAX_RATIO
MAX_REQUESTS = 8  # one expansion never sends more (cost and time stay predictable)
# Each request keeps at least this share of the canvas resolution; larger expansions are tried at the next.
# The last step lets the fixed-size models (1536x1024 at most) reach a 2x expansion of a 6000x4000 photo in
# MAX_REQUESTS: their 8 answers hold 12.6 MP for its 72 MP of new area, so no plan could keep much more.
SCALE_STEPS = (0.5, 0.35, 0.25, 0.2)
MIN_CONTEXT_PX = 512  # picture each edge request sees beyond the new area, when the picture has it
_RATIO_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:/x]\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class CanvasPlan:
    """The new canvas and where the kept picture sits in it (canvas pixels)."""

    width: int
    height: int
    picture: Rect

    @property
    def sides(self) -> tuple[int, int, int, int]:
        """New pixels on the left, top, right and bottom."""
        p = self.picture
        return p.x, p.y, self.width - p.x - p.w, self.height - p.y - p.h

    @property
    def offset(self) -> tuple[int, int]:
        """Where the old canvas' (0, 0) lands: what GIMP's Image.resize takes."""
        return self.picture.x, self.picture.y


def parse_ratio(text: str) -> float:
    match = _RATIO_RE.match(text or "")
    if not match or float(match[1]) <= 0 or float(match[2]) <= 0:
        raise PipelineInputError(f"Invalid aspect ratio '{text}'. Expected WIDTH:HEIGHT, e.g. 16:9 or 4:5.")
    return float(match[1]) / float(match[2])


def _anchor(name: str) -> tuple[float, float]:
    key = (name or "center").strip().lower().replace("_", "-").replace(" ", "-")
    key = {"centre": "center", "middle": "center"}.get(key, key)
    if key not in ANCHORS:
        raise PipelineInputError(f"Unknown anchor '{name}'. Use one of: {', '.join(ANCHORS)}.")
    return ANCHORS[key]


def plan_canvas(
    picture_w: int,
    picture_h: int,
    *,
    to: str | None = None,
    size: str | None = None,
    sides: tuple[int, int, int, int] | None = None,
    anchor: str = "center",
) -> CanvasPlan:
    """The canvas for exactly one of: an aspect ratio (`to`, the smallest canvas of that shape holding the
    picture), a size ('WxH', at least the picture's), or new pixels per side (left, top, right, bottom).
    The anchor places the picture for a ratio or size; per-side amounts place it themselves."""
    given = [name for name, value in (("ratio", to), ("size", size), ("sides", sides)) if value]
    if len(given) != 1:
        raise PipelineInputError("Give the new canvas one way: an aspect ratio, a size, or pixels per side.")
    if picture_w < 1 or picture_h < 1:
        raise PipelineInputError(f"The picture is empty ({picture_w}x{picture_h} pixels).")
    if sides:
        left, top, right, bottom = (int(v) for v in sides)
        if min(left, top, right, bottom) < 0:
            raise PipelineInputError("Pixels per side cannot be negative: expanding only adds canvas.")
        plan = CanvasPlan(picture_w + left + right, picture_h + top + bottom, Rect(left, top, picture_w, picture_h))
        return check_plan(plan)
    if to:
        ratio = parse_ratio(to)
        if picture_w / picture_h < ratio:
            width, height = max(picture_w, round(picture_h * ratio)), picture_h
        else:
            width, height = picture_w, max(picture_h, round(picture_w / ratio))
        if (width, height) == (picture_w, picture_h):
            raise PipelineInputError(f"The picture ({picture_w}x{picture_h}) is already {to}: nothing to expand.")
    else:
        match = re.fullmatch(r"\s*(\d{1,6})\s*x\s*(\d{1,6})\s*", (size or "").lower())
        if not match:
            raise PipelineInputError(f"Invalid canvas size '{size}'. Expected WIDTHxHEIGHT, e.g. 3000x2000.")
        width, height = int(match[1]), int(match[2])
        if width < picture_w or height < picture_h:
            raise PipelineInputError(
                f"The canvas {width}x{height} is smaller than the picture ({picture_w}x{picture_h}); "
                "Expand Canvas only adds canvas."
            )
    fx, fy = _anchor(anchor)
    x, y = round((width - picture_w) * fx), round((height - picture_h) * fy)
    return check_plan(CanvasPlan(width, height, Rect(x, y, picture_w, picture_h)))


def check_plan(plan: CanvasPlan) -> CanvasPlan:
    """`plan` if it adds canvas within the limits, else PipelineInputError saying what is wrong."""
    p = plan.picture
    if (plan.width, plan.height) == (p.w, p.h):
        raise PipelineInputError("Nothing to expand: the new canvas is the size of the picture.")
    for axis, new, old in (("wide", plan.width, p.w), ("high", plan.height, p.h)):
        if new > MAX_EXPAND_FACTOR * old:
            raise PipelineInputError(
                f"Expanding {old} px of picture to {new} px {axis} is more than {MAX_EXPAND_FACTOR:g}:1; "
                f"the canvas may be at most {math.floor(MAX_EXPAND_FACTOR * old)} px {axis} "
                "(expand in steps for more)."
            )
    return plan


def request_size(window: Rect, model: str, pixel_budget: int = DEFAULT_PIXEL_BUDGET) -> tuple[int, int]:
    """The model size a window is sent at (what prepare_edit's "auto" size picks for it)."""
    return choose_size(window.w, window.h, model, pixel_budget)


def plan_requests(plan: CanvasPlan, model: str, pixel_budget: int = DEFAULT_PIXEL_BUDGET) -> list[Rect]:
    """The windows to send, in canvas pixels: together they cover every new pixel, neighbours overlap.

    Tried at each step of SCALE_STEPS: the whole canvas as one request if it fits at that scale, else
    windows along the edges; the first plan of at most MAX_REQUESTS wins.
    """
    too_many: list[int] = []  # request counts of plans that exist but send too many
    reach = 0  # canvas px the largest window spans at the last scale tried
    windows: list[Rect] | None = None
    for scale in SCALE_STEPS:
        limits = _Limits.at(scale, model, pixel_budget)
        whole = Rect(0, 0, plan.width, plan.height)
        if limits.fits(whole):
            return [_to_model_aspect(whole, plan, model, pixel_budget)]
        windows = _edge_windows(plan, limits)
        if windows is not None and windows is not _TOO_DEEP:
            if len(windows) <= MAX_REQUESTS:
                return [_to_model_aspect(w, plan, model, pixel_budget) for w in windows]
            too_many.append(len(windows))
        reach = int(limits.max_edge)
    if too_many:
        raise PipelineInputError(
            f"Expanding to {plan.width}x{plan.height} would take {min(too_many)} requests to {model}; one "
            f"expansion sends at most {MAX_REQUESTS}, each at least {min(SCALE_STEPS):.0%} of the canvas "
            "resolution. Expand less, or in steps."
        )
    if windows is _TOO_DEEP:
        raise PipelineInputError(
            f"Expanding to {plan.width}x{plan.height} adds a side deeper than one request to {model} can reach "
            f"({reach} px at {min(SCALE_STEPS):.0%} of the canvas resolution). Expand less, or in steps."
        )
    ratio = "3:1" if takes_free_sizes(model) else "3:2"
    raise PipelineInputError(
        f"A {plan.picture.w}x{plan.picture.h} picture cannot be expanded to {plan.width}x{plan.height} "
        f"without distorting it: a side is too deep for the strip beside it (each request to {model} is at "
        f"most {ratio}). Expand in smaller steps."
    )


@dataclass(frozen=True)
class _Limits:
    """The largest window (canvas pixels) that still reaches the model at `scale` or better."""

    max_edge: float
    max_pixels: float
    max_ratio: float
    scale: float
    fixed: bool

    @classmethod
    def at(cls, scale: float, model: str, pixel_budget: int) -> _Limits:
        if takes_free_sizes(model):
            return cls(MAX_EDGE / scale, pixel_budget / scale**2, MAX_RATIO, scale, fixed=False)
        # Fixed sizes: 1536x1024 at most, 3:2 at most (a squarer window is letterboxed, never stretched).
        return cls(1536 / scale, 1536 * 1024 / scale**2, 1.5, scale, fixed=True)

    def fits(self, r: Rect) -> bool:
        return (
            max(r.w, r.h) <= self.max_edge
            and r.w * r.h <= self.max_pixels
            and max(r.w, r.h) <= self.max_ratio * min(r.w, r.h)
            and self.keeps(r.w, r.h)
        )

    def keeps(self, w: int, h: int) -> bool:
        """Whether a w x h window reaches the model at `scale` or better: with fixed sizes a squarish window
        is sent at 1024x1024, not 1536x1024."""
        if not self.fixed:
            return True
        size_w, size_h = nearest_fixed_size(w, h)
        return min(size_w / w, size_h / h) >= self.scale * 0.999

    def longest(self, depth: int) -> int:
        """The longest window along an edge for a window `depth` deep across it."""
        return int(min(self.max_ratio * depth, self.max_edge, self.max_pixels / depth))


def _segments(start: int, length: int, longest: int, overlap: int) -> list[tuple[int, int]]:
    """Evenly spaced spans covering [start, start+length), each at most `longest`, neighbours sharing at
    least `overlap` pixels."""
    if length <= longest:
        return [(start, length)]
    count = math.ceil((length - overlap) / (longest - overlap))
    span = min(longest, math.ceil((length + (count - 1) * overlap) / count))
    return [(start + round(i * (length - span) / (count - 1)), span) for i in range(count)]


def overlap_for(depth: int) -> int:
    """How far neighbouring windows share pixels (canvas px) for windows `depth` deep: enough to blend."""
    return min(max(depth // 4, 64), 1024)


_TOO_DEEP: list[Rect] = []  # a side deeper than any window at this scale (a lower scale may reach it)


def _edge_windows(plan: CanvasPlan, limits: _Limits) -> list[Rect] | None:
    """Windows along each side with new pixels: top and bottom span the canvas width (corners included),
    left and right the picture's height plus an overlap into the top and bottom bands. None if a side is
    too deep to fit any window at these limits."""
    left, top, right, bottom = plan.sides
    p, width, height = plan.picture, plan.width, plan.height
    windows: list[Rect] = []
    for depth, extent, vertical_band, at_start in (
        (top, p.h, False, True),
        (bottom, p.h, False, False),
        (left, p.w, True, True),
        (right, p.w, True, False),
    ):
        if depth == 0:
            continue
        room = width if vertical_band else height
        if vertical_band:
            start = p.y - (overlap_for(depth) if top else 0)
            stop = p.y + p.h + (overlap_for(depth) if bottom else 0)
        else:
            start, stop = 0, width
        best = None
        # More picture as context lets a window run longer along the edge (the 3:1 rule): take the depth
        # that needs the fewest requests, the shallowest of those.
        shallow = min(depth + min(extent, max(depth, MIN_CONTEXT_PX)), room, int(limits.max_edge))
        deep = min(depth + extent, room, int(limits.max_edge))
        if deep < depth:
            return _TOO_DEEP
        # Less context than that only when no such window reaches the model at this scale (a fixed-size
        # model's squarish window is sent at 1024x1024).
        for candidates in (
            {shallow + (deep - shallow) * k // 4 for k in range(5)},
            {depth + max(MIN_CONTEXT_PX, (shallow - depth) * k // 4) for k in range(1, 4)},
        ):
            for across in sorted(c for c in candidates if c <= deep):
                spans = _band_spans(
                    across, depth, start, stop, room_along=height if vertical_band else width, limits=limits
                )
                if spans is not None and (best is None or len(spans) < len(best[1])):
                    best = (across, spans)
            if best is not None:
                break
        if best is None:
            return None
        across, spans = best
        lo = 0 if at_start else (width if vertical_band else height) - across
        for pos, span in spans:
            windows.append(Rect(lo, pos, across, span) if vertical_band else Rect(pos, lo, span, across))
    return windows


def _band_spans(
    across: int, depth: int, start: int, stop: int, room_along: int, limits: _Limits
) -> list[tuple[int, int]] | None:
    """Where along an edge the windows `across` deep go, or None if no window that deep fits."""
    if across < depth:
        return None
    overlap = overlap_for(across)
    longest = limits.longest(across)
    span_min = math.ceil(across / limits.max_ratio)  # no thinner than 3:1 allows
    if longest < span_min or longest <= overlap or room_along < span_min:
        return None
    start, stop = max(0, start), min(room_along, stop)
    if stop - start < span_min:  # take more of the strip beside it
        start = max(0, min(start - (span_min - (stop - start)) // 2, room_along - span_min))
        stop = start + span_min
    spans = _segments(start, stop - start, longest, overlap)
    return spans if all(limits.keeps(across, span) for _, span in spans) else None


def _to_model_aspect(window: Rect, plan: CanvasPlan, model: str, pixel_budget: int) -> Rect:
    """Grow a window's short side towards its request's aspect inside the canvas (real surroundings beat
    letterbox bars, as pipeline.region.grow_to_aspect does for edits)."""
    w, h = request_size(window, model, pixel_budget)
    return grow_to_aspect(window, w / h, plan.width, plan.height)
