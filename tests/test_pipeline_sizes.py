"""Request sizes: every chosen size obeys every rule of its model and keeps the region's aspect."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gimp_gptimage.pipeline import DEFAULT_PIXEL_BUDGET, PipelineInputError, choose_size, fit_content
from gimp_gptimage.pipeline.sizes import MIN_PIXEL_BUDGET, resolve_size

FIXED = {(1024, 1024), (1536, 1024), (1024, 1536)}
sides = st.integers(min_value=1, max_value=20_000)
budgets = st.integers(min_value=MIN_PIXEL_BUDGET, max_value=8_294_400)


def assert_valid_free_size(w: int, h: int) -> None:
    # Written out independently of api.params on purpose.
    assert w % 16 == 0 and h % 16 == 0
    assert w <= 3840 and h <= 3840
    assert 655_360 <= w * h <= 8_294_400
    assert max(w, h) <= 3 * min(w, h)


@settings(max_examples=400, deadline=None)
@given(sides, sides, budgets)
def test_free_sizes_obey_every_rule_and_keep_aspect_within_one_grid_step(rw: int, rh: int, budget: int) -> None:
    w, h = choose_size(rw, rh, "gpt-image-2", budget)
    assert_valid_free_size(w, h)
    assert w * h <= budget
    ratio = min(max(rw / rh, 1 / 3), 3)  # wider regions are letterboxed to 3:1
    if ratio >= 1:
        assert abs(w - h * ratio) <= 16, (w, h, ratio)
    else:
        assert abs(h - w / ratio) <= 16, (w, h, ratio)


@settings(max_examples=200, deadline=None)
@given(sides, sides, budgets)
def test_small_regions_reach_the_minimum_and_large_ones_stop_at_the_budget(rw: int, rh: int, budget: int) -> None:
    w, h = choose_size(rw, rh, "gpt-image-2", budget)
    pixels = rw * rh
    at_edge_limit = max(w, h) > 3840 - 3 * 16  # a 3:1 size cannot grow past 3840 x 1280
    if pixels <= 655_360:
        # Upscaled to (about) the model's minimum, not beyond what the grid forces.
        assert w * h < 655_360 * 1.2
    elif pixels >= budget:
        assert w * h > budget * 0.85 or at_edge_limit
    else:
        # In between: never fewer pixels than the region unless the budget or the edge limit forbids it.
        assert w * h >= pixels or w * h > budget * 0.85 or at_edge_limit


@settings(max_examples=200, deadline=None)
@given(sides, sides, st.sampled_from(["gpt-image-1.5", "chatgpt-image-latest", "gpt-image-1-mini", "some-relay-model"]))
def test_fixed_size_models_get_the_closest_of_three_sizes(rw: int, rh: int, model: str) -> None:
    size = choose_size(rw, rh, model)
    assert size in FIXED
    aspect = math.log(rw / rh)
    best = min(abs(math.log(w / h) - aspect) for w, h in FIXED)
    assert abs(math.log(size[0] / size[1]) - aspect) == pytest.approx(best)


def test_a_region_that_already_is_a_valid_size_is_sent_at_that_size() -> None:
    assert choose_size(1024, 1024) == (1024, 1024)
    assert choose_size(1344, 1152) == (1344, 1152)
    assert choose_size(2048, 1152) == (2048, 1152)


def test_dated_snapshot_takes_free_sizes() -> None:
    assert choose_size(2000, 1000, "gpt-image-2-2026-04-21") == choose_size(2000, 1000, "gpt-image-2")


def test_default_budget_is_the_fast_range() -> None:
    assert DEFAULT_PIXEL_BUDGET <= 3_686_400
    w, h = choose_size(6000, 4000)
    assert w * h <= 3_686_400 and abs(w / h - 1.5) < 0.02


@settings(max_examples=200, deadline=None)
@given(sides, sides, st.integers(16, 3840), st.integers(16, 3840))
def test_letterbox_keeps_aspect_and_fits(rw: int, rh: int, width: int, height: int) -> None:
    box = fit_content(rw, rh, width, height)
    assert box.x >= 0 and box.x + box.w <= width and box.y >= 0 and box.y + box.h <= height
    if (box.w, box.h) != (width, height):
        # One uniform scale for both axes: each side is the exact scaled length rounded (at least 1 px).
        scale = min(width / rw, height / rh)
        assert abs(box.w - rw * scale) <= 0.5 + 1e-9 or box.w == 1
        assert abs(box.h - rh * scale) <= 0.5 + 1e-9 or box.h == 1
        # Centred.
        assert abs(box.x - (width - box.x - box.w)) <= 1 and abs(box.y - (height - box.y - box.h)) <= 1


@pytest.mark.parametrize(
    ("size", "model", "message"),
    [
        ("1792x936", "gpt-image-2", "divisible by 16"),
        ("4096x1024", "gpt-image-2", "at most 3840"),
        ("512x512", "gpt-image-2", "between 655,360"),
        ("3840x1024", "gpt-image-2", "3 times"),
        ("1254x836", "gpt-image-1.5", "1024x1024, 1536x1024, 1024x1536"),
        ("big", "gpt-image-2", "Expected 'auto' or WIDTHxHEIGHT"),
    ],
)
def test_invalid_explicit_sizes_are_refused_with_a_specific_message(size: str, model: str, message: str) -> None:
    with pytest.raises(PipelineInputError, match=message):
        resolve_size(size, 100, 100, model, DEFAULT_PIXEL_BUDGET)


def test_explicit_valid_size_is_used_as_given() -> None:
    assert resolve_size("2048x1152", 100, 100, "gpt-image-2", DEFAULT_PIXEL_BUDGET) == (2048, 1152)
    assert resolve_size("1024x1536", 100, 100, "gpt-image-1.5", DEFAULT_PIXEL_BUDGET) == (1024, 1536)
