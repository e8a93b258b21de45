"""Turning a stored history result back into something to insert (call off the GUI thread).

When the current layer and selection still give the same region as the original request, the result is
placed exactly as it was then (paste-back with the same mask and colour match). Otherwise it is scaled
into the recorded region at the recorded offset without a mask, so nothing is lost and the user can mask it.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
from PIL import Image

from gimp_gptimage.api.params import parse_size
from gimp_gptimage.history import HistoryEntry, HistoryRecord, HistoryResult
from gimp_gptimage.jobs.run import JobResult, layer_name
from gimp_gptimage.pipeline import ContextOptions, PasteResult, Rect, fit_content, paste_back, prepare_edit

from .source import EditSource


def _options(record: HistoryRecord) -> ContextOptions:
    stored = record.context or {}
    known = {f.name for f in dataclasses.fields(ContextOptions)}
    return ContextOptions(**{k: v for k, v in stored.items() if k in known})


def history_item(entry: HistoryEntry, result: HistoryResult, source: EditSource) -> JobResult:
    record = entry.record
    with Image.open(io.BytesIO(result.path.read_bytes())) as opened:
        image = opened.convert("RGBA")
    name = layer_name(entry.prompt, result.index)
    region = record.region
    offset = record.offset or (0, 0)
    if record.kind == "edit" and region is not None:
        exact = _exact_placement(record, image, source, region)
        if exact is not None:
            return JobResult(result.index, name, exact, entry.id, result.path)
        _x, _y, w, h = region
        request = image.size
        sent = parse_size(record.request_size or "")
        if sent is not None:
            rw, rh = sent
            if (rw, rh) != image.size:
                image = image.resize((rw, rh), Image.Resampling.LANCZOS)
            request = (rw, rh)
        box = fit_content(w, h, *request)
        content = image.crop((box.x, box.y, box.x + box.w, box.y + box.h)).resize((w, h), Image.Resampling.LANCZOS)
        return _unmasked(result, name, entry.id, np.asarray(content), offset, source)
    canvas = record.canvas_size
    if canvas is not None and tuple(canvas) != image.size:
        scale = max(canvas[0] / image.width, canvas[1] / image.height)
        w, h = max(canvas[0], round(image.width * scale)), max(canvas[1], round(image.height * scale))
        image = image.resize((w, h), Image.Resampling.LANCZOS)
        left, top = (w - canvas[0]) // 2, (h - canvas[1]) // 2
        image = image.crop((left, top, left + canvas[0], top + canvas[1]))
    return _unmasked(result, name, entry.id, np.asarray(image), offset, source)


def _unmasked(
    result: HistoryResult, name: str, history_id: str, pixels: np.ndarray, offset: tuple[int, int], source: EditSource
) -> JobResult:
    """Placed at the recorded canvas offset without a mask: nothing is lost and the user can mask it."""
    h, w = pixels.shape[:2]
    region = Rect(offset[0] - source.layer_offset[0], offset[1] - source.layer_offset[1], w, h)
    return JobResult(result.index, name, PasteResult(pixels, offset, None, region), history_id, result.path)


def _exact_placement(
    record: HistoryRecord, image: Image.Image, source: EditSource, region: tuple[int, int, int, int]
) -> PasteResult | None:
    layer = source.layer_rgba
    if layer is None or record.layer_size != (layer.shape[1], layer.shape[0]):
        return None
    try:
        prep = prepare_edit(
            layer,
            source.selection,
            model=record.model or "gpt-image-2",
            size=record.request_size or "auto",
            options=_options(record),
            layer_offset=source.layer_offset,
        )
    except Exception:
        return None
    if tuple(prep.region) != region:
        return None
    return paste_back(prep, image, layer, source.selection)
