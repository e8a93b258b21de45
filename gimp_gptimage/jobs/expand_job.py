"""Expand Canvas from GIMP: the job folder's layer and canvas become a canvas plan and an expansion.

Two ways in: the canvas was already enlarged (Image > Canvas Size), so the layer leaves part of it uncovered
and that part is filled; or the job names a new size (aspect ratio, WxH, pixels per side) and an anchor,
planned from the current canvas, and each result tells the plug-in to resize the canvas as it inserts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..api.backend import ImagesBackend
from ..api.errors import ValidationError
from ..api.params import ImageParams
from ..api.providers import LOCAL
from ..history import HistoryStore
from ..pipeline.errors import PipelineInputError
from ..pipeline.expand_plan import CanvasPlan, Rect, check_plan, plan_canvas
from ..settings import Settings
from .context import context_options
from .expand import ExpandRequest, offline_painter, run_expand
from .jobfile import Job

if TYPE_CHECKING:
    from .headless import OutboxEvents


def job_plan(job: Job) -> tuple[CanvasPlan, np.ndarray, tuple[int, int, int, int] | None]:
    """(plan, picture pixels, (width, height, x, y) to resize the image to, or None to keep its size)."""
    assert job.layer is not None
    layer, width, height = job.layer, job.image.width, job.image.height
    x0, y0 = max(layer.offset_x, 0), max(layer.offset_y, 0)
    x1, y1 = min(layer.offset_x + layer.width, width), min(layer.offset_y + layer.height, height)
    if x1 <= x0 or y1 <= y0:
        raise PipelineInputError(f"The layer '{layer.name}' lies outside the canvas: move it onto the canvas first.")
    picture = layer.pixels[y0 - layer.offset_y : y1 - layer.offset_y, x0 - layer.offset_x : x1 - layer.offset_x]
    e = job.params.expand
    sides = tuple(int(e.get(k) or 0) for k in ("left", "top", "right", "bottom"))
    resize = None
    ox = oy = 0
    if e.get("aspect") or e.get("canvas_size") or any(sides):
        if any(sides) and (e.get("aspect") or e.get("canvas_size")):
            raise PipelineInputError("Give the new canvas one way: an aspect ratio, a size, or pixels per side.")
        canvas = plan_canvas(
            width,
            height,
            to=str(e.get("aspect") or "") or None,
            size=str(e.get("canvas_size") or "") or None,
            sides=sides if any(sides) else None,  # type: ignore[arg-type]
            anchor=str(e.get("anchor") or "center"),
        )
        width, height = canvas.width, canvas.height
        ox, oy = canvas.offset
        resize = (width, height, ox, oy)
    plan = CanvasPlan(width, height, Rect(x0 + ox, y0 + oy, x1 - x0, y1 - y0))
    if (plan.picture.w, plan.picture.h) == (width, height):
        raise PipelineInputError(
            f"The layer '{layer.name}' already covers the canvas: enlarge the canvas first (Image > Canvas Size), "
            "or give a new size, an aspect ratio or pixels per side."
        )
    return check_plan(plan), np.ascontiguousarray(picture), resize


async def run_expand_job(
    job: Job,
    params: ImageParams,
    settings: Settings,
    client: ImagesBackend,
    history: HistoryStore,
    events: OutboxEvents,
) -> None:
    try:
        plan, picture, resize = job_plan(job)
    except PipelineInputError as exc:
        raise ValidationError(str(exc), rule="expand canvas") from exc
    events.canvas = resize
    options = context_options(settings.context)
    # No provider: the layer name says the offline inpainting painted it.
    suffix = f" ({offline_painter()})" if client.provider_name == LOCAL.name else ""
    request = ExpandRequest(picture, plan, params, options, job.image.name, layer_suffix=suffix)
    await run_expand(request, client, history, events)
