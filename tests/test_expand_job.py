"""Expand Canvas end to end: the job against the real local server, and the `expand` command."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pipeline_helpers import RESOURCES, photo_layer
from test_cli import _assert_one_line_error, cli

from gimp_gptimage.api.client import ImagesClient
from gimp_gptimage.api.errors import BadRequestError, ValidationError
from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.api.providers import LOCAL, OPENAI
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.jobs.expand import DEFAULT_PROMPT, ExpandRequest, run_expand
from gimp_gptimage.jobs.run import STAGES, JobEvents, JobResult
from gimp_gptimage.keystore import OFFLINE_NOTICE
from gimp_gptimage.pipeline import ContextOptions, expand_fill
from gimp_gptimage.pipeline.expand_fill import Fill, new_area, opencv_fill
from gimp_gptimage.pipeline.expand_plan import plan_canvas, plan_requests
from gimp_gptimage.server import Fault, LocalServer

pytest_plugins = ["conftest_jobs"]


class Collect(JobEvents):
    def __init__(self) -> None:
        self.results: list[JobResult] = []
        self.stages: list[str] = []

    def stage(self, stage: str, fraction: float | None) -> None:
        self.stages.append(stage)

    def result(self, result: JobResult) -> None:
        self.results.append(result)


def _client(server: LocalServer) -> ImagesClient:
    return ImagesClient(base_url=server.base_url, api_key="sk-expand-test-key-0123456789")


async def test_tiled_expansion_sends_every_window_at_once_and_keeps_each_in_history(
    server: LocalServer, tmp_path: Path
) -> None:
    picture = photo_layer(3000, 400, seed=7)
    plan = plan_canvas(3000, 400, sides=(0, 400, 0, 0))
    windows = plan_requests(plan, "gpt-image-2")
    assert len(windows) >= 2
    history, events = HistoryStore(tmp_path), Collect()
    request = ExpandRequest(picture, plan, ImageParams(prompt="", n=2), ContextOptions(blend_margin_px=0), "wide.png")
    async with _client(server) as client:
        results = await run_expand(request, client, history, events)
    assert [r.index for r in results] == [0, 1] == [r.index for r in events.results]
    order = [STAGES.index(stage) for stage in events.stages]
    assert order == sorted(order) and events.stages[-1] == "finishing"  # the windows' progress as one
    entries = history.list()
    assert len(entries) == len(windows)  # one request per window, each stored with both results
    assert all(e.prompt == DEFAULT_PROMPT and len(e.results) == 2 for e in entries)
    regions = sorted(e.record.region or () for e in entries)
    assert all(e.record.offset in [tuple(w[:2]) for w in windows] for e in entries), regions
    new = new_area(plan) > 0
    for result in results:
        placed = result.placed
        assert placed.pixels.shape == (800, 3000, 4) and placed.offset == (0, 0) and placed.alpha is not None
        assert np.array_equal(placed.pixels[400:], picture)
        assert (placed.alpha[new] == 255).all() and (placed.alpha[~new] == 0).all()
    # The offline engine filled the new area: no copy of the pre-fill's smooth band, and n results differ.
    assert not np.array_equal(results[0].placed.pixels[:400], results[1].placed.pixels[:400])


async def test_offline_windows_get_the_quick_prefill_since_the_engine_repaints_it(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def spy() -> Fill:
        asked.append("default")
        return opencv_fill

    monkeypatch.setattr(expand_fill, "default_fill", spy)
    plan = plan_canvas(480, 320, sides=(0, 0, 200, 0))
    request = ExpandRequest(photo_layer(480, 320), plan, ImageParams(prompt=""), ContextOptions())
    local = LOCAL.with_base_url(server.base_url)
    async with ImagesClient(base_url=server.base_url, api_key="local", provider=local) as client:
        (offline,) = await run_expand(request, client, HistoryStore(tmp_path))
    assert asked == [] and offline.placed.pixels.shape == (320, 680, 4)
    async with _client(server) as client:  # the same engine behind a custom base URL: it says what it is
        await run_expand(request, client, HistoryStore(tmp_path))
    assert asked == []
    model = OPENAI.with_base_url(server.base_url)  # a provider whose model follows the prompt: MI-GAN's pre-fill
    async with ImagesClient(base_url=server.base_url, api_key="sk-expand-test-0123456789", provider=model) as client:
        await run_expand(request, client, HistoryStore(tmp_path))
    assert asked == ["default"]


async def test_a_failed_window_fails_the_job_but_keeps_the_others(server: LocalServer, tmp_path: Path) -> None:
    server.faults.add(Fault("status", status=400, message="Refused.", code="moderation_blocked", times=1))
    plan = plan_canvas(3000, 400, sides=(0, 400, 0, 0))
    history = HistoryStore(tmp_path)
    request = ExpandRequest(photo_layer(3000, 400), plan, ImageParams(prompt="a sky"), ContextOptions())
    async with _client(server) as client:
        with pytest.raises(BadRequestError, match="Refused"):
            await run_expand(request, client, history)
    statuses = sorted(e.status for e in history.list())
    assert statuses.count("failed") == 1 and len(statuses) == len(plan_requests(plan, "gpt-image-2"))
    assert all(len(e.results) == 1 for e in history.list() if e.status != "failed")


async def test_an_impossible_expansion_sends_nothing(server: LocalServer, tmp_path: Path) -> None:
    plan = plan_canvas(300, 1000, sides=(0, 1900, 0, 0))
    history = HistoryStore(tmp_path)
    request = ExpandRequest(photo_layer(300, 1000), plan, ImageParams(prompt="x"), ContextOptions())
    async with _client(server) as client:
        with pytest.raises(ValidationError, match="without distorting"):
            await run_expand(request, client, history)
    assert history.list() == []


async def test_cancelling_cancels_every_window(server: LocalServer, tmp_path: Path) -> None:
    server.faults.add(Fault("delay", seconds=60, times=10))
    plan = plan_canvas(3000, 400, sides=(0, 400, 0, 0))
    history = HistoryStore(tmp_path)
    # The OpenCV fill: quick, so every window is on its way well within the wait below.
    request = ExpandRequest(photo_layer(3000, 400), plan, ImageParams(prompt="x"), ContextOptions(), fill=opencv_fill)
    async with _client(server) as client:
        task = asyncio.ensure_future(run_expand(request, client, history))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if len(history.list()) == len(plan_requests(plan, "gpt-image-2")):
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
    assert {e.status for e in history.list()} == {"cancelled"}


# -- the command ---------------------------------------------------------------------------------------------


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    image = Image.open(RESOURCES / "coffee.png").convert("RGB")
    image.save(tmp_path / "coffee.png")
    return tmp_path


def test_expand_command_offline_writes_the_canvas_and_says_who_painted_it(photo_dir: Path) -> None:
    proc = cli("expand", "coffee.png", "--to", "16:9", "--anchor", "left", "--json", cwd=photo_dir)
    assert proc.returncode == 0, proc.stderr
    assert OFFLINE_NOTICE in proc.stderr
    assert "painted by the offline engine, MI-GAN inpainting model alone" in proc.stderr
    summary = json.loads(proc.stdout)
    source = np.asarray(Image.open(photo_dir / "coffee.png"))
    h, w = source.shape[:2]
    assert summary["canvas"] == [round(h * 16 / 9), h] and summary["picture_offset"] == [0, 0]
    (written,) = summary["results"]
    out = np.asarray(Image.open(photo_dir / written["path"]))
    assert out.shape == (h, round(h * 16 / 9), 3)  # an RGB source stays RGB
    assert np.array_equal(out[:, :w], source)  # the default blend margin (settings) is 0: bit-exact


def test_expand_command_per_side_with_margin(photo_dir: Path) -> None:
    proc = cli("expand", "coffee.png", "--left", "40", "--bottom", "120", "--blend-margin", "6", cwd=photo_dir)
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.strip())
    assert path == Path("out/coffee-expanded-1.png")
    source = np.asarray(Image.open(photo_dir / "coffee.png"))
    out = np.asarray(Image.open(photo_dir / path))
    h, w = source.shape[:2]
    assert out.shape == (h + 120, w + 40, 3)
    assert np.array_equal(out[: h - 6, 46:], source[: h - 6, 6:])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--size", "10x10"], "smaller than the picture"),
        (["--left", "0"], "one way"),
        (["--to", "1:9"], "more than 3:1"),
        (["--left", "5", "--anchor", "top"], "--anchor places the picture"),
        (["--to", "4:3", "--size", "2000x2000"], "one way"),
    ],
)
def test_expand_command_bad_input_is_one_line(photo_dir: Path, args: list[str], needle: str) -> None:
    proc = cli("expand", "coffee.png", *args, cwd=photo_dir)
    _assert_one_line_error(proc, 2, needle)
    assert not (photo_dir / "out").exists()


def test_expand_command_decoding_beside_the_backend_writes_what_reading_first_wrote(
    photo_dir: Path, temp_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command decodes the picture while the embedded server starts (cli/background.py); its file is,
    byte for byte, what the same job gives a picture read first, the way the command used to."""
    from gimp_gptimage.cli import expand as expand_cli
    from gimp_gptimage.cli.main import build_parser, main
    from gimp_gptimage.jobs.context import context_options
    from gimp_gptimage.keystore import local_backend
    from gimp_gptimage.settings import Settings

    monkeypatch.chdir(photo_dir)
    argv = ["expand", "coffee.png", "--bottom", "96", "--right", "64"]
    assert main([*argv, "--out", "new"]) == 0
    written = (photo_dir / "new" / "coffee-expanded-1.png").read_bytes()

    args = build_parser().parse_args([*argv, "--out", "old"])
    picture = np.asarray(Image.open(photo_dir / "coffee.png").convert("RGBA"))  # Pillow, before anything else
    plan = expand_cli.canvas_plan(args, picture.shape[1], picture.shape[0])
    settings = Settings()
    options = context_options(settings.context, blend_margin_px=None)
    params = ImageParams(prompt="", model="gpt-image-2", n=1, quality="auto")
    with LocalServer() as server:
        backend = local_backend(server.base_url)
        asyncio.run(
            expand_cli._expand(
                args, picture, plan, params, options, False, backend, settings.timeouts.timeouts(), ImagesClient
            )
        )
    assert (photo_dir / "old" / "coffee-expanded-1.png").read_bytes() == written


@pytest.mark.parametrize("keep", [0.5, 0.0], ids=["cut-short", "empty"])
def test_expand_command_unreadable_picture_is_one_line(photo_dir: Path, keep: float) -> None:
    """Decoded in the background or refused at its header: one line naming the file, nothing written."""
    data = (photo_dir / "coffee.png").read_bytes()
    (photo_dir / "bad.png").write_bytes(data[: int(len(data) * keep)])
    proc = cli("expand", "bad.png", "--to", "16:9", cwd=photo_dir)
    _assert_one_line_error(proc, 2, "bad.png")
    assert "libpng" not in proc.stderr and not (photo_dir / "out").exists()
