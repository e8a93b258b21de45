"""Expand Canvas through the job folder, as the GIMP plug-in runs it: the worker process and the outbox."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from test_plugin_worker import OX, OY, H, W, ipc, photo, run_worker, write_job

from gimp_gptimage.jobs.expand_job import job_plan
from gimp_gptimage.jobs.jobfile import load_job
from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.server import LocalServer

pytest_plugins = ["test_plugin_worker"]  # its server and worker_env fixtures


def result_arrays(result: ipc.OutboxResult) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.frombuffer(result.pixels, np.uint8).reshape(result.height, result.width, 4)
    assert result.mask is not None
    return pixels, np.frombuffer(result.mask, np.uint8).reshape(result.height, result.width)


def test_uncovered_canvas_is_filled_without_resizing(tmp_path: Path, server: LocalServer, worker_env: Path) -> None:
    # The canvas is 100 px larger than the layer, which sits at (30, 20): the rest is to be filled.
    write_job(tmp_path, "expand", {"base_url": server.base_url})
    (result,) = run_worker(tmp_path)
    assert result.canvas is None and (result.offset_x, result.offset_y) == (0, 0)
    assert (result.width, result.height) == (W + 100, H + 100)
    pixels, mask = result_arrays(result)
    assert np.array_equal(pixels[OY : OY + H, OX : OX + W], photo())  # default blend margin 0
    uncovered = np.ones(mask.shape, bool)
    uncovered[OY : OY + H, OX : OX + W] = False
    assert (mask[uncovered] == 255).all() and (mask[~uncovered] == 0).all()
    assert result.name == "continue the scene #1"


def test_new_size_from_a_ratio_comes_with_the_result(tmp_path: Path, server: LocalServer, worker_env: Path) -> None:
    expand = {"aspect": "1:1", "anchor": "bottom"}
    write_job(tmp_path, "expand", {"prompt": "more sky", "n": 2, "base_url": server.base_url, "expand": expand})
    results = run_worker(tmp_path)
    assert [r.batch_left for r in results] == [1, 0]
    # The canvas (740 x 580) becomes 740 x 740 with the old one at the bottom: resize it first, then insert.
    for result in results:
        assert result.canvas == (W + 100, W + 100, 0, W - H)
        pixels, mask = result_arrays(result)
        assert pixels.shape == (W + 100, W + 100, 4)
        y = W - H + OY  # the layer, moved down with the old canvas
        assert np.array_equal(pixels[y : y + H, OX : OX + W], photo())
        assert (mask[:y] == 255).all() and (mask[y : y + H, OX : OX + W] == 0).all()


def test_an_expansion_beyond_3_to_1_is_a_clear_message_and_sends_nothing(
    tmp_path: Path, server: LocalServer, worker_env: Path
) -> None:
    write_job(tmp_path, "expand", {"base_url": server.base_url, "expand": {"left": 5000}})
    proc = ipc.start_worker(sys.executable, tmp_path)
    try:
        ipc.wait_for_job(proc, tmp_path, lambda r: None, lambda _p: None, 0.02)
    except ipc.JobError as exc:
        assert "more than 3:1" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("the worker accepted a 3:1-breaking expansion")
    assert not list((tmp_path / "outbox").glob("*.json"))


def test_a_layer_that_covers_the_canvas_needs_a_new_size(tmp_path: Path) -> None:
    write_job(tmp_path, "expand", {})
    raw = json.loads((tmp_path / "job.json").read_text())
    raw["image"].update(width=W, height=H)
    raw["layer"].update(offset_x=0, offset_y=0)
    (tmp_path / "job.json").write_text(json.dumps(raw))
    with pytest.raises(PipelineInputError, match="already covers the canvas: enlarge the canvas first"):
        job_plan(load_job(tmp_path))
    raw["params"]["expand"] = {"canvas_size": f"{W + 64}x{H}", "anchor": "right"}
    (tmp_path / "job.json").write_text(json.dumps(raw))
    plan, picture, resize = job_plan(load_job(tmp_path))
    assert resize == (W + 64, H, 64, 0) and plan.picture == (64, 0, W, H) and picture.shape == (H, W, 4)


def test_without_provider_the_offline_engine_expands_and_says_so(tmp_path: Path, worker_env: Path) -> None:
    os.environ.pop("GPTIMAGE_API_KEY")  # worker_env's monkeypatch restores it
    write_job(tmp_path, "expand", {"expand": {"bottom": 40}})
    (result,) = run_worker(tmp_path)
    assert result.name == "continue the scene #1 (offline engine, MI-GAN inpainting model)"
    assert (result.width, result.height) == (W + 100, H + 140) and result.canvas == (W + 100, H + 140, 0, 0)


def test_the_plugin_refuses_a_malformed_canvas_in_a_result(tmp_path: Path) -> None:
    from jobs_samples import placed_result

    from gimp_gptimage.jobs.jobfile import Outbox

    Outbox(tmp_path).put(placed_result("x", np.zeros((2, 3, 4), np.uint8), (0, 0)), canvas=(3, 2, 0, 0))
    (ok,) = ipc.OutboxReader(tmp_path).new_results()
    assert ok.canvas == (3, 2, 0, 0)
    message = tmp_path / "outbox" / "0000.json"
    raw = json.loads(message.read_text())
    (tmp_path / "outbox" / "0001.json").write_text(json.dumps({**raw, "canvas": [0, 2, 0, 0]}))
    with pytest.raises(ipc.JobError, match="unreadable result"):
        ipc.OutboxReader(tmp_path).new_results()


def test_fewer_images_than_asked_is_the_note_the_plugin_shows(
    tmp_path: Path, server: LocalServer, worker_env: Path
) -> None:
    from gimp_gptimage.server import Fault

    server.faults.add(Fault("fewer"))  # the only window answers with 1 of the 2 images
    write_job(tmp_path, "expand", {"n": 2, "base_url": server.base_url, "expand": {"right": 40}})
    (result,) = run_worker(tmp_path)
    assert result.canvas == (W + 140, H + 100, 0, 0)
    assert ipc.read_done(tmp_path) == {"ok": True, "note": "1 of 2 images arrived"}
