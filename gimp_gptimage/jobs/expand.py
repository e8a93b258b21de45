"""The Expand Canvas job: plan, pre-fill, send every window as an edit at once, and blend the results.

Each window is an ordinary edit job (jobs.run.run_edit): its results are in history before anything else
happens, so a window that arrived is never lost even when another one fails. The assembled canvas-sized
results are reported through the caller's events, one per result index.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..api.backend import ImagesBackend
from ..api.errors import ValidationError
from ..api.params import ImageParams, validate
from ..history import HistoryStore
from ..pipeline import ContextOptions
from ..pipeline.errors import PipelineInputError
from ..pipeline.expand import PreparedExpansion, assemble, prepare_expansion
from ..pipeline.expand_fill import Fill, opencv_fill
from ..pipeline.expand_plan import CanvasPlan
from .run import STAGES, EditRequest, JobEvents, JobResult, layer_name, run_edit

DEFAULT_PROMPT = "continue the scene"


def offline_painter() -> str:
    """What paints an expansion when there is no provider, in the offline engine's own words: its pre-fill
    and the local server's fill are the same inpainting (MI-GAN, or OpenCV when the model is unusable)."""
    from ..migan import fallback_notice
    from ..server.engine import OpenCVEngine
    from ..server.engine_migan import MiganEngine

    return f"offline engine, {(OpenCVEngine if fallback_notice() else MiganEngine).fill_method}"


@dataclass(frozen=True)
class ExpandRequest:
    picture: np.ndarray  # (h, w, 4) uint8: what stays, at plan.picture
    plan: CanvasPlan
    params: ImageParams
    options: ContextOptions
    source_name: str = ""
    fill: Fill | None = None
    layer_suffix: str = ""  # e.g. " (offline engine, MI-GAN inpainting model)": who painted it


class _WindowEvents(JobEvents):
    """The windows' progress as one: a stage is reported when the first window reaches it (never back to an
    earlier one); each window's result waits for the others."""

    def __init__(self, events: JobEvents) -> None:
        self.events = events
        self.reached = 0

    def stage(self, stage: str, fraction: float | None) -> None:
        step = STAGES.index(stage) if stage in STAGES else -1
        if step > self.reached or (step == self.reached and fraction is not None):
            self.reached = step
            self.events.stage(stage, fraction)


async def run_expand(
    req: ExpandRequest, client: ImagesBackend, history: HistoryStore, events: JobEvents | None = None
) -> list[JobResult]:
    """Expand the picture to the planned canvas; returns canvas-sized results placed at (0, 0)."""
    events = events or JobEvents()
    events.stage("preparing", None)
    # Each window gets the size the planner chose for it (a fixed size would letterbox every window).
    prompt = req.params.prompt if req.params.prompt.strip() else DEFAULT_PROMPT
    params = req.params.replace(size="auto", prompt=prompt)
    validate(params, kind="edit", image_count=1)
    # An inpainting engine (it takes its mask ungrown: the offline engine, here or behind a custom base URL)
    # repaints the whole new area with the same model from the picture alone, so its windows need only the
    # quick pre-fill: MI-GAN's would be thrown away (bench/results/expand.md).
    fill = req.fill or (None if await client.grows_mask() else opencv_fill)
    try:
        prep = await asyncio.to_thread(
            prepare_expansion, req.picture, req.plan, model=params.model, options=req.options, fill=fill
        )
    except PipelineInputError as exc:
        raise ValidationError(str(exc), rule="expand canvas") from exc
    window_events = _WindowEvents(events)
    count = len(prep.tiles)
    edits = [
        EditRequest(
            layer=tile.layer,
            selection=tile.selection,
            layer_offset=(tile.window.x, tile.window.y),
            references=[],
            params=params,
            options=prep.tile_options,
            source_name=f"{req.source_name} (expand canvas, part {i + 1} of {count})" if count > 1 else req.source_name,
        )
        for i, tile in enumerate(prep.tiles)
    ]
    outcomes = await asyncio.gather(
        *(run_edit(edit, client, history, window_events) for edit in edits), return_exceptions=True
    )
    for outcome in outcomes:  # every window that arrived is in history already
        if isinstance(outcome, BaseException):
            raise outcome
    windows: list[list[JobResult]] = [o for o in outcomes if not isinstance(o, BaseException)]
    events.stage("finishing", None)
    results = []
    for index in range(min(len(w) for w in windows)):
        parts = [w[index] for w in windows]
        result = await asyncio.to_thread(_assembled, prep, parts, layer_name(params.prompt, index) + req.layer_suffix)
        events.result(result)
        results.append(result)
    return results


def _assembled(prep: PreparedExpansion, parts: Sequence[JobResult], name: str) -> JobResult:
    first = parts[0]
    return JobResult(
        index=first.index,
        name=name,
        placed=assemble(prep, [part.placed.pixels for part in parts]),
        history_id=first.history_id,
        history_path=first.history_path if len(parts) == 1 else None,
        usage=first.usage,
        request_id=first.request_id,
    )
