"""The same edit through the CLI, the dialog and the batch worker lands the same pixels with the same mask.

All three read the same (default) settings and talk to the same loopback server as the same provider (a
custom base URL: the embedded engine's own provider takes another mask); the offline engine is
deterministic, so any difference is a difference in how a front end turns settings into context options.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from PIL import Image
from qt_helpers import LAYER_H, LAYER_OFFSET, LAYER_W, make_dialog, photo_like, qrun, until, write_job

from gimp_gptimage.cli.main import main as cli_main
from gimp_gptimage.jobs import headless
from gimp_gptimage.keystore import resolve_backend
from gimp_gptimage.pipeline import PasteResult, Rect
from gimp_gptimage.server import LocalServer
from gimp_gptimage.settings import Settings

pytest_plugins = ["qt_fixtures"]

PROMPT = "remove the yellow disc"
T = TypeVar("T")


def irregular_selection() -> np.ndarray:
    """An ellipse plus a thin stroke: a soft edge reaching outside would change pixels next to both."""
    y, x = np.mgrid[0:LAYER_H, 0:LAYER_W]
    inside = ((x - 320) / 90) ** 2 + ((y - 260) / 60) ** 2 <= 1.0
    selection = np.where(inside, 255, 0).astype(np.uint8)
    selection[150:154, 200:460] = 255
    return selection


def outbox_placement(job_dir: Path) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The one outbox message's pixels, mask and offset in layer pixels."""
    (message,) = [json.loads(p.read_text()) for p in sorted((job_dir / "outbox").glob("*.json"))]
    h, w = message["height"], message["width"]
    pixels = np.fromfile(job_dir / "outbox" / message["pixels"], np.uint8).reshape(h, w, 4)
    mask = np.fromfile(job_dir / "outbox" / message["mask"], np.uint8).reshape(h, w)
    return pixels, mask, (message["offset_x"] - LAYER_OFFSET[0], message["offset_y"] - LAYER_OFFSET[1])


def composite(layer: np.ndarray, pixels: np.ndarray, mask: np.ndarray, at: tuple[int, int]) -> np.ndarray:
    h, w = mask.shape
    return PasteResult(pixels, at, mask, Rect(at[0], at[1], w, h)).composite(layer)


def in_thread(func: Callable[..., T], *args: object) -> T:
    """Run a front end that owns its event loop (asyncio.run) beside the dialog's loop, as its own process would."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(func, *args).result()


@pytest.fixture
def job(tmp_path: Path) -> Path:
    folder = write_job(tmp_path / "job", prompt=PROMPT)
    (folder / "selection.gray").write_bytes(irregular_selection().tobytes())
    return folder


def test_cli_dialog_and_batch_worker_paste_byte_for_byte_alike(
    qloop, qtbot, tmp_path: Path, job: Path, temp_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPTIMAGE_API_KEY", "sk-paste-alike-test-key")
    layer, selection = photo_like(), irregular_selection()
    with LocalServer() as server:
        # The dialog, as a user runs it from GIMP, then "Insert".
        backend = resolve_backend(Settings(), None, server.base_url)  # as the batch worker and the CLI resolve it
        dialog = make_dialog(job, temp_home, server, backend=backend)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            assert dialog.model.prompt == PROMPT
            dialog.model.stream = False
            dialog.run()
            await until(lambda: dialog.model.state == "done", what="the dialog's run")
            await dialog.controller.insert([0])

        qrun(qloop, scenario())
        dialog_pixels, dialog_mask, dialog_at = outbox_placement(job)

        # The batch worker on the same job folder (GIMP's scripted call).
        batch = tmp_path / "batch"
        batch.mkdir()
        spec = json.loads((job / "job.json").read_text())
        spec["interactive"] = False
        spec["params"]["base_url"] = server.base_url
        (batch / "job.json").write_text(json.dumps(spec))
        for name in ("layer.rgba", "selection.gray"):
            (batch / name).write_bytes((job / name).read_bytes())
        assert in_thread(headless.run, batch), (batch / "done.json").read_text()
        batch_pixels, batch_mask, batch_at = outbox_placement(batch)

        # The CLI on the same pixels as files.
        Image.fromarray(layer, "RGBA").save(tmp_path / "photo.png")
        Image.fromarray(selection, "L").save(tmp_path / "selection.png")
        out = tmp_path / "out"
        argv = ["edit", str(tmp_path / "photo.png"), "--selection", str(tmp_path / "selection.png")]
        argv += ["--prompt", PROMPT, "--base-url", server.base_url, "--out", str(out)]
        assert in_thread(cli_main, argv) == 0
        cli_image = np.asarray(Image.open(out / "photo-1.png").convert("RGBA"))

    assert dialog_at == batch_at
    assert dialog_mask.tobytes() == batch_mask.tobytes()
    assert dialog_pixels.tobytes() == batch_pixels.tobytes()
    assert cli_image.tobytes() == composite(layer, batch_pixels, batch_mask, batch_at).tobytes()
    # And what they all paste keeps the README's promise: not one unselected pixel changed.
    h, w = dialog_mask.shape
    x, y = dialog_at
    assert not dialog_mask[selection[y : y + h, x : x + w] == 0].any()
    assert np.array_equal(cli_image[selection == 0], layer[selection == 0])
    assert not np.array_equal(cli_image[selection == 255], layer[selection == 255])
