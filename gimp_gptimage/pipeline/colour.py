"""Colour match: move the model's result to the original's colour statistics.

GPT image models redraw the whole frame and often shift its colour or saturation. Where the model was
asked to keep the picture, result and original should agree, so the Lab mean and standard deviation of
those pixels in the original versus in the result measure the model's drift; undoing it on the whole
result makes the edited area sit in its surroundings (Reinhard-style transfer, as Krita AI Diffusion does).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Enough pixels for stable statistics; more only costs time.
_MAX_SAMPLES = 65_536
_MIN_SAMPLES = 64
# A result that is nearly flat where the original is textured must not be blown up without limit.
_MAX_STD_RATIO = 2.0
_STRIP_ROWS = 512


def build_tables() -> None:
    """OpenCV builds its Lab tables on the first conversion (~80 ms): a job has them built while the provider
    works, not after its answer."""
    pixel = np.zeros((1, 1, 3), np.float32)
    cv2.cvtColor(cv2.cvtColor(pixel, cv2.COLOR_RGB2Lab), cv2.COLOR_Lab2RGB)


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)


def _stats(lab_samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = lab_samples.reshape(-1, 3).astype(np.float64)
    return values.mean(axis=0), values.std(axis=0)


@dataclass(frozen=True)
class LabTransfer:
    """Per-channel affine map in Lab: lab * scale + shift."""

    scale: np.ndarray  # (3,) float32
    shift: np.ndarray  # (3,) float32

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """The (H, W, 3) uint8 image mapped; processed in strips to keep float temporaries small."""
        out = np.empty_like(rgb)
        for top in range(0, rgb.shape[0], _STRIP_ROWS):
            lab = _to_lab(rgb[top : top + _STRIP_ROWS])
            lab *= self.scale
            lab += self.shift
            back = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
            out[top : top + _STRIP_ROWS] = np.clip(back * 255 + 0.5, 0, 255).astype(np.uint8)
        return out


def measure_drift(result_rgb: np.ndarray, original_rgb: np.ndarray, sample: np.ndarray) -> LabTransfer | None:
    """The transfer that moves `result_rgb`'s Lab mean/std on `sample` (H, W) bool to `original_rgb`'s
    on the same pixels; None if there is too little to measure or nothing to correct (so an unchanged
    result stays bit-identical)."""
    index = np.flatnonzero(sample.reshape(-1))
    if index.size < _MIN_SAMPLES:
        return None
    if index.size > _MAX_SAMPLES:
        index = index[:: index.size // _MAX_SAMPLES + 1]
    mean_res, std_res = _stats(_to_lab(result_rgb.reshape(-1, 3)[index][:, None, :]))
    mean_orig, std_orig = _stats(_to_lab(original_rgb.reshape(-1, 3)[index][:, None, :]))
    ratio = np.where(std_res > 1e-3, std_orig / np.maximum(std_res, 1e-3), 1.0)
    ratio = np.clip(ratio, 1 / _MAX_STD_RATIO, _MAX_STD_RATIO)
    if np.allclose(mean_res, mean_orig, atol=1e-4) and np.allclose(ratio, 1.0, atol=1e-5):
        return None
    return LabTransfer(ratio.astype(np.float32), (mean_orig - mean_res * ratio).astype(np.float32))
