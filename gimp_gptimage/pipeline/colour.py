"""Colour match: move the model's result to the original's colour statistics.

GPT image models redraw the whole frame and often shift its colour or saturation. Where the model was
asked to keep the picture, result and original should agree, so the Lab mean and standard deviation of
those pixels in the original versus in the result measure the model's drift; undoing it on the whole
result makes the edited area sit in its surroundings (Reinhard-style transfer, as Krita AI Diffusion does).
"""

from __future__ import annotations

import cv2
import numpy as np

# Enough pixels for stable statistics; more only costs time.
_MAX_SAMPLES = 262_144
_MIN_SAMPLES = 64
# A result that is nearly flat where the original is textured must not be blown up without limit.
_MAX_STD_RATIO = 2.0
_STRIP_ROWS = 512


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)


def _stats(lab_samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = lab_samples.reshape(-1, 3).astype(np.float64)
    return values.mean(axis=0), values.std(axis=0)


def match_colour(result_rgb: np.ndarray, original_rgb: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """`result_rgb` (H, W, 3) uint8 with its Lab statistics on `sample` (H, W) bool moved to those of
    `original_rgb` on the same pixels. Returns the input unchanged if there is too little to measure or
    nothing to correct (so an unchanged result stays bit-identical)."""
    index = np.flatnonzero(sample.reshape(-1))
    if index.size < _MIN_SAMPLES:
        return result_rgb
    if index.size > _MAX_SAMPLES:
        index = index[:: index.size // _MAX_SAMPLES + 1]
    mean_res, std_res = _stats(_to_lab(result_rgb.reshape(-1, 3)[index][:, None, :]))
    mean_orig, std_orig = _stats(_to_lab(original_rgb.reshape(-1, 3)[index][:, None, :]))
    ratio = np.where(std_res > 1e-3, std_orig / np.maximum(std_res, 1e-3), 1.0)
    ratio = np.clip(ratio, 1 / _MAX_STD_RATIO, _MAX_STD_RATIO)
    if np.allclose(mean_res, mean_orig, atol=1e-4) and np.allclose(ratio, 1.0, atol=1e-5):
        return result_rgb
    scale = ratio.astype(np.float32)
    shift = (mean_orig - mean_res * ratio).astype(np.float32)
    out = np.empty_like(result_rgb)
    for top in range(0, result_rgb.shape[0], _STRIP_ROWS):
        lab = _to_lab(result_rgb[top : top + _STRIP_ROWS])
        lab *= scale
        lab += shift
        rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
        out[top : top + _STRIP_ROWS] = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    return out
