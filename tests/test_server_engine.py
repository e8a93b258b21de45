"""The offline engine really edits: object removal, restyle, fusion and generation, all deterministic."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from server_fixtures import RESOURCES

from gimp_gptimage.server import OpenCVEngine


@pytest.fixture(scope="module")
def engine() -> OpenCVEngine:
    return OpenCVEngine()


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    return Image.open(RESOURCES / "coffee.png").convert("RGB")


def spoon_alpha() -> np.ndarray:
    """255 = keep, 0 = edit: the spoon's bowl (x 325-410, y 230-325) and its handle up to (420, 70)."""
    alpha = np.full((400, 600), 255, np.uint8)
    cv2.ellipse(alpha, (367, 278), (46, 52), 0, 0, 360, 0, -1)
    cv2.line(alpha, (372, 235), (412, 70), 0, 22)
    cv2.line(alpha, (360, 250), (385, 200), 0, 20)
    return alpha


def api_mask(alpha: np.ndarray) -> Image.Image:
    return Image.fromarray(np.dstack([np.zeros_like(alpha)] * 3 + [alpha]), "RGBA")


def bright_grey_fraction(pixels: np.ndarray) -> float:
    """Share of pixels that look like polished steel: light and without colour."""
    hsv = cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2HSV).reshape(-1, 3)
    return float(np.mean((hsv[:, 1] < 130) & (hsv[:, 2] > 80)))


def chroma(pixels: np.ndarray) -> np.ndarray:
    """Mean colour with brightness taken out (the fill may sit in shadow; its hue must match)."""
    mean = pixels.astype(float).mean(0)
    return mean / mean.sum()


def test_removes_the_spoon(engine: OpenCVEngine, coffee: Image.Image) -> None:
    alpha = spoon_alpha()
    result = np.asarray(engine.edit([coffee], api_mask(alpha), "remove the spoon", coffee.size))
    original = np.asarray(coffee)
    hole = alpha == 0
    bowl = np.zeros_like(hole)
    cv2.ellipse(bowl.view(np.uint8), (367, 278), (40, 46), 0, 0, 360, 1, -1)
    assert bright_grey_fraction(original[bowl]) > 0.2  # the spoon is there before
    assert bright_grey_fraction(result[bowl]) < 0.02  # and gone after
    # What fills the hole has the colours of the saucer and table around it, not of the spoon.
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool) & ~hole
    surroundings, filled, spoon = chroma(original[ring]), chroma(result[hole]), chroma(original[hole])
    assert np.linalg.norm(filled - surroundings) < 0.5 * np.linalg.norm(spoon - surroundings)
    red, green, blue = result[bowl].astype(float).mean(0)
    assert red > 1.8 * green and green > blue  # saucer red-brown
    # Every pixel outside the mask is untouched.
    assert np.array_equal(result[~hole], original[~hole])


def test_soft_mask_edges_blend(engine: OpenCVEngine, coffee: Image.Image) -> None:
    alpha = cv2.GaussianBlur(spoon_alpha(), (0, 0), 4)
    result = np.asarray(engine.edit([coffee], api_mask(alpha), "remove", coffee.size)).astype(int)
    original = np.asarray(coffee).astype(int)
    assert np.array_equal(result[alpha == 255], original[alpha == 255])
    partial = (alpha > 60) & (alpha < 200)
    changed = np.abs(result[partial] - original[partial]).sum(1)
    assert changed.mean() > 0


def test_deterministic_and_varied_by_index(engine: OpenCVEngine, coffee: Image.Image) -> None:
    mask = api_mask(spoon_alpha())
    first = np.asarray(engine.edit([coffee], mask, "remove", (1024, 688), index=0))
    again = np.asarray(engine.edit([coffee], mask, "remove", (1024, 688), index=0))
    other = np.asarray(engine.edit([coffee], mask, "remove", (1024, 688), index=1))
    assert first.shape == (688, 1024, 3)
    assert np.array_equal(first, again)
    difference = np.abs(first.astype(int) - other.astype(int))
    assert 0 < difference.mean() < 3  # slightly different, not another picture


def test_unmasked_edit_is_a_visible_prompt_keyed_restyle(engine: OpenCVEngine, coffee: Image.Image) -> None:
    original = np.asarray(coffee).astype(float)
    warm = np.asarray(engine.edit([coffee], None, "warm sunset", coffee.size)).astype(float)
    cold = np.asarray(engine.edit([coffee], None, "cold winter morning", coffee.size)).astype(float)
    assert np.abs(warm - original).mean() > 8 and np.abs(warm - cold).mean() > 3
    luma = original @ [0.299, 0.587, 0.114]
    assert np.corrcoef(luma.ravel(), (warm @ [0.299, 0.587, 0.114]).ravel())[0, 1] > 0.9  # same picture
    # A mask that protects everything edits nothing in particular: the same as no mask.
    fully_opaque = api_mask(np.full((400, 600), 255, np.uint8))
    unmasked = np.asarray(engine.edit([coffee], None, "warm sunset", coffee.size))
    assert np.array_equal(np.asarray(engine.edit([coffee], fully_opaque, "warm sunset", coffee.size)), unmasked)


def test_fuses_references_into_the_masked_area(engine: OpenCVEngine, coffee: Image.Image) -> None:
    cat = Image.open(RESOURCES / "chelsea.png").convert("RGB")
    alpha = np.full((400, 600), 255, np.uint8)
    alpha[40:240, 40:340] = 0
    result = np.asarray(engine.edit([coffee, cat], api_mask(alpha), "put the cat here", coffee.size))
    original = np.asarray(coffee)
    assert np.array_equal(result[alpha == 255], original[alpha == 255])
    placed = cv2.resize(result[40:240, 40:340], (cat.width, cat.height)).astype(float)
    correlation = np.corrcoef(placed.ravel(), np.asarray(cat).astype(float).ravel())[0, 1]
    assert correlation > 0.8


def test_fuses_references_without_a_mask(engine: OpenCVEngine, coffee: Image.Image) -> None:
    rocket = Image.open(RESOURCES / "rocket.jpg").convert("RGB")
    result = np.asarray(engine.edit([coffee, rocket], None, "fuse", (1024, 688))).astype(float)
    base = np.asarray(coffee.resize((1024, 688))).astype(float)
    reference = np.asarray(rocket.resize((1024, 688))).astype(float)
    assert np.abs(result - base).mean() > 10
    # The colour balance moves towards the reference's.
    assert np.linalg.norm(result.mean((0, 1)) - reference.mean((0, 1))) < np.linalg.norm(
        base.mean((0, 1)) - reference.mean((0, 1))
    )


def test_keeps_alpha_when_asked(engine: OpenCVEngine) -> None:
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :50, 3] = 255  # left half opaque, right half transparent
    alpha = np.full((100, 100), 255, np.uint8)
    alpha[10:30, 10:30] = 0
    result = np.asarray(engine.edit([Image.fromarray(rgba)], api_mask(alpha), "x", (100, 100), keep_alpha=True))
    assert result.shape == (100, 100, 4)
    assert (result[:, 60:, 3] == 0).all() and (result[40:, :40, 3] == 255).all()
    assert (result[15:25, 15:25, 3] > 200).all()  # the filled area is as opaque as its surroundings


def test_generation_is_deterministic_and_prompt_dependent(engine: OpenCVEngine) -> None:
    first = np.asarray(engine.generate("a red kite", (1024, 1024)))
    assert first.shape == (1024, 1024, 3)
    assert np.array_equal(first, np.asarray(engine.generate("a red kite", (1024, 1024))))
    assert not np.array_equal(first, np.asarray(engine.generate("a red kite", (1024, 1024), index=1)))
    assert not np.array_equal(first, np.asarray(engine.generate("a blue boat", (1024, 1024))))
    assert first.std() > 20  # a picture, not a flat fill
    wide = engine.generate("x" * 500, (1536, 1024), transparent=True)
    assert wide.size == (1536, 1024) and wide.mode == "RGBA"
    assert wide.getchannel("A").getextrema()[0] == 0
