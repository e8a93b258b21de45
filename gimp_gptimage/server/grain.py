"""Grain matching for fills: a fill gets the photo's own fine noise, so it does not read as a smooth patch.

Fills come out smoother than the photo around them: Navier-Stokes is a smooth interpolation, MI-GAN writes
noise-free pixels (and a window larger than its working size is shrunk, filled and enlarged back). The
photo's grain is measured on the known pixels of a ring around the hole, the fill's own inside it, and only
the deficit is added, as seeded noise inside the hole:
- measured in a fine high-pass band (the image minus its GRAIN_BAND_SIGMA blur) per colour channel, as a
  3 x 3 covariance (sensor and JPEG noise differ per channel and are only partly correlated), robustly: a
  median-based estimator over the quieter half of the pixels, so edges and texture are not taken for grain;
- shaped like it: the photo's share of grain in the finest band picks how much the white noise is blurred
  (photo grain is rarely white: demosaicing, resizing and compression correlate neighbouring pixels).
A noiseless photo gets nothing added; a fill already as grainy as its ring gets nothing either. Only the
grain is matched, not texture: detail coarser than the grain band that a shrunk window lost stays lost.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

GRAIN_BAND_SIGMA = 1.5  # px: grain is what the image minus this blur holds
FINE_BAND_SIGMA = 0.7  # px: the finest part of that band, whose share gives the grain's correlation
GRAIN_BLURS = (0.0, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.2)  # px: candidate correlations of the added noise
RING_PX = 16  # the known pixels around the hole the photo's grain is measured on ...
RING_GAP_PX = 3  # ... from this far out: nearer, the grain band still sees the edited pixels
QUIET_PATCH_PX = 7  # the neighbourhood whose energy tells grain (quiet) from edges and texture
MIN_SAMPLES = 32  # fewer pixels than this (in the ring or the hole) give no reliable estimate
MAX_SAMPLES = 100_000  # more are not needed for the estimate
ROUNDING_VARIANCE = 1 / 12  # what rounding to whole grey levels adds itself: a smaller deficit would not show
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Rec. 601 luma weights of R, G, B
_MAD_TO_SIGMA = 1.4826  # a normal distribution's sigma over its median absolute deviation


def add_grain(fill: np.ndarray, photo: np.ndarray, unknown: np.ndarray, edited: np.ndarray, seed: int) -> np.ndarray:
    """`fill` (H x W x 3, uint8) plus the grain it lacks, inside `unknown` only (elsewhere `fill` as is).

    `photo` is the same window before the edit; its pixels outside `edited` (everything the edit may touch,
    `unknown` included) are the known surroundings the grain is measured on. Deterministic in `seed`.
    Works a channel or a box at a time: a fill of a large photo's window must not cost many copies of it.
    """
    ring = _grown(edited, RING_GAP_PX + RING_PX) & ~_grown(edited, RING_GAP_PX)
    wanted, had = band_covariances(photo, ring), band_covariances(fill, unknown)
    if wanted is None or had is None:
        return fill
    deficit = _psd(wanted[1] - had[1])
    if float(LUMA @ deficit @ LUMA) < ROUNDING_VARIANCE and np.trace(deficit) < 3 * ROUNDING_VARIANCE:
        return fill
    # Shaped like the photo's own grain: its finest band's share of the grain band picks the correlation.
    blur = _blur_for(float(LUMA @ wanted[0] @ LUMA) / max(float(LUMA @ wanted[1] @ LUMA), 1e-6))
    x, y, width, height = cv2.boundingRect(np.ascontiguousarray(unknown, np.uint8))
    noise = np.random.default_rng(seed).standard_normal((height, width, 3), dtype=np.float32)
    if blur > 0:
        noise = cv2.GaussianBlur(noise, (0, 0), blur)
    # White noise blurred by `blur` has per-channel variance _band_variances(blur)[1] in the grain band.
    noise = cv2.transform(noise, _sqrtm(deficit / _band_variances(blur)[1]))  # each pixel's 3 values mixed
    out = fill.copy()
    box = out[y : y + height, x : x + width]
    noise += box
    noise += 0.5
    np.copyto(
        box, np.clip(noise, 0, 255, out=noise).astype(np.uint8), where=unknown[y : y + height, x : x + width, None]
    )
    return out


def band_covariances(image: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Robust 3 x 3 covariances of (the finest band, the grain band) over the quieter half of `where`
    (the pixels whose 7 x 7 neighbourhood holds the least grain-band energy: noise, not edges or texture);
    None if too few pixels."""
    if where.sum() < 2 * MIN_SAMPLES:
        return None
    luma = np.zeros(where.shape, np.float32)
    for channel in range(3):
        luma += LUMA[channel] * image[..., channel].astype(np.float32)
    luma_grain = luma - cv2.GaussianBlur(luma, (0, 0), GRAIN_BAND_SIGMA)
    energy = cv2.blur(luma_grain * luma_grain, (QUIET_PATCH_PX, QUIET_PATCH_PX))
    del luma, luma_grain
    quiet = np.flatnonzero(where & (energy <= np.median(energy[where])))
    quiet = quiet[:: 1 + len(quiet) // MAX_SAMPLES]  # evenly spread: plenty for a median, cheap on a big hole
    fine, grain = [], []
    for channel in range(3):
        plane = image[..., channel].astype(np.float32)
        fine.append((plane - cv2.GaussianBlur(plane, (0, 0), FINE_BAND_SIGMA)).ravel()[quiet])
        grain.append((plane - cv2.GaussianBlur(plane, (0, 0), GRAIN_BAND_SIGMA)).ravel()[quiet])
    return _robust_covariance(np.stack(fine, 1)), _robust_covariance(np.stack(grain, 1))


def _robust_covariance(samples: np.ndarray) -> np.ndarray:
    """Covariance of zero-mean samples (N x 3) from medians (Gnanadesikan-Kettenring): cov(a, b) =
    (s(a + b)^2 - s(a - b)^2) / 4 with s a median-absolute-deviation sigma, so outliers barely count."""

    def sigma2(x: np.ndarray) -> float:
        return float(_MAD_TO_SIGMA * np.median(np.abs(x))) ** 2

    channels = samples.shape[1]
    out = np.empty((channels, channels))
    for a in range(channels):
        out[a, a] = sigma2(samples[:, a])
        for b in range(a):
            out[a, b] = out[b, a] = (sigma2(samples[:, a] + samples[:, b]) - sigma2(samples[:, a] - samples[:, b])) / 4
    return _psd(out)


def _grown(mask: np.ndarray, px: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def _psd(matrix: np.ndarray) -> np.ndarray:
    """The nearest positive semi-definite matrix (negative eigenvalues set to 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.maximum(values, 0)) @ vectors.T


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.maximum(values, 0))) @ vectors.T


@functools.cache
def _band_variances(blur: float) -> tuple[float, float]:
    """Variance in (the finest band, the grain band) of unit white noise blurred by `blur`: the sum of the
    squared taps of the filters as OpenCV applies them (an impulse through the same calls)."""
    impulse = np.zeros((41, 41), np.float32)
    impulse[20, 20] = 1.0
    shaped = cv2.GaussianBlur(impulse, (0, 0), blur) if blur > 0 else impulse
    fine = shaped - cv2.GaussianBlur(shaped, (0, 0), FINE_BAND_SIGMA)
    grain = shaped - cv2.GaussianBlur(shaped, (0, 0), GRAIN_BAND_SIGMA)
    return float(np.sum(fine.astype(np.float64) ** 2)), float(np.sum(grain.astype(np.float64) ** 2))


def _blur_for(fine_share: float) -> float:
    """The candidate blur whose noise puts the nearest share of its grain-band variance in the finest band."""
    shares = [fine / grain for fine, grain in map(_band_variances, GRAIN_BLURS)]
    return GRAIN_BLURS[int(np.argmin([abs(share - fine_share) for share in shares]))]


__all__ = ["LUMA", "add_grain", "band_covariances"]
