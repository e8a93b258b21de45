"""The job runner against the real local server over loopback HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from pathlib import Path

import numpy as np
import pytest
from jobs_samples import coffee_layer, edit_request
from PIL import Image

from gimp_gptimage.api.client import ImagesClient
from gimp_gptimage.api.errors import APIConnectionError, BadRequestError, ResultError, ValidationError
from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.api.providers import LOCAL, OPENAI, grows_mask
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.jobs.context import as_the_provider_takes_it
from gimp_gptimage.jobs.run import GenerateRequest, JobEvents, JobResult, run_edit, run_generate
from gimp_gptimage.server import Fault, LocalServer

pytest_plugins = ["conftest_jobs"]


class Recorder(JobEvents):
    """Remembers every event, and checks at each result that history already holds it."""

    def __init__(self, history: HistoryStore) -> None:
        self.history = history
        self.stages: list[tuple[str, float | None]] = []
        self.partials: list[tuple[int, bytes]] = []
        self.results: list[JobResult] = []
        self.in_history_first: list[bool] = []
        self.generating = asyncio.Event()

    def stage(self, stage: str, fraction: float | None) -> None:
        self.stages.append((stage, fraction))
        if stage == "generating":
            self.generating.set()

    def partial(self, index: int, data: bytes) -> None:
        self.partials.append((index, data))

    def result(self, result: JobResult) -> None:
        record = json.loads((self.history.root / result.history_id / "record.json").read_text())
        stored = any(r["index"] == result.index for r in record["results"])
        self.in_history_first.append(stored and result.history_path is not None and result.history_path.is_file())
        self.results.append(result)

    @property
    def stage_names(self) -> list[str]:
        names: list[str] = []
        for name, _ in self.stages:
            if not names or names[-1] != name:
                names.append(name)
        return names


def stored_file(result: JobResult) -> Path:
    assert result.history_path is not None, "the result is not in history"
    return result.history_path


def _client(server: LocalServer, **kwargs: object) -> ImagesClient:
    return ImagesClient(base_url=server.base_url, api_key="sk-job-test-key-0123456789", **kwargs)  # type: ignore[arg-type]


async def test_edit_results_stored_before_reported_and_placed(server: LocalServer, tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    events = Recorder(history)
    request = edit_request(ImageParams(prompt="Remove the spoon", n=2))
    async with _client(server) as client:
        results = await run_edit(request, client, history, events)

    assert [r.index for r in results] == [0, 1]
    assert events.in_history_first == [True, True]
    assert events.stage_names[0] == "preparing"
    assert events.stage_names[-1] == "finishing"
    assert {"uploading", "generating"} <= set(events.stage_names)
    layer, selection = request.layer, request.selection
    assert selection is not None
    for result in results:
        placed = result.placed
        h, w = placed.pixels.shape[:2]
        assert placed.alpha is not None and placed.alpha.shape == (h, w)
        assert result.name == f"Remove the spoon #{result.index + 1}"
        assert result.request_id and result.request_id.startswith("req_")
        assert result.usage is not None and result.usage.total_tokens
        x, y = placed.offset
        assert x >= 0 and y >= 0 and x + w <= 600 and y + h <= 400
        full = placed.composite(layer)
        assert np.array_equal(full[selection == 0], layer[selection == 0])
        changed = np.abs(full.astype(int) - layer.astype(int)).sum(axis=2) > 30
        assert changed[selection == 255].mean() > 0.5
    entry = history.get(results[0].history_id)
    assert entry.status == "done"
    assert len(entry.results) == 2
    record = entry.record
    assert record.prompt == "Remove the spoon"
    assert record.source_image == "coffee.png"
    assert record.provider == "custom" and record.base_url == server.base_url
    assert record.request_id == results[0].request_id
    assert record.params is not None and record.params.n == 2
    assert record.region is not None
    rx, ry = record.region[:2]
    assert record.offset == (rx, ry)
    stored = json.loads((entry.folder / "record.json").read_text())
    assert stored["params"]["n"] == 2 and "prompt" not in stored["params"]  # the file format is unchanged
    assert "sk-job-test-key" not in (entry.folder / "record.json").read_text()


async def test_the_offline_engine_gets_the_selection_ungrown(server: LocalServer, tmp_path: Path) -> None:
    """An inpainting engine fills exactly the hole it is given: a grown one would hide the surroundings it
    continues (the README demo's pale spoon). A provider that repaints gets the grown mask."""
    history = HistoryStore(tmp_path)
    request = edit_request(ImageParams(prompt="Remove the spoon"))
    assert request.options.grow_px > 0
    masks = {}
    for provider in (LOCAL, OPENAI):
        async with _client(server, provider=provider.with_base_url(server.base_url)) as client:
            (result,) = await run_edit(request, client, history)
        record = history.get(result.history_id).record
        assert record.context is not None
        masks[provider.name] = record.context["grow_px"]
    assert masks == {"local": 0, "openai": request.options.grow_px}
    # The dialog's preview of what is sent goes through the same rule (qt_ui/dialog.py).
    assert as_the_provider_takes_it(request.options, grows_mask("local")).grow_px == 0
    assert as_the_provider_takes_it(request.options, grows_mask("openai")) == request.options


async def test_a_custom_base_url_at_a_gimp_gptimage_server_gets_the_selection_ungrown(
    server: LocalServer, tmp_path: Path
) -> None:
    """`gimp-gptimage serve` on another machine, reached through a custom base URL, is still an inpainting
    engine: the server says what it is (ENGINE_HEADER), asked before the first mask is made."""
    history = HistoryStore(tmp_path)
    request = edit_request(ImageParams(prompt="Remove the spoon"))
    async with _client(server) as client:
        assert client.provider_name == "custom"
        for _ in range(2):  # the first asks, the second remembers
            (result,) = await run_edit(request, client, history)
            record = history.get(result.history_id).record
            assert record.context is not None and record.context["grow_px"] == 0


async def test_an_endpoint_that_cannot_say_what_it_is_gets_the_grown_selection() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    async with ImagesClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-job-test-key-0123456789") as client:
        assert await client.grows_mask() is True


def test_the_mask_rule_keeps_presets_and_reads_what_a_custom_endpoint_says() -> None:
    assert (grows_mask("local"), grows_mask("openai"), grows_mask("custom")) == (False, True, True)
    assert grows_mask("custom", "offline-migan") is False  # a gimp-gptimage server, whichever engine
    assert grows_mask("custom", "offline") is False
    assert grows_mask("openai", "offline-migan") is True  # a preset is what the user chose: its rule holds


async def test_streamed_edit_shows_partials_first(server: LocalServer, tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    events = Recorder(history)
    request = edit_request(ImageParams(prompt="Remove the spoon", stream=True, partial_images=2))
    async with _client(server) as client:
        results = await run_edit(request, client, history, events)
    assert len(results) == 1
    assert len(events.partials) >= 1
    for index, data in events.partials:  # the provider's encoded preview, handed on untouched
        assert index == 0
        with Image.open(io.BytesIO(data)) as preview:
            assert preview.format == "PNG" and preview.size == Image.open(stored_file(results[0])).size
    assert events.in_history_first == [True]


async def test_layer_offset_and_memmap_layer(server: LocalServer, tmp_path: Path) -> None:
    raw = tmp_path / "layer.rgba"
    raw.write_bytes(coffee_layer().tobytes())
    layer = np.memmap(raw, dtype=np.uint8, mode="r", shape=(400, 600, 4))
    history = HistoryStore(tmp_path / "h")
    request = edit_request(ImageParams(prompt="Remove the spoon"), layer=layer, layer_offset=(100, 50))
    async with _client(server) as client:
        (result,) = await run_edit(request, client, history)
    record = history.get(result.history_id).record
    assert record.region is not None
    rx, ry = record.region[:2]
    assert result.placed.offset == (100 + rx, 50 + ry)
    assert record.offset == (100 + rx, 50 + ry)


async def test_generate_scaled_to_canvas(server: LocalServer, tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    events = Recorder(history)
    params = ImageParams(prompt="a lighthouse at dusk", size="1536x1024", n=2)
    async with _client(server) as client:
        results = await run_generate(GenerateRequest(params, (600, 400), "poster.xcf"), client, history, events)
    assert len(results) == 2 and events.in_history_first == [True, True]
    for result in results:
        assert result.placed.pixels.shape == (400, 600, 4)
        assert result.placed.offset == (0, 0) and result.placed.alpha is None
        with Image.open(stored_file(result)) as stored:
            assert stored.size == (1536, 1024)
    async with _client(server) as client:
        (native,) = await run_generate(GenerateRequest(params.replace(n=1)), client, history)
    assert native.placed.pixels.shape == (1024, 1536, 4)
    record = history.get(results[0].history_id).record
    assert record.kind == "generate" and record.canvas_size == (600, 400)


async def test_cancel_aborts_at_once_and_is_recorded(server: LocalServer, tmp_path: Path) -> None:
    server.faults.add(Fault("delay", seconds=60))
    history = HistoryStore(tmp_path)
    events = Recorder(history)
    async with _client(server) as client:
        task = asyncio.create_task(run_edit(edit_request(ImageParams(prompt="x")), client, history, events))
        await asyncio.wait_for(events.generating.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
    (entry,) = history.list()
    assert entry.status == "cancelled"
    assert (entry.record.error or "").startswith("Cancelled")
    assert events.results == []


async def test_results_that_arrived_survive_a_broken_stream(tmp_path: Path) -> None:
    # Three images streamed about a second apart: the connection dies right after the second is sent. The
    # first arrived long before; the second may be lost with the reset (a TCP reset discards unread data);
    # the third never exists.
    history = HistoryStore(tmp_path)
    events = Recorder(history)
    request = edit_request(ImageParams(prompt="Remove the spoon", n=3, stream=True))
    server = LocalServer(latency=3.0, faults=[Fault("reset_after", events=2)])
    async with server, _client(server, max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await run_edit(request, client, history, events)
    delivered = sorted(r.index for r in events.results)
    assert delivered in ([0], [0, 1])
    assert all(events.in_history_first)
    (entry,) = history.list()
    assert entry.status == "failed"
    assert [r.index for r in entry.results] == delivered
    assert "connection" in (entry.record.error or "").lower()


async def test_api_error_recorded_in_history(server: LocalServer, tmp_path: Path) -> None:
    server.faults.add(Fault("status", status=400, message="Your request was rejected by the safety system."))
    history = HistoryStore(tmp_path)
    async with _client(server) as client:
        with pytest.raises(BadRequestError):
            await run_generate(GenerateRequest(ImageParams(prompt="x")), client, history)
    (entry,) = history.list()
    assert entry.status == "failed"
    error = entry.record.error or ""
    assert "safety system" in error and "HTTP 400" in error


@pytest.mark.parametrize(
    ("params", "changes", "match"),
    [
        (ImageParams(prompt="x", n=11), {}, "n"),
        (ImageParams(prompt=""), {}, "prompt"),
        (ImageParams(prompt="x", size="1000x1000"), {}, "divisible by 16"),
        (ImageParams(prompt="x"), {"selection": np.zeros((10, 10), np.uint8)}, "selection"),
        (ImageParams(prompt="x"), {"references": [np.zeros((8, 8, 4), np.uint8)] * 16}, "16"),
    ],
)
async def test_invalid_requests_send_nothing_and_leave_no_entry(
    server: LocalServer, tmp_path: Path, params: ImageParams, changes: dict[str, object], match: str
) -> None:
    history = HistoryStore(tmp_path)
    async with _client(server) as client:
        with pytest.raises(ValidationError, match=match):
            await run_edit(edit_request(params, **changes), client, history)
    assert history.list() == []


async def test_cpu_and_disk_work_runs_off_the_event_loop(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prepare, decode, paste-back and history writes never run on the loop's thread (a GUI stays live), and
    each result is decoded once: by the client's check, whose image the job uses."""
    import threading

    import gimp_gptimage.api.results as client_module
    import gimp_gptimage.jobs.run as run_module

    loop_thread = threading.get_ident()
    seen: dict[str, set[bool]] = {}

    def spy(name: str, func):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen.setdefault(name, set()).add(threading.get_ident() == loop_thread)
            return func(*args, **kwargs)

        return wrapper

    for name in ("prepare_edit", "paste_back", "_decode"):
        monkeypatch.setattr(run_module, name, spy(name, getattr(run_module, name)))
    monkeypatch.setattr(client_module, "decode_result", spy("decode_result", client_module.decode_result))
    history = HistoryStore(tmp_path)
    monkeypatch.setattr(history, "add_result", spy("add_result", history.add_result))
    monkeypatch.setattr(history, "begin", spy("begin", history.begin))
    request = edit_request(ImageParams(prompt="Remove the spoon", n=2, stream=True, partial_images=1))
    async with _client(server) as client:
        await run_edit(request, client, history, Recorder(history))
    assert seen == {name: {False} for name in ("prepare_edit", "paste_back", "decode_result", "add_result", "begin")}


async def test_one_dead_result_link_of_two_keeps_the_other(tmp_path: Path) -> None:
    """A relay answers with two links and the first is dead: the second image is still stored and placed."""
    history = HistoryStore(tmp_path)
    events = Recorder(history)
    request = edit_request(ImageParams(prompt="Remove the spoon", n=2))
    relay = LocalServer(profile="crazyrouter", faults=[Fault("result_missing")])
    async with relay, _client(relay, max_retries=0) as client:
        with pytest.raises(ResultError, match="Image 1 of 2"):
            await run_edit(request, client, history, events)
    assert [r.index for r in events.results] == [1]
    assert events.in_history_first == [True]
    (entry,) = history.list()
    assert entry.status == "failed"
    assert [r.index for r in entry.results] == [1]
