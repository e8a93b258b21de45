"""The "what will be sent" preview, computed in a worker thread from the pipeline's own prepare_edit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gimp_gptimage.pipeline import ContextOptions, prepare_edit

from .images import RawRGBA, array_thumbnail

PREVIEW_PX = 480
TINT = np.array([230, 60, 90], np.float32)  # the editable area, tinted like a quick mask


@dataclass(frozen=True)
class SentPreviewData:
    thumbnail: RawRGBA
    region: tuple[int, int, int, int]  # x, y, w, h in layer pixels
    request_size: tuple[int, int]


def compute_preview(
    layer_rgba: np.ndarray,
    selection: np.ndarray | None,
    *,
    model: str,
    size: str,
    options: ContextOptions,
    layer_offset: tuple[int, int],
) -> SentPreviewData:
    """Run prepare_edit exactly as a run would and draw its request image with the mask overlaid.
    CPU-heavy: call through asyncio.to_thread."""
    prep = prepare_edit(layer_rgba, selection, model=model, size=size, options=options, layer_offset=layer_offset)
    rgba = prep.request_rgba
    h, w = rgba.shape[:2]
    step = max(1, max(h, w) // PREVIEW_PX)
    small = rgba[::step, ::step, :3].astype(np.float32)
    keep = prep.keep_alpha[::step, ::step].astype(np.float32)[..., None] / 255.0
    editable = 1.0 - keep
    tinted = small * (1 - 0.45 * editable) + TINT * (0.45 * editable)
    out = np.empty((*tinted.shape[:2], 4), np.uint8)
    out[..., :3] = np.clip(tinted, 0, 255).astype(np.uint8)
    out[..., 3] = 255
    r = prep.region
    return SentPreviewData(array_thumbnail(out, PREVIEW_PX), (r.x, r.y, r.w, r.h), prep.request_size)
