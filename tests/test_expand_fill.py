"""Expand Canvas pre-fill: MI-GAN window by window outward from the picture, OpenCV when the model is unusable."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pipeline_helpers import photo_layer

from gimp_gptimage import migan
from gimp_gptimage.pipeline.expand_fill import (
    MAX_FILL_RUNS,
    MODEL_EDGE,
    default_fill,
    fill_windows,
    new_area,
    opencv_fill,
    prefill_canvas,
    tiled,
)
from gimp_gptimage.pipeline.expand_plan import plan_canvas
from gimp_gptimage.pipeline.region import Rect
from gimp_gptimage.server import migan_session as session_module
from gimp_gptimage.server.migan_session import MiganSession


class Recorder:
    """A fill that paints each call's hole in a colour of its own and remembers what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        self.calls.append((rgb.copy(), hole.copy()))
        out = rgb.copy()
        out[hole] = (len(self.calls), 0, 255)
        return out


@pytest.mark.parametrize(
    ("size", "sides"),
    [((1500, 1000), (0, 0, 700, 0)), ((1200, 900), (300, 200, 300, 200)), ((900, 2000), (0, 900, 37, 5))],
)
def test_tiled_fill_paints_every_new_pixel_once_from_known_context(size: tuple[int, int], sides: tuple) -> None:
    picture = photo_layer(*size, seed=7)
    plan = plan_canvas(*size, sides=sides)
    fill = Recorder()
    canvas = prefill_canvas(picture, plan, tiled(fill))
    p, new = plan.picture, new_area(plan) > 0
    assert np.array_equal(canvas[p.y : p.y + p.h, p.x : p.x + p.w], picture)
    # Every new pixel painted (runs on large windows are scaled, so paint meets picture in a soft edge).
    assert (canvas[new][:, 2] >= 128).mean() > 0.99 and canvas[new][:, 2].mean() > 250
    assert 2 <= len(fill.calls) <= MAX_FILL_RUNS
    for rgb, hole in fill.calls:
        # Each run is about the model's size, and at least a quarter of it is known (picture or earlier runs).
        assert max(hole.shape) <= MODEL_EDGE and rgb.shape[:2] == hole.shape
        assert (~hole).mean() >= 0.25, (~hole).mean()
    # Later runs continue from earlier ones: some run sees another run's paint as known context.
    assert any(((rgb[:, :, 2] == 255) & (rgb[:, :, 0] >= 1) & ~hole).any() for rgb, hole in fill.calls[1:])


def test_small_canvases_and_holes_of_other_shapes_get_one_run() -> None:
    fill = Recorder()
    rgb = np.zeros((400, 600, 3), np.uint8)
    frame = np.ones((400, 600), bool)
    frame[50:350, 60:540] = False
    tiled(fill)(rgb, frame)
    blob = np.zeros((1400, 2000), bool)
    blob[100:300, 100:900] = True
    tiled(fill)(np.zeros((1400, 2000, 3), np.uint8), blob)  # an object's hole, not an expansion
    assert len(fill.calls) == 2


def test_large_canvases_get_larger_windows_not_more_runs() -> None:
    windows = fill_windows(Rect(720, 480, 4560, 3040), 6000, 4000, MODEL_EDGE, MAX_FILL_RUNS)
    assert len(windows) <= MAX_FILL_RUNS
    assert all(w.w > MODEL_EDGE for w, _ in windows)
    covered = np.zeros((4000, 6000), bool)
    covered[480:3520, 720:5280] = True
    for w, strip in windows:
        x0, y0 = max(w.x, strip.x), max(w.y, strip.y)
        x1, y1 = min(w.x + w.w, strip.x + strip.w), min(w.y + w.h, strip.y + strip.h)
        covered[y0:y1, x0:x1] = True
    assert covered.all(), "the windows paint the whole new area"


def test_the_default_fill_is_the_shared_migan_session(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    original = MiganSession.run

    def counted(self: MiganSession, rgb: np.ndarray, keep: np.ndarray) -> np.ndarray:
        runs.append(rgb.shape)
        return original(self, rgb, keep)

    monkeypatch.setattr(MiganSession, "run", counted)
    picture = photo_layer(900, 600, seed=8)
    plan = plan_canvas(900, 600, sides=(0, 0, 500, 0))
    fill = default_fill()
    assert fill is not opencv_fill
    canvas = prefill_canvas(picture, plan, fill)
    assert len(runs) >= 2, "a 1400 px canvas is filled in windows"
    band = canvas[:, 900:, :3].astype(np.float32)
    assert band.std(axis=(0, 1)).min() > 5  # not a flat border
    assert np.array_equal(canvas[:, :900], picture)


@pytest.fixture
def damaged_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as if it had never loaded the model, with a damaged model file."""
    monkeypatch.setattr(session_module, "_shared", None)
    monkeypatch.setattr(migan, "_load_outcome", None)
    damaged = tmp_path / "migan_pipeline_v2.onnx"
    shutil.copy(migan.MODEL_FILE, damaged)
    with damaged.open("r+b") as stream:
        stream.seek(1_000_000)
        stream.write(b"\x00" * 64)
    monkeypatch.setattr(migan, "MODEL_FILE", damaged)
    migan._installation_problem.cache_clear()
    yield
    migan._installation_problem.cache_clear()


def test_without_the_model_the_fill_is_opencv_and_says_so_once(
    damaged_model: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gimp_gptimage.server"):
        fills = [default_fill(), default_fill()]
    assert fills == [opencv_fill, opencv_fill]
    assert [r.getMessage() for r in caplog.records] == [migan.fallback_notice()]
