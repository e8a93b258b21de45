"""Which part of a result of another shape than requested shows the request's frame.

A relay that ignores `size` (or a model that picks its own) may answer 1024x1024 to a 1536x1024 request.
Either the model squeezed the whole scene into its frame (scale it straight back) or it kept the scene's
proportions and extended it at two sides (cut the frame out of the middle). Which one it did shows in the
pixels the request asked to keep: both readings are compared with them at low resolution and the closer
one wins, so the result lands neither stretched nor shifted.
"""

from __future__ import annotations

import cv2
import numpy as np

from gimp_gptimage.pipeline.codec import resize

ASPECT_TOLERANCE = 0.01  # relative: the 16-px grid and rounding alone never differ by more
_PROBE_PX = 192  # longest side of the comparison: enough for composition, cheap at any result size
_MIN_KEEP_SHARE = 0.02  # fewer kept pixels than this (a whole-layer edit): compare every opaque pixel


def request_frame(result: np.ndarray, request_rgba: np.ndarray, keep_alpha: np.ndarray) -> np.ndarray:
    """The part of an RGBA `result` that covers the request image's frame: `result` itself, or a view of its
    centre with the request's aspect ratio."""
    height, width = result.shape[:2]
    want = request_rgba.shape[1] / request_rgba.shape[0]
    if abs(width / height - want) <= ASPECT_TOLERANCE * want:
        return result
    centre = _centre_window(result, want)
    probe_w, probe_h = _probe_size(request_rgba.shape[1], request_rgba.shape[0])
    target = _luminance(request_rgba, probe_w, probe_h)
    opaque = resize(request_rgba[:, :, 3], probe_w, probe_h) == 255
    sample = opaque & (resize(keep_alpha, probe_w, probe_h) == 255)
    if sample.mean() < _MIN_KEEP_SHARE:
        sample = opaque
    if not sample.any():
        return result  # nothing to compare with: squeezing back at least keeps all of the model's work

    def distance(candidate: np.ndarray) -> float:
        return float(np.abs(_luminance(candidate, probe_w, probe_h) - target)[sample].mean())

    return centre if distance(centre) < distance(result) else result


def _centre_window(pixels: np.ndarray, aspect: float) -> np.ndarray:
    height, width = pixels.shape[:2]
    if width / height > aspect:  # wider than the frame: the scene was extended left and right
        w = max(1, min(width, round(height * aspect)))
        x = (width - w) // 2
        return pixels[:, x : x + w]
    h = max(1, min(height, round(width / aspect)))
    y = (height - h) // 2
    return pixels[y : y + h]


def _probe_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, _PROBE_PX / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _luminance(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    small = resize(np.ascontiguousarray(rgba), width, height)
    return cv2.cvtColor(np.ascontiguousarray(small[:, :, :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
