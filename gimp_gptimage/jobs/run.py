"""The job runner: one edit or generation from pixels to placed results, shared by CLI, dialog and worker.

It prepares the request (pipeline), sends it (client), stores every result in history *before* anyone is
told about it, and composes each result back into place. All CPU work (prepare, decode, paste-back) runs in
worker threads so an event loop driving a GUI never stalls. Cancelling the task aborts at once; results that
already arrived stay in history.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from ..api.backend import ImagesBackend
from ..api.download import decode_result
from ..api.errors import APIError, ResultError, ValidationError, explain
from ..api.models import MARKUP_WITH_MASK
from ..api.params import ImageParams, validate
from ..api.types import ImageEvent, ImageInput, ImagesResponse, Usage, sniff_content_type
from ..history import HistoryRecord, HistoryStore
from ..memory import release_free_memory, return_large_buffers_on_free
from ..pipeline import ContextOptions, PasteResult, Rect, paste_back, prepare_edit
from ..pipeline.colour import build_tables
from ..pipeline.errors import PipelineInputError
from .context import as_the_provider_takes_it

STAGES = ("preparing", "uploading", "generating", "downloading", "finishing")
T = TypeVar("T")


class JobEvents:
    """What a job reports while it runs. Subclass and override what you need; every method is optional.

    Methods are called on the event loop thread and must return quickly.
    """

    def stage(self, stage: str, fraction: float | None) -> None:
        """One of STAGES; fraction is 0..1 where known (upload and download), else None."""

    def partial(self, index: int, data: bytes) -> None:
        """A streamed preview of result `index`: the encoded image as the provider sent it. Not decoded here:
        the dialog decodes it straight to a thumbnail, the CLI only reports it."""

    def result(self, result: JobResult) -> None:
        """A finished result, already safe in history."""


@dataclass(frozen=True)
class EditRequest:
    layer: np.ndarray  # (H, W, 4) uint8, may be a read-only memmap
    selection: np.ndarray | None  # (H, W) uint8 coverage in layer coordinates, None = whole layer
    layer_offset: tuple[int, int]
    references: list[np.ndarray]
    params: ImageParams
    options: ContextOptions
    source_name: str = ""
    markup: np.ndarray | None = None  # (H, W, 4) uint8 in layer coordinates: 2.6 models' annotations


@dataclass(frozen=True)
class GenerateRequest:
    params: ImageParams
    canvas_size: tuple[int, int] | None = None  # (W, H): scale results to cover it
    source_name: str = ""


@dataclass(frozen=True)
class JobResult:
    """One finished image of a run, placed: what every front end writes, shows or sends to GIMP."""

    index: int
    name: str  # layer name
    placed: PasteResult  # pixels, canvas offset and layer mask (alpha None = no mask)
    history_id: str
    history_path: Path | None = None  # the stored result file
    usage: Usage | None = None  # the whole request's
    request_id: str | None = None


def layer_name(prompt: str, index: int, limit: int = 40) -> str:
    """A short layer name from the prompt: 'Remove the spoon #1'."""
    text = re.sub(r"\s+", " ", prompt).strip() or "Generated"
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"{text} #{index + 1}"


def _extension(data: bytes) -> str:
    content_type = sniff_content_type(data)
    if content_type is None:
        raise ResultError("The provider sent a result that is not a PNG, JPEG or WebP image.")
    return content_type.removeprefix("image/")  # the API's format names are the MIME subtypes


def _decode(data: bytes) -> Image.Image:
    return decode_result(data, "A result image")


async def _off_loop(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(func, *args, **kwargs)


class _Job:
    """State shared by one run: history entry, result tasks, and what was delivered."""

    def __init__(self, history: HistoryStore, events: JobEvents) -> None:
        return_large_buffers_on_free()  # a dialog runs many jobs: freed images must not stay resident
        self.history = history
        self.events = events
        self.history_id: str | None = None
        self.delivered: dict[int, JobResult] = {}
        self.started: set[int] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.compose: Callable[[int, bytes, Image.Image], JobResult] | None = None
        self.streamed_usage: list[Usage] = []  # each completed image's, when streaming

    # -- events

    def stage(self, stage: str, fraction: float | None = None) -> None:
        self.events.stage(stage, fraction)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def on_event(self, event: ImageEvent) -> None:
        if event.kind == "partial":
            if event.index not in self.delivered:
                self.events.partial(event.index, event.data)
        elif event.kind == "completed":
            if event.usage is not None and event.index not in self.started:
                self.streamed_usage.append(event.usage)
            self.take(event.index, event.data, event.image)

    def take(self, index: int, data: bytes, image: Image.Image | None = None) -> None:
        """A finished image: store it at once, then compose and report it (in the background). `image` is
        its decoded form when the client already made it."""
        if index in self.started:
            return
        self.started.add(index)
        assert self.history_id is not None
        # Submitted to a thread right now, not when a task gets scheduled: once started, the write finishes
        # even if the job is cancelled or fails a moment later.
        saved = asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self.history.add_result, self.history_id, index, data, _extension(data))
        )
        self.spawn(self._finish_one(index, data, image, saved))

    async def _finish_one(
        self, index: int, data: bytes, image: Image.Image | None, saved: asyncio.Future[Path]
    ) -> None:
        assert self.compose is not None
        try:
            path: Path | None = await saved
            unsaved: OSError | None = None
        except OSError as exc:
            # History could not keep it (disk full, folder gone): the image is paid for, so it is still
            # placed; the failure is raised after delivery, so the user learns it is not in history.
            path, unsaved = None, exc
        if image is None:
            image = await _off_loop(_decode, data)
        result = await _off_loop(self.compose, index, data, image)
        result = dataclasses.replace(result, history_path=path)
        self.delivered[index] = result
        self.events.result(result)
        if unsaved is not None:
            raise unsaved

    async def drain(self) -> None:
        """Wait for every background step; the good results are all delivered before a failure is raised."""
        failures: list[BaseException] = []
        while self.tasks:
            outcomes = await asyncio.gather(*list(self.tasks), return_exceptions=True)
            failures += [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            raise failures[0]

    # -- history

    async def begin(self, request: HistoryRecord) -> None:
        future = asyncio.ensure_future(_off_loop(self.history.begin, request))
        try:
            self.history_id = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The entry is being created in a thread anyway: mark it cancelled once it exists.
            future.add_done_callback(self._cancel_late_entry)
            raise

    def _cancel_late_entry(self, future: asyncio.Future[str]) -> None:
        if not future.cancelled() and future.exception() is None:
            self.history.finish(future.result(), error="Cancelled before the request was sent.", status="cancelled")

    def fail(self, exc: BaseException) -> None:
        """Record why the request ended (synchronously, so cancellation is not delayed by another await)."""
        for task in list(self.tasks):
            task.cancel()
        if self.history_id is None:
            return
        cancelled = isinstance(exc, asyncio.CancelledError)
        with contextlib.suppress(OSError):  # the original error matters more than a failed history update
            self.history.finish(
                self.history_id,
                error=explain(exc).one_line(),
                status="cancelled" if cancelled else "failed",
                results_received=sorted(self.started),
            )

    async def done(self, response: ImagesResponse) -> list[JobResult]:
        for image in response.images:
            self.take(image.index, image.data, image.image)
        await self.drain()
        usage = Usage.of_stream(self.streamed_usage) or response.usage
        results = [self.delivered[i] for i in sorted(self.delivered)]
        assert self.history_id is not None
        await _off_loop(
            functools.partial(
                self.history.finish,
                self.history_id,
                request_id=response.request_id,
                usage=usage,
                revised_prompts=[img.revised_prompt for img in response.images if img.revised_prompt],
                result_size=response.size,
                output_format=response.output_format,
                images_arrived=len(response.images),
            )
        )
        await _off_loop(release_free_memory)
        return [dataclasses.replace(r, usage=usage, request_id=response.request_id) for r in results]


def _request_record(client: ImagesBackend, params: ImageParams, **fields: Any) -> HistoryRecord:
    """What history keeps about a request before it is sent."""
    return HistoryRecord(
        prompt=params.prompt,
        model=params.model,
        params=params,
        provider=client.provider_name,
        base_url=client.base_url,
        **fields,
    )


async def run_edit(
    req: EditRequest, client: ImagesBackend, history: HistoryStore, events: JobEvents | None = None
) -> list[JobResult]:
    """Edit the selected part of a layer; returns every result, each already in history."""
    job = _Job(history, events or JobEvents())
    job.stage("preparing", None)
    markup = req.markup is not None
    # Markup and mask together only where the API takes both; otherwise the markup alone says what to change
    # and the paste-back (which follows the selection, not the mask) still keeps every other pixel.
    send_mask = not markup or MARKUP_WITH_MASK
    # Fail fast, before the heavy work.
    validate(req.params, kind="edit", image_count=1 + len(req.references), mask=send_mask, markup=markup)
    options = as_the_provider_takes_it(req.options, await client.grows_mask())
    try:
        prep = await _off_loop(
            prepare_edit,
            req.layer,
            req.selection,
            model=req.params.model,
            size=req.params.size,
            options=options,
            layer_offset=req.layer_offset,
            references=req.references,
            markup=req.markup,
        )
    except PipelineInputError as exc:
        raise ValidationError(str(exc), rule="input image") from exc
    if options.colour_match:
        job.spawn(_off_loop(build_tables))
    params = req.params.replace(size=prep.size_str)
    images = [ImageInput("image.png", prep.image_png, "image/png")]
    images += [ImageInput(f"reference-{i + 1}.png", png, "image/png") for i, png in enumerate(prep.reference_pngs)]
    # A request that cannot be sent gets no history entry.
    validate(params, kind="edit", image_count=len(images), mask=send_mask, markup=markup)
    layer_h, layer_w = req.layer.shape[:2]
    x, y, w, h = prep.region
    meta = _request_record(
        client,
        params,
        kind="edit",
        source_image=req.source_name,
        layer_size=(layer_w, layer_h),
        layer_offset=tuple(req.layer_offset),
        region=(x, y, w, h),
        offset=(req.layer_offset[0] + x, req.layer_offset[1] + y),
        request_size=prep.size_str,
        references=len(prep.reference_pngs),
        markup=markup,
        context=_jsonable(dataclasses.asdict(options)) if dataclasses.is_dataclass(options) else None,
    )

    def compose(index: int, data: bytes, image: Image.Image) -> JobResult:
        try:
            out = paste_back(prep, image, req.layer, req.selection)
        except PipelineInputError as exc:
            raise ResultError(f"Result {index + 1} cannot be placed: {exc}") from exc
        return JobResult(index, layer_name(params.prompt, index), out, job.history_id or "")

    job.compose = compose
    mask = prep.mask_png if send_mask else None
    return await _send(
        job,
        meta,
        lambda: client.edit(params=params, images=images, mask=mask, markup=prep.markup_png, **_callbacks(job)),
    )


async def run_generate(
    req: GenerateRequest, client: ImagesBackend, history: HistoryStore, events: JobEvents | None = None
) -> list[JobResult]:
    """Generate new pictures; each result is scaled to cover the canvas (if given) and placed at (0, 0)."""
    job = _Job(history, events or JobEvents())
    job.stage("preparing", None)
    params = req.params
    validate(params, kind="generate")
    meta = _request_record(
        client,
        params,
        kind="generate",
        source_image=req.source_name,
        canvas_size=tuple(req.canvas_size) if req.canvas_size else None,
        offset=(0, 0),
    )

    def compose(index: int, data: bytes, image: Image.Image) -> JobResult:
        pixels = np.asarray(_cover(image.convert("RGBA"), req.canvas_size))
        placed = PasteResult(pixels, (0, 0), None, Rect(0, 0, pixels.shape[1], pixels.shape[0]))
        return JobResult(index, layer_name(params.prompt, index), placed, job.history_id or "")

    job.compose = compose
    return await _send(job, meta, lambda: client.generate(params=params, **_callbacks(job)))


def _callbacks(job: _Job) -> dict[str, Any]:
    return {"on_event": job.on_event, "on_progress": job.stage}


async def _send(
    job: _Job, meta: HistoryRecord, call: Callable[[], Coroutine[Any, Any, ImagesResponse]]
) -> list[JobResult]:
    await job.begin(meta)
    try:
        response = await call()
        job.stage("finishing", None)
        return await job.done(response)
    except asyncio.CancelledError as exc:
        job.fail(exc)
        raise
    except Exception as exc:
        # Results that arrived before the failure are paid for: deliver them, then report the failure.
        try:
            arrived = exc.partial if isinstance(exc, APIError) else None  # what a failed answer did bring
            for image in arrived.images if arrived is not None else ():
                with contextlib.suppress(Exception):
                    job.take(image.index, image.data, image.image)
            with contextlib.suppress(Exception):
                await job.drain()
        finally:
            job.fail(exc)
        raise


def _cover(image: Image.Image, canvas: tuple[int, int] | None) -> Image.Image:
    """Scale to cover the canvas without distortion, cropping the overhang equally on both sides."""
    if canvas is None or image.size == tuple(canvas):
        return image
    cw, ch = canvas
    scale = max(cw / image.width, ch / image.height)
    w, h = max(cw, round(image.width * scale)), max(ch, round(image.height * scale))
    scaled = image.resize((w, h), Image.Resampling.LANCZOS)
    left, top = (w - cw) // 2, (h - ch) // 2
    return scaled.crop((left, top, left + cw, top + ch))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return str(obj)
