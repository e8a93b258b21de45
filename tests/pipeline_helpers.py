"""Shared images, fake engines and checks for the pipeline tests."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from gimp_gptimage.pipeline import PreparedEdit

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def photo_layer(width: int, height: int, seed: int = 0, alpha: int = 255) -> np.ndarray:
    """An opaque (or uniformly translucent) RGBA layer with photo-like texture at every scale: the coffee
    photo resized, plus smooth random structure so no two places look alike (phase correlation needs that)."""
    base = np.asarray(Image.open(RESOURCES / "coffee.png").convert("RGB"))
    base = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    rng = np.random.default_rng(seed)
    detail = rng.normal(0, 40, (height, width, 3)).astype(np.float32)
    detail = cv2.GaussianBlur(detail, (0, 0), 1.5)
    rgb = np.clip(base * 0.7 + detail + 30, 0, 255).astype(np.uint8)
    return np.dstack([rgb, np.full((height, width), alpha, np.uint8)])


def rect_selection(height: int, width: int, x: int, y: int, w: int, h: int, value: int = 255) -> np.ndarray:
    sel = np.zeros((height, width), np.uint8)
    sel[y : y + h, x : x + w] = value
    return sel


def request_image(prep: PreparedEdit) -> np.ndarray:
    """What the model received, decoded as RGBA."""
    return np.asarray(Image.open(io.BytesIO(prep.image_png)).convert("RGBA"))


def request_mask_alpha(prep: PreparedEdit) -> np.ndarray:
    image = Image.open(io.BytesIO(prep.mask_png))
    assert image.mode == "RGBA"
    return np.asarray(image)[:, :, 3]


def noise_engine(prep: PreparedEdit, seed: int = 7) -> np.ndarray:
    """A model that repaints every pixel of the frame."""
    h, w = prep.request_size[1], prep.request_size[0]
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def identity_engine(prep: PreparedEdit) -> bytes:
    """A model that returns exactly what it was sent."""
    return prep.image_png


def shifted_engine(prep: PreparedEdit, dx: int = 1, dy: int = 0) -> Image.Image:
    """A model that returns what it was sent, moved by (dx, dy) request pixels (edges repeated)."""
    pixels = request_image(prep)
    h, w = pixels.shape[:2]
    matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    moved = cv2.warpAffine(pixels, matrix, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    return Image.fromarray(moved)


def changed_pixels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) bool: where any channel differs."""
    return (a != b).any(axis=2)


def within_chebyshev(mask: np.ndarray, reach: int) -> np.ndarray:
    """Pixels at most `reach` px (Chebyshev) from a True pixel of `mask`."""
    if reach == 0:
        return mask.copy()
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def measured_shift(result: np.ndarray, original: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """Sub-pixel translation of `result` against `original` inside box (x, y, w, h), by phase correlation."""
    x, y, w, h = box

    def grey(img: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(np.ascontiguousarray(img[y : y + h, x : x + w, :3]), cv2.COLOR_RGB2GRAY).astype(np.float64)

    window = cv2.createHanningWindow((w, h), cv2.CV_64F)
    (dx, dy), _ = cv2.phaseCorrelate(grey(original), grey(result), window)
    return dx, dy


def assert_exact_outside(composite: np.ndarray, original: np.ndarray, allowed: np.ndarray) -> None:
    """Every pixel outside `allowed` (H, W) bool is bit-identical to the original."""
    outside = ~allowed
    bad = np.argwhere(changed_pixels(composite, original) & outside)
    assert bad.size == 0, f"{len(bad)} pixels changed outside the allowed area, first at (y, x) {tuple(bad[0])}"


def assert_placed_exactly(composite: np.ndarray, original: np.ndarray) -> None:
    """The alignment check for a request the same size as its region: an unchanged result must give
    back every pixel exactly."""
    bad = np.argwhere(changed_pixels(composite, original))
    assert bad.size == 0, f"{len(bad)} pixels differ, first at (y, x) {tuple(bad[0])}"


def assert_placed_without_offset(
    composite: np.ndarray, original: np.ndarray, box: tuple[int, int, int, int], tolerance: float = 0.15
) -> None:
    """The alignment check when the region was rescaled: the pasted area may be slightly soft but must
    not be displaced by more than `tolerance` px."""
    dx, dy = measured_shift(composite, original, box)
    assert abs(dx) <= tolerance and abs(dy) <= tolerance, f"result displaced by ({dx:.3f}, {dy:.3f}) px"
