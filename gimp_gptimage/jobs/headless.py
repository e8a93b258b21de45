"""Run a batch (non-interactive) job folder to the end: the plug-in's scripted calls and the tests use this.

Parameters left empty in the job come from the user's settings; the provider is the one configured (or the
job's base URL), else the embedded offline server. Each result goes to the outbox the moment it is safe in
history, so GIMP inserts it while later ones are still on their way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

from gimp_gptimage import keystore
from gimp_gptimage.api.client import ImagesClient
from gimp_gptimage.api.errors import ValidationError, explain
from gimp_gptimage.api.params import DEFAULT_MODEL, Complexity, ImageParams, Quality, model_spec
from gimp_gptimage.api.types import arrival_note
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.jobs.context import context_options
from gimp_gptimage.jobs.jobfile import (
    Job,
    JobFileError,
    JobParams,
    Outbox,
    OutsideWindow,
    load_job,
    request_full_layer,
    write_done,
    write_progress,
)
from gimp_gptimage.jobs.run import EditRequest, GenerateRequest, JobEvents, JobResult, run_edit, run_generate
from gimp_gptimage.settings import Settings, load_settings

STAGE_TEXT = {
    "preparing": "GPT Image: preparing the request",
    "uploading": "GPT Image: uploading",
    "generating": "GPT Image: the model is painting",
    "downloading": "GPT Image: downloading the result",
    "finishing": "GPT Image: placing the result",
}


class OutboxEvents(JobEvents):
    """Forwards the job runner's events into the job folder for the plug-in."""

    def __init__(self, job_dir: Path, expected: int) -> None:
        self.job_dir = job_dir
        self.outbox = Outbox(job_dir)
        self.left = expected  # results of this run still to come: they share one undo step in GIMP
        self.history_ids: set[str] = set()
        self.canvas: tuple[int, int, int, int] | None = None  # Expand Canvas: the image's new size and offset

    def stage(self, stage: str, fraction: float | None) -> None:
        write_progress(self.job_dir, stage, fraction, STAGE_TEXT.get(stage, f"GPT Image: {stage}"))

    def result(self, result: JobResult) -> None:
        self.left = max(0, self.left - 1)
        self.history_ids.add(result.history_id)
        self.outbox.put(result, self.left, canvas=self.canvas)


def image_params(p: JobParams, settings: Settings, provider_model: str | None) -> ImageParams:
    """The request: the job's values where given, else the user's defaults (never partial previews here)."""
    d = settings.defaults
    return ImageParams(
        prompt=p.prompt,
        model=p.model or d.model or provider_model or DEFAULT_MODEL,
        n=p.n,
        size=p.size or d.size,
        quality=cast(Quality, p.quality) or d.quality,  # the job's text is checked with the whole request
        background=d.background,
        output_format=d.output_format,
        output_compression=d.output_compression,
        input_fidelity=d.input_fidelity,
        complexity=cast(Complexity, p.complexity) or d.complexity,
        moderation=d.moderation,
        stream=d.stream,
    )


async def run_job(job: Job, settings: Settings, backend: keystore.Backend) -> str | None:
    """Run the job; returns a note for the user when fewer results arrived than were asked for."""
    params = image_params(job.params, settings, settings.provider_model(backend.name, backend.provider))
    events = OutboxEvents(job.dir, params.n)
    history = HistoryStore()
    timeouts = settings.timeouts.timeouts()
    async with ImagesClient(
        base_url=backend.base_url, api_key=backend.api_key, provider=backend.provider, timeouts=timeouts
    ) as client:
        await _run_request(job, params, settings, client, history, events)
    # The user's clean-up rules, if they set any (the default keeps everything); never this run's results.
    await asyncio.to_thread(history.prune, settings.history, events.history_ids)
    return arrival_note(params.n - events.left, params.n)


async def _run_request(
    job: Job, params: ImageParams, settings: Settings, client: ImagesClient, history: HistoryStore, events: OutboxEvents
) -> None:
    if job.command == "expand":
        from gimp_gptimage.jobs.expand_job import run_expand_job

        await run_expand_job(job, params, settings, client, history, events)
        return
    if job.command == "generate":
        canvas = (job.image.width, job.image.height)
        request = GenerateRequest(params, canvas_size=canvas, source_name=job.image.name)
        await run_generate(request, client, history, events)
        return
    try:
        await run_edit(edit_request(job, params, settings), client, history, events)
    except OutsideWindow:
        # The context reaches beyond the part GIMP exported (nothing was sent yet): get it all.
        await asyncio.to_thread(request_full_layer, job.dir)
        job = load_job(job.dir)
        await run_edit(edit_request(job, params, settings), client, history, events)


def edit_request(job: Job, params: ImageParams, settings: Settings) -> EditRequest:
    assert job.layer is not None
    spec = model_spec(params.model)
    if job.markup is not None and spec is not None and not spec.markup:
        raise ValidationError(
            f"The image has a visible markup layer '{job.markup.name}', which only 2.6 models read: choose "
            f"gpt-image-2.6-sunburst or gpt-image-2.6-flare instead of {params.model}, or hide the layer.",
            param="markup",
            rule="markup only on 2.6 models",
        )
    return EditRequest(
        layer=job.layer.pixels,
        selection=job.selection,
        layer_offset=job.layer.offset,
        references=[ref.pixels for ref in job.references],
        params=params,
        options=context_options(settings.context),
        source_name=job.image.name,
        markup=job.markup.pixels if job.markup is not None else None,
    )


def run(job_dir: Path) -> bool:
    """Run the job and write done.json; returns whether it succeeded. The key never reaches the message."""
    job_dir = Path(job_dir)
    secret = None
    note = None
    try:
        job = load_job(job_dir)
        settings = load_settings()
        with keystore.open_backend(settings, base_url=job.params.base_url or None) as backend:
            secret = backend.api_key
            note = asyncio.run(run_job(job, settings, backend))
    except JobFileError as exc:  # the job folder itself: already a sentence for the user
        write_done(job_dir, str(exc))
        return False
    except Exception as exc:
        write_done(job_dir, explain(exc, secret).one_line())
        return False
    write_done(job_dir, note=note)
    return True
