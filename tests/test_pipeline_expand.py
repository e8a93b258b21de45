"""Expand Canvas pipeline: canvas plans, request windows, pre-fill, and exact assembly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pipeline_helpers import photo_layer, request_image, request_mask_alpha

from gimp_gptimage.api.models import MODELS
from gimp_gptimage.api.params import FIXED_SIZES, GRID, free_size_violation
from gimp_gptimage.pipeline import ContextOptions, PipelineInputError, paste_back, prepare_edit
from gimp_gptimage.pipeline.expand import assemble, prepare_expansion
from gimp_gptimage.pipeline.expand_fill import new_area, opencv_fill, prefill_canvas
from gimp_gptimage.pipeline.expand_plan import (
    ANCHORS,
    MAX_REQUESTS,
    SCALE_STEPS,
    CanvasPlan,
    Rect,
    plan_canvas,
    plan_requests,
    request_size,
)
from gimp_gptimage.pipeline.sizes import takes_free_sizes

W, H = 480, 320  # small pictures keep the pixel tests fast; plans are checked at full size below
FAST = opencv_fill  # where the fill is not what is tested (the default, MI-GAN, is tested on its own below)


def run_identity(prep, shift: int = 0) -> list[np.ndarray]:
    """Each window through the edit pipeline and a model that returns what it got (plus `shift` in every
    channel: a colour drift the colour match must undo)."""
    pixels = []
    for tile in prep.tiles:
        edit = prepare_edit(tile.layer, tile.selection, options=prep.tile_options, layer_offset=tile.window[:2])
        image = request_image(edit).astype(np.int16)
        image[:, :, :3] += shift
        result = np.clip(image, 0, 255).astype(np.uint8)
        pixels.append(paste_back(edit, result, tile.layer, tile.selection).pixels)
    return pixels


def check_requests(plan: CanvasPlan, windows: list[Rect], model: str) -> None:
    """Every window inside the canvas, sent at a valid size of the model's aspect (never stretched by more
    than the pipeline's one grid step); together they cover every new pixel."""
    for w in windows:
        assert w.x >= 0 and w.y >= 0 and w.x + w.w <= plan.width and w.y + w.h <= plan.height, w
        size = request_size(w, model)
        if takes_free_sizes(model):
            assert free_size_violation(*size) is None, (w, size)
            assert max(w.w, w.h) <= 3 * min(w.w, w.h), w
            # One grid step of stretch at most, exactly as prepare_edit fills a free size.
            scale = min(size[0] / w.w, size[1] / w.h)
            assert abs(w.w * scale - size[0]) <= GRID and abs(w.h * scale - size[1]) <= GRID, (w, size)
        else:
            assert f"{size[0]}x{size[1]}" in FIXED_SIZES


def coverage(plan: CanvasPlan, windows: list[Rect], step: int = 1) -> np.ndarray:
    """How many windows hold each canvas pixel (sampled every `step` pixels)."""
    count = np.zeros((math.ceil(plan.height / step), math.ceil(plan.width / step)), np.int16)
    for w in windows:
        count[-(-w.y // step) : -(-(w.y + w.h) // step), -(-w.x // step) : -(-(w.x + w.w) // step)] += 1
    return count


def new_sampled(plan: CanvasPlan, step: int = 1) -> np.ndarray:
    return new_area(plan)[::step, ::step] > 0


@pytest.mark.parametrize("anchor", list(ANCHORS))
def test_every_anchor_keeps_the_picture_exactly_and_covers_the_new_area(anchor: str) -> None:
    picture = photo_layer(W, H, seed=1)
    plan = plan_canvas(W, H, size="800x560", anchor=anchor)
    fx, fy = ANCHORS[anchor]
    assert plan.picture == Rect(round(320 * fx), round(240 * fy), W, H)
    prep = prepare_expansion(picture, plan, options=ContextOptions(blend_margin_px=0), fill=FAST)
    check_requests(plan, [t.window for t in prep.tiles], "gpt-image-2")
    out = assemble(prep, run_identity(prep))
    assert out.pixels.shape == (560, 800, 4) and out.offset == (0, 0) and out.alpha is not None
    p = plan.picture
    composite = out.composite(prep.canvas)
    assert np.array_equal(composite[p.y : p.y + p.h, p.x : p.x + p.w], picture)
    assert np.array_equal(out.pixels[p.y : p.y + p.h, p.x : p.x + p.w], picture)
    new = prep.new > 0
    assert (out.alpha[new] == 255).all() and (out.alpha[~new] == 0).all()
    assert (composite[new][:, 3] == 255).all()


@pytest.mark.parametrize(
    "sides", [(37, 0, 0, 0), (0, 0, 211, 5), (10, 300, 0, 90), (400, 1, 3, 250), (160, 160, 160, 160)]
)
@pytest.mark.parametrize("margin", [0, 8])
def test_uneven_sides_keep_the_picture_beyond_the_margin(sides: tuple[int, int, int, int], margin: int) -> None:
    picture = photo_layer(W, H, seed=2)
    plan = plan_canvas(W, H, sides=sides)
    assert plan.sides == sides and plan.offset == sides[:2]
    prep = prepare_expansion(picture, plan, options=ContextOptions(blend_margin_px=margin), fill=FAST)
    out = assemble(prep, run_identity(prep))
    assert out.alpha is not None
    composite = out.composite(prep.canvas)
    p = plan.picture
    inner = (slice(p.y + margin, p.y + p.h - margin), slice(p.x + margin, p.x + p.w - margin))
    kept = picture[margin : H - margin, margin : W - margin]
    assert np.array_equal(composite[inner], kept)
    # The mask reaches exactly the margin into the picture (Chebyshev), and covers the new area.
    touched = np.argwhere(out.alpha[p.y : p.y + p.h, p.x : p.x + p.w] > 0)
    if touched.size:
        ys, xs = touched[:, 0], touched[:, 1]
        depth = np.minimum.reduce(
            [np.where(sides[0], xs, 10**6), np.where(sides[1], ys, 10**6),
             np.where(sides[2], W - 1 - xs, 10**6), np.where(sides[3], H - 1 - ys, 10**6)]
        )  # fmt: skip
        assert depth.max() < margin
    assert (out.alpha[prep.new > 0] == 255).all()


def test_request_mask_marks_the_new_area_for_editing_and_the_picture_as_kept() -> None:
    plan = plan_canvas(W, H, sides=(200, 0, 0, 0))
    # The user's grow/feather shape selections; an expansion's mask is the new area plus the blend margin.
    prep = prepare_expansion(photo_layer(W, H), plan, options=ContextOptions(blend_margin_px=4, grow_px=30), fill=FAST)
    (tile,) = prep.tiles
    edit = prepare_edit(tile.layer, tile.selection, options=prep.tile_options)
    alpha = request_mask_alpha(edit)
    sx = edit.request_size[0] / tile.window.w
    assert (alpha[:, : int(200 * sx) - 1] == 0).all()  # new area: edit
    assert (alpha[:, int((200 + 4) * sx) + 2 :] == 255).all()  # the picture beyond the margin: keep


def test_colour_drift_of_the_model_is_matched_to_the_kept_picture() -> None:
    plan = plan_canvas(W, H, sides=(0, 0, 240, 0))
    prep = prepare_expansion(photo_layer(W, H, seed=3), plan, fill=FAST)
    drifted = assemble(prep, run_identity(prep, shift=25))
    new = prep.new > 0
    error = np.abs(drifted.pixels[new][:, :3].astype(int) - prep.canvas[new][:, :3].astype(int)).mean()
    assert error < 2.5, error  # 25 without the match


def test_prefill_is_opaque_textured_and_leaves_the_picture_alone() -> None:
    picture = photo_layer(W, H, seed=4)
    plan = plan_canvas(W, H, to="16:9", anchor="right")
    canvas = prefill_canvas(picture, plan)
    p, new = plan.picture, new_area(plan) > 0
    assert np.array_equal(canvas[p.y : p.y + p.h, p.x : p.x + p.w], picture)
    assert (canvas[:, :, 3] == 255).all()
    band = canvas[new][:, :3].astype(np.float32)
    assert band.std(axis=0).min() > 5  # not a flat border
    # It continues the picture's colours: the band next to the picture is close to the picture's edge.
    edge = picture[:, :8, :3].astype(np.float32).mean(axis=(0, 1))
    beside = canvas[:, p.x - 8 : p.x, :3].astype(np.float32).mean(axis=(0, 1))
    assert np.abs(edge - beside).max() < 20


def test_the_fill_is_a_seam_any_function_can_plug_into() -> None:
    seen = []

    def fill(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        seen.append(hole.copy())
        out = rgb.copy()
        out[hole] = (1, 2, 3)
        return out

    plan = plan_canvas(W, H, sides=(5, 6, 7, 8))
    prep = prepare_expansion(photo_layer(W, H), plan, fill=fill)
    assert np.array_equal(seen[0], prep.new > 0)
    assert (prep.canvas[prep.new > 0][:, :3] == (1, 2, 3)).all()
    assert opencv_fill(prep.canvas[:, :, :3], prep.new > 0).shape == prep.canvas[:, :, :3].shape


def test_overlapping_windows_blend_without_a_step() -> None:
    """Windows painting different flat colours meet in a ramp, not an edge."""
    picture = photo_layer(3000, 400, seed=5)
    plan = plan_canvas(3000, 400, sides=(0, 400, 0, 0))
    prep = prepare_expansion(picture, plan, fill=FAST)
    assert len(prep.tiles) >= 2
    colours = [np.full((t.window.h, t.window.w, 4), (40 + 150 * (i % 2), 90, 90, 255), np.uint8)
               for i, t in enumerate(prep.tiles)]  # fmt: skip
    out = assemble(prep, colours).pixels[:400, :, 0].astype(int)
    steps = np.abs(np.diff(out, axis=1)).max()
    overlap = min(b.window.x + b.window.w for b in prep.tiles[:1]) - prep.tiles[1].window.x
    assert overlap > 0 and steps <= math.ceil(150 / overlap) + 1, (steps, overlap)


@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-1.5"])
@pytest.mark.parametrize(
    ("picture", "kwargs"),
    [
        ((4000, 3000), {"to": "16:9"}),
        ((6000, 4000), {"to": "4:5", "anchor": "top"}),
        ((3000, 1000), {"sides": (500, 0, 0, 0)}),
        ((2000, 2000), {"sides": (0, 1200, 2500, 37)}),
        ((1024, 768), {"to": "1:1", "anchor": "bottom-right"}),
        ((8000, 1000), {"sides": (0, 600, 0, 600)}),
    ],
)
def test_plans_obey_the_model_rules_and_cover_the_border_with_overlap(
    picture: tuple[int, int], kwargs: dict, model: str
) -> None:
    plan = plan_canvas(*picture, **kwargs)
    windows = plan_requests(plan, model)
    assert 1 <= len(windows) <= MAX_REQUESTS
    check_requests(plan, windows, model)
    step = 4
    count = coverage(plan, windows, step)
    new = new_sampled(plan, step)
    assert (count[new] >= 1).all(), "every new pixel is in some request"
    if len(windows) > 1:
        # Where a window ends inside the canvas on new pixels, another one holds both sides of that edge.
        for w in windows:
            for x, y, dx, dy in _inner_edge_points(plan, w, step * 8):
                if new[y // step, x // step]:
                    assert any(
                        o != w and _holds(o, x + dx, y + dy) and _holds(o, x - 32 * dx, y - 32 * dy) for o in windows
                    ), (w, x, y)


def _holds(r: Rect, x: int, y: int) -> bool:
    return r.x <= x < r.x + r.w and r.y <= y < r.y + r.h


def _inner_edge_points(plan: CanvasPlan, w: Rect, step: int) -> list[tuple[int, int, int, int]]:
    """Points on a window's edges that lie inside the canvas, with the outward direction."""
    points = []
    if w.x > 0:
        points += [(w.x, y, -1, 0) for y in range(w.y, w.y + w.h, step)]
    if w.x + w.w < plan.width:
        points += [(w.x + w.w - 1, y, 1, 0) for y in range(w.y, w.y + w.h, step)]
    if w.y > 0:
        points += [(x, w.y, 0, -1) for x in range(w.x, w.x + w.w, step)]
    if w.y + w.h < plan.height:
        points += [(x, w.y + w.h - 1, 0, 1) for x in range(w.x, w.x + w.w, step)]
    return points


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("anchor", ["center", "top-left", "bottom"])
def test_double_a_6000x4000_photo_is_a_tiled_plan_for_every_model(model: str, anchor: str) -> None:
    plan = plan_canvas(6000, 4000, size="12000x8000", anchor=anchor)
    windows = plan_requests(plan, model)
    assert 2 <= len(windows) <= MAX_REQUESTS
    check_requests(plan, windows, model)
    step = 8
    count = coverage(plan, windows, step)
    new = new_sampled(plan, step)
    assert (count[new] >= 1).all()
    assert (count[new] >= 2).any(), "neighbouring windows overlap"
    assert all(w.w * w.h < plan.width * plan.height / 2 for w in windows)
    # No request is scaled below the lowest step (a grid step or the letterbox aside).
    assert all(max(request_size(w, model)) / max(w.w, w.h) >= min(SCALE_STEPS) - 0.01 for w in windows)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"sides": (0, 0, 0, 0)}, "Nothing to expand"),
        ({}, "one way"),
        ({"size": "1000x800"}, "Nothing to expand"),
        ({"to": "5:4"}, "already 5:4"),
        ({"size": "900x800"}, "smaller than the picture"),
        ({"sides": (2001, 0, 0, 0)}, "more than 3:1"),
        ({"to": "4:1"}, "more than 3:1"),
        ({"sides": (-5, 0, 0, 0)}, "negative"),
        ({"to": "wide"}, "Expected WIDTH:HEIGHT"),
        ({"size": "big"}, "Expected WIDTHxHEIGHT"),
        ({"to": "16:9", "anchor": "middle-ish"}, "Unknown anchor"),
        ({"to": "16:9", "size": "2000x2000"}, "one way"),
    ],
)
def test_bad_canvas_requests_get_a_clear_message(kwargs: dict, needle: str) -> None:
    with pytest.raises(PipelineInputError, match=needle):
        plan_canvas(1000, 800, **{k: v for k, v in kwargs.items() if v is not None})


def test_more_requests_than_allowed_says_the_limit() -> None:
    plan = plan_canvas(6000, 4000, size="18000x12000")
    with pytest.raises(PipelineInputError, match=f"would take 10 requests to gpt-image-1.5; .* at most {MAX_REQUESTS}"):
        plan_requests(plan, "gpt-image-1.5")


def test_a_side_deeper_than_any_request_says_how_far_one_reaches() -> None:
    plan = plan_canvas(20000, 20000, size="60000x60000")
    with pytest.raises(PipelineInputError, match=r"deeper than one request to gpt-image-2 can reach \(19200 px"):
        plan_requests(plan, "gpt-image-2")


def test_a_side_too_deep_for_its_strip_is_refused_not_distorted() -> None:
    plan = plan_canvas(300, 1000, sides=(0, 1900, 0, 0))  # a 300 px strip 1900 px deep cannot be 3:1
    with pytest.raises(PipelineInputError, match="without distorting"):
        plan_requests(plan, "gpt-image-2")


def test_a_picture_of_another_size_than_planned_is_refused() -> None:
    with pytest.raises(PipelineInputError, match="does not match"):
        prepare_expansion(photo_layer(100, 100), plan_canvas(120, 100, sides=(10, 0, 0, 0)))


def test_the_dialogs_presets_and_anchors_are_the_planners_own() -> None:
    from gimp_gptimage.pipeline import expand_plan
    from gimp_gptimage.plugin.gptimage import gptimage_canvas

    assert expand_plan.ANCHORS is gptimage_canvas.ANCHORS and next(iter(ANCHORS)) == "center"  # the default
    for ratio in gptimage_canvas.PRESET_RATIOS:
        plan = plan_canvas(1000, 800, to=ratio)
        w, h = (float(v) for v in ratio.split(":"))
        assert abs(plan.width / plan.height - w / h) < 0.01, ratio
