"""Fills get the photo's own grain: as strong as the known noise of a synthetic photo, none on a noiseless
one, only inside the mask, the same bytes for the same request."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from gimp_gptimage.server import MiganEngine, OpenCVEngine, engine_migan
from gimp_gptimage.server.grain import GRAIN_BAND_SIGMA, add_grain
from gimp_gptimage.server.migan_session import shared_session

SIZE = (360, 280)  # width, height
NOISE_SIGMA = 5.0  # per channel, grey levels


@pytest.fixture(scope="module")
def engine() -> MiganEngine:
    return MiganEngine(shared_session())


def smooth_photo(scale: int = 1) -> np.ndarray:
    """A noiseless picture with soft gradients and a blurred disc (float32, 0-255), SIZE times `scale`."""
    ys, xs = np.mgrid[0 : SIZE[1] * scale, 0 : SIZE[0] * scale].astype(np.float32) / scale
    rgb = np.dstack([90 + 60 * np.sin(xs / 70), 110 + 50 * np.cos(ys / 60), 140 + 0.15 * (xs - ys)])
    disc = np.zeros(rgb.shape[:2], np.float32)
    cv2.circle(disc, (90 * scale, 70 * scale), 40 * scale, 1.0, -1)
    return rgb + 50 * cv2.GaussianBlur(disc, (0, 0), 12 * scale)[..., None]


def grainy(rgb: np.ndarray, sigma: float) -> np.ndarray:
    noise = np.random.default_rng(7).standard_normal(rgb.shape).astype(np.float32) * sigma
    return np.clip(rgb + noise + 0.5, 0, 255).astype(np.uint8)


def hole_mask(scale: int = 1) -> np.ndarray:
    hole = np.zeros((SIZE[1] * scale, SIZE[0] * scale), np.uint8)
    cv2.ellipse(hole, (200 * scale, 150 * scale), (60 * scale, 45 * scale), 20, 0, 360, 1, -1)
    return hole.astype(bool)


def api_mask(alpha: np.ndarray) -> Image.Image:
    return Image.fromarray(np.dstack([np.zeros_like(alpha)] * 3 + [alpha]), "RGBA")


def hard_mask(hole: np.ndarray) -> Image.Image:
    return api_mask(np.where(hole, 0, 255).astype(np.uint8))


def channel_noise(rgb: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Per-channel noise sigma (median absolute deviation of the fine high-pass, all pixels of `where`)
    over the same measured on unit white noise, so a photo with noise sigma s reads s."""
    x = rgb.astype(np.float32)
    detail = np.abs(x - cv2.GaussianBlur(x, (0, 0), GRAIN_BAND_SIGMA))[where]
    white = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    unit = np.median(np.abs(white - cv2.GaussianBlur(white, (0, 0), GRAIN_BAND_SIGMA)))
    return np.median(detail, axis=0) / unit


def ring_of(hole: np.ndarray) -> np.ndarray:
    grown = [cv2.dilate(hole.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool) for k in (9, 41)]
    return grown[1] & ~grown[0]


def edit(engine: OpenCVEngine, photo: np.ndarray, mask: Image.Image, index: int = 0) -> np.ndarray:
    return np.asarray(engine.edit([Image.fromarray(photo)], mask, "remove", photo.shape[1::-1], index=index))


def without_grain(engine: OpenCVEngine, photo: np.ndarray, mask: Image.Image, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as patch:
        patch.setattr(engine_migan, "add_grain", lambda fill, *args: fill)
        return edit(engine, photo, mask)


@pytest.mark.parametrize("scale", [1, 4], ids=["at the model's size", "shrunk for the model"])
def test_the_fill_gets_the_photos_noise_where_the_model_leaves_it_smooth(
    engine: MiganEngine, monkeypatch: pytest.MonkeyPatch, scale: int
) -> None:
    """Scale 4: a 1440 x 1120 photo whose hole needs a window of over 700 px, shrunk to the model's 512 and
    the fill enlarged back (which blurs away what grain the model's pixels had)."""
    photo, hole = grainy(smooth_photo(scale), NOISE_SIGMA), hole_mask(scale)
    result = edit(engine, photo, hard_mask(hole))
    assert np.array_equal(result[~hole], photo[~hole])
    inside, around = channel_noise(result, hole), channel_noise(photo, ring_of(hole))
    assert np.allclose(around, NOISE_SIGMA, rtol=0.1)  # the measure reads the known noise
    # Seen: 0.94-1.02 of the ring's noise per channel; the model's own fill alone: 0.07-0.11.
    assert np.all((inside > 0.8 * around) & (inside < 1.15 * around)), (inside, around)
    bare = channel_noise(without_grain(engine, photo, hard_mask(hole), monkeypatch), hole)
    assert np.all(bare < 0.6 * around), bare  # it is the grain that does it: the model's pixels are smooth


def test_a_noiseless_photo_gets_no_noise(engine: MiganEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    photo, hole = np.clip(smooth_photo() + 0.5, 0, 255).astype(np.uint8), hole_mask()
    assert np.array_equal(
        edit(engine, photo, hard_mask(hole)), without_grain(engine, photo, hard_mask(hole), monkeypatch)
    )
    assert add_grain(photo, photo, hole, hole, seed=1) is photo


def test_no_grain_is_added_to_a_fill_as_grainy_as_its_ring() -> None:
    photo, hole = grainy(smooth_photo(), NOISE_SIGMA), hole_mask()
    fill = grainy(smooth_photo(), NOISE_SIGMA * 1.2)  # another draw, a little noisier still
    assert add_grain(fill, photo, hole, hole, seed=3) is fill


def test_the_noise_has_the_photos_colour_covariance() -> None:
    """Grain mostly shared by the channels (luminance noise) with a weaker blue-only part, as JPEG noise is."""
    rng = np.random.default_rng(11)
    shared, blue = rng.standard_normal(SIZE[::-1]), rng.standard_normal(SIZE[::-1])
    noise = np.dstack([4 * shared, 4 * shared, 4 * shared + 3 * blue]).astype(np.float32)
    smooth, hole = smooth_photo(), hole_mask()
    photo = np.clip(smooth + noise + 0.5, 0, 255).astype(np.uint8)
    fill = np.clip(smooth + 0.5, 0, 255).astype(np.uint8)
    noise_added = add_grain(fill, photo, hole, hole, seed=5).astype(np.float32) - fill
    added, photos = (np.cov(x[hole].reshape(-1, 3).T) for x in (noise_added, noise))
    # Seen: variances 0.81-0.87 of the photo's (the estimate keeps the quieter pixels: it errs low), the
    # red-blue correlation 0.71 for the photo's 0.80, red and green fully correlated as in the photo.
    assert np.all((np.diag(added) > 0.75 * np.diag(photos)) & (np.diag(added) < 1.1 * np.diag(photos)))
    assert np.allclose(correlations(added), correlations(photos), atol=0.12), correlations(added)


def correlations(covariance: np.ndarray) -> np.ndarray:
    sigma = np.sqrt(np.diag(covariance))
    return covariance / np.outer(sigma, sigma)


def test_only_masked_pixels_change_and_the_same_request_gives_the_same_bytes(engine: MiganEngine) -> None:
    photo, hole = grainy(smooth_photo(), NOISE_SIGMA), hole_mask()
    alpha = np.where(hole, 0, 255).astype(np.uint8)
    for mask_alpha in (alpha, cv2.GaussianBlur(alpha, (0, 0), 5)):
        first, again = (edit(engine, photo, api_mask(mask_alpha)) for _ in range(2))
        assert np.array_equal(first, again)
        assert np.array_equal(first[mask_alpha == 255], photo[mask_alpha == 255])
    other = edit(engine, photo, api_mask(alpha), index=7)  # index 7: result 0's view again, slid 8 px
    assert not np.array_equal(other[hole], first[hole])
    smooth = np.clip(smooth_photo() + 0.5, 0, 255).astype(np.uint8)
    seeded = [add_grain(smooth, photo, hole, hole, seed=seed).astype(int) for seed in (1, 1, 2)]
    assert np.array_equal(seeded[0], seeded[1]) and np.abs(seeded[0] - seeded[2])[hole].mean() > 1
    assert all(np.array_equal(grained[~hole], smooth[~hole]) for grained in seeded)


def test_the_opencv_fill_gets_the_same_grain() -> None:
    photo, hole = grainy(smooth_photo(), NOISE_SIGMA), hole_mask()
    result = edit(OpenCVEngine(), photo, hard_mask(hole))
    assert np.array_equal(result[~hole], photo[~hole])
    inside, around = channel_noise(result, hole), channel_noise(photo, ring_of(hole))  # seen: 0.96-0.99
    assert np.all((inside > 0.8 * around) & (inside < 1.15 * around)), (inside, around)
