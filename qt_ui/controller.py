"""Runs jobs for the dialog: model → request → job runner → model. The only place a run's task lives.

Everything slow happens off the GUI thread: the job runner prepares, decodes and pastes back in worker
threads; thumbnails are made here in worker threads too, and only the finished few hundred KB are turned
into QImages on the event loop. Cancel is plain task cancellation: the HTTP request is aborted at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import Any

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from gimp_gptimage.api import providers
from gimp_gptimage.api.catalog import ListedModel, usable
from gimp_gptimage.api.client import ImagesClient, Timeouts
from gimp_gptimage.api.errors import ConfigError, explain
from gimp_gptimage.api.types import arrival_note
from gimp_gptimage.cost import cost_of
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.jobs.context import context_options
from gimp_gptimage.jobs.run import EditRequest, GenerateRequest, JobEvents, JobResult, run_edit, run_generate
from gimp_gptimage.keystore import Backend, local_backend, offline_notice, resolve_backend
from gimp_gptimage.pipeline import ContextOptions
from gimp_gptimage.settings import Settings

from . import messages
from .images import bytes_thumbnail, result_thumbnail, to_qimage
from .insert import InsertTarget
from .model import DialogModel, ResultItem
from .source import EditSource
from .tasks import TaskBag


class LocalServerHolder:
    """Starts the embedded server on first use and keeps it for the dialog's life. It runs in a child process
    (gimp_gptimage/server/child.py), like a remote provider, so its work never holds up the GUI thread."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._backend: Backend | None = None
        self._lock = asyncio.Lock()

    async def backend(self) -> Backend:
        async with self._lock:
            if self._backend is None:
                from gimp_gptimage.server.child import ServerProcess  # uvicorn and friends: only when needed

                server = await asyncio.to_thread(lambda: self._stack.enter_context(ServerProcess()))
                self._backend = local_backend(server.base_url)
            return self._backend

    def close(self) -> None:
        self._stack.close()
        self._backend = None


class _ModelEvents(JobEvents):
    """JobEvents → model. Called on the event loop; anything heavy is sent to a thread."""

    def __init__(self, controller: JobController) -> None:
        self.c = controller

    def stage(self, stage: str, fraction: float | None) -> None:
        self.c.model.stage = stage
        self.c.model.progress = fraction

    def partial(self, index: int, data: bytes) -> None:
        arrived = time.perf_counter()
        self.c.spawn(self.c.show_partial(index, data, arrived))

    def result(self, result: JobResult) -> None:
        self.c.spawn(self.c.show_result(result))


class JobController(QObject):
    """Owns the running task, the backend and the insert target; reports through the model only."""

    partial_shown = pyqtSignal(int, float)  # index, perf_counter() of the partial's arrival (benchmark hook)
    inserted = pyqtSignal(str)

    def __init__(
        self,
        model: DialogModel,
        source: EditSource,
        target: InsertTarget,
        settings: Settings,
        history: HistoryStore,
        backend: Backend | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.source = source
        self.target = target
        self.settings = settings
        self.history = history
        self.fixed_backend = backend  # tests and benchmarks pass their own server here
        self.local = LocalServerHolder()
        self._clients: dict[tuple[str, str, str, Timeouts], ImagesClient] = {}
        self.task: asyncio.Task[None] | None = None
        self.helpers = TaskBag()
        self._started = 0.0
        self._secret: str | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._tick)

    # -- backend ----------------------------------------------------------------------------------------

    def describe_backend(self) -> tuple[str, str]:
        """What a run would talk to, without starting anything: ("offline", what the offline engine is),
        ("problem", message) or ("provider", name)."""
        if self.fixed_backend is not None:
            return self._offline() if self.fixed_backend.is_local else ("provider", self.fixed_backend.name)
        try:
            backend = resolve_backend(self.settings, self.model.provider)
        except ConfigError as exc:
            return "problem", exc.message
        return self._offline() if backend is None else ("provider", backend.name)

    @staticmethod
    def _offline() -> tuple[str, str]:
        # The core's sentences (the model file is checked once per process, ~0.1 s), in the user's language.
        return "offline", " ".join(messages.sentence(line) for line in offline_notice())

    async def backend(self) -> Backend:
        if self.fixed_backend is not None:
            return self.fixed_backend
        backend = resolve_backend(self.settings, self.model.provider)
        return backend if backend is not None else await self.local.backend()

    async def client(self, backend: Backend) -> ImagesClient:
        """One client per backend for the dialog's life: its connections are reused between runs, and it is
        built in a worker thread (loading the system's TLS certificates takes a noticeable moment). New time
        limits in Settings get a new client."""
        timeouts = self.settings.timeouts.timeouts()
        key = (backend.name, backend.base_url, backend.api_key, timeouts)
        if key not in self._clients:
            self._clients[key] = await asyncio.to_thread(
                functools.partial(
                    ImagesClient,
                    base_url=backend.base_url,
                    api_key=backend.api_key,
                    provider=backend.provider,
                    timeouts=timeouts,
                )
            )
        return self._clients[key]

    async def listed_models(self) -> list[ListedModel]:
        """The image models the chosen provider lists (`GET /models`); [] when it lists none or cannot be
        asked now (Test connection in Settings says why), and the table's models are offered instead."""
        if self.describe_backend()[0] != "provider":
            return []  # the offline engine lists exactly the table: no need to start it for that
        try:
            backend = await self.backend()
            return usable(await (await self.client(backend)).models())
        except asyncio.CancelledError:
            raise
        except Exception:
            return []

    async def grows_mask(self) -> bool:
        """Whether a run grows the selection (api.providers.grows_mask): the chosen provider's client knows
        (its endpoint may be a gimp-gptimage server); the offline engine or a provider that cannot be asked
        now goes by the provider's name."""
        if self.describe_backend()[0] == "provider":
            try:
                return await (await self.client(await self.backend())).grows_mask()
            except asyncio.CancelledError:
                raise
            except Exception:
                pass  # its run says what is wrong; the preview goes by the name meanwhile
        return providers.grows_mask(self.model.provider)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()

    # -- running ----------------------------------------------------------------------------------------

    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> bool:
        if self.running() or not self.model.is_valid():
            return False
        self.model.clear_run()
        self.model.state = "running"
        self.model.stage = "preparing"
        self._started = time.monotonic()
        self._timer.start()
        self.task = asyncio.ensure_future(self._run())
        return True

    def cancel(self) -> None:
        if self.running():
            assert self.task is not None
            self.task.cancel()

    async def wait(self) -> None:
        """Until the current run (if any) has finished, including its thumbnails."""
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.task)

    def spawn(self, coro: Any) -> None:
        self.helpers.spawn(coro)

    async def _run(self) -> None:
        model = self.model
        requested = model.params().n
        sent_model = model.params().model  # the user may pick another model while this one runs
        try:
            backend = await self.backend()
            self._secret = None if backend.is_local else backend.api_key
            events = _ModelEvents(self)
            client = await self.client(backend)
            if model.kind == "generate" or self.source.layer_rgba is None:
                req_g = GenerateRequest(model.params(), self._canvas_size(), self.source.image_name)
                results = await run_generate(req_g, client, self.history, events)
            else:
                req = EditRequest(
                    layer=self.source.layer_rgba,
                    selection=self.source.selection,
                    layer_offset=self.source.layer_offset,
                    references=[ref.rgba for ref in model.references],
                    params=model.params(),
                    options=self.context_options(),
                    source_name=self.source.image_name,
                    markup=self.source.markup[1] if self.source.markup and model.sends_markup() else None,
                )
                results = await run_edit(req, client, self.history, events)
            await self._settle()
            if results and results[0].usage:
                model.usage = results[0].usage
                model.cost = cost_of(results[0].usage, sent_model, provider=client.provider_name)
            model.info = self.tr("%n result(s) saved in history.", "", len(results))
            shortfall = arrival_note(len(results), requested)
            if shortfall:  # the provider ended cleanly with fewer than asked for: say so, keep what came
                model.info = f"{messages.sentence(shortfall)} {model.info}"
            model.state = "done"
        except asyncio.CancelledError:
            await self._settle(cancel=True)
            model.error = None
            model.info = self.tr("Cancelled. Nothing was inserted; results that had arrived are in history.")
            model.state = "idle"
        except Exception as exc:  # the single funnel: every failure becomes a message in the dialog
            await self._settle()
            model.error = explain(exc, self._secret)
            if model.results:  # paid for before the failure: shown, insertable, and in history
                model.info = self.tr(
                    "%n result(s) arrived before the failure; they are saved in history.", "", len(model.results)
                )
            model.state = "error"
        finally:
            self._timer.stop()
            self._tick()
            model.stage = ""
            self.spawn(self._apply_history_policy())

    async def _apply_history_policy(self) -> None:
        """The user's clean-up rules, if they set any (the default keeps everything); never what is shown."""
        keep = [r.result.history_id for r in self.model.results if r.result.history_id]
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self.history.prune, self.settings.history, keep)

    async def _settle(self, cancel: bool = False) -> None:
        """Let thumbnail tasks finish (or drop them when cancelled) so the model is final."""
        if cancel:
            self.helpers.cancel_all()
        await self.helpers.wait()

    def _tick(self) -> None:
        if self._started:
            self.model.elapsed = time.monotonic() - self._started

    def _canvas_size(self) -> tuple[int, int] | None:
        job = self.source.job
        return (job.image.width, job.image.height) if job is not None else None

    def context_options(self) -> ContextOptions:
        """The dialog's context controls over the saved settings (the blend margin has no control here)."""
        m = self.model
        return context_options(
            self.settings.context,
            mode=m.context_mode,
            padding_px=m.padding_px,
            grow_px=m.grow_px,
            feather_px=m.feather_px,
            colour_match=m.colour_match,
        )

    # -- showing ----------------------------------------------------------------------------------------

    async def show_partial(self, index: int, data: bytes, arrived: float) -> None:
        try:
            raw = await asyncio.to_thread(bytes_thumbnail, data)
        except ValueError:
            return  # a broken preview is not worth a word: the finished image is what counts
        if self.running() and not any(r.index == index for r in self.model.results):
            self.model.set_partial(index, to_qimage(raw))
            self.partial_shown.emit(index, arrived)

    async def show_result(self, result: JobResult) -> None:
        placed = result.placed
        raw = await asyncio.to_thread(result_thumbnail, placed.pixels, placed.alpha, self._region_under(result))
        h, w = placed.pixels.shape[:2]
        self.model.add_result(ResultItem(result.index, to_qimage(raw), result, (w, h)))

    def _region_under(self, result: JobResult) -> np.ndarray | None:
        """The original pixels the result will cover (a view), for a thumbnail of the result in place."""
        layer = self.source.layer_rgba
        placed = result.placed
        x = placed.offset[0] - self.source.layer_offset[0]
        y = placed.offset[1] - self.source.layer_offset[1]
        if layer is None or placed.alpha is None or x < 0 or y < 0:
            return None
        h, w = placed.pixels.shape[:2]
        try:
            return layer[y : y + h, x : x + w]
        except Exception:  # e.g. outside the part GIMP exported: the plain result is still worth showing
            return None

    # -- inserting --------------------------------------------------------------------------------------

    async def insert(self, indexes: list[int]) -> None:
        by_index = {r.index: r for r in self.model.results}
        done: list[str] = []
        try:
            for position, index in enumerate(indexes):
                result = by_index[index].result
                done.append(await self.target.insert(result, batch_left=len(indexes) - 1 - position))
        except Exception as exc:
            self.model.error = explain(exc)
            return
        finally:
            self.model.mark_inserted(indexes[: len(done)])
        self.report_inserted(done)

    async def insert_one(self, result: JobResult) -> None:
        try:
            where = await self.target.insert(result)
        except Exception as exc:
            self.model.error = explain(exc)
            return
        self.report_inserted([where])

    def report_inserted(self, done: list[str]) -> None:
        if not done:
            return
        # An event with its time, not a state: it stays true when the painter undoes it in GIMP (Ctrl+Z).
        text = self.tr("Inserted at %1: %2").replace("%1", time.strftime("%H:%M")).replace("%2", "; ".join(done))
        self.model.info = text
        self.inserted.emit(text)

    def close(self) -> None:
        """Cancel any run and stop the embedded server; the HTTP clients are closed by `aclose()`."""
        self.cancel()
        self.local.close()
