"""Helpers for the dialog tests (the fixtures live in qt_fixtures.py, loaded with pytest_plugins)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import qasync
from conftest import TempHome

from gimp_gptimage.history import HistoryStore
from gimp_gptimage.keystore import Backend, local_backend
from gimp_gptimage.server import LocalServer
from gimp_gptimage.settings import SettingsStore
from qt_ui.dialog import GptImageDialog
from qt_ui.insert import JobFolderTarget
from qt_ui.source import source_from_job

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LAYER_W, LAYER_H = 640, 480
SELECTION_BOX = (200, 150, 440, 330)  # x0, y0, x1, y1 in layer pixels
LAYER_OFFSET = (30, 20)


def qrun(loop: qasync.QEventLoop, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


async def until(condition: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> None:
    """Let the event loop run until condition() is true (polling every 10 ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.01)


def photo_like(width: int = LAYER_W, height: int = LAYER_H) -> np.ndarray:
    """A smooth gradient with a few shapes: enough structure for inpainting and colour match."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[..., 0] = (80 + 120 * x / width).astype(np.uint8)
    rgba[..., 1] = (120 + 80 * y / height).astype(np.uint8)
    rgba[..., 2] = (200 - 100 * x / width).astype(np.uint8)
    rgba[..., 3] = 255
    cy, cx = height * 0.55, width * 0.5
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (min(width, height) * 0.12) ** 2
    rgba[disc, :3] = (230, 200, 40)
    return rgba


def write_job(folder: Path, *, command: str = "edit", prompt: str = "", references: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    layer = photo_like()
    (folder / "layer.rgba").write_bytes(layer.tobytes())
    selection = np.zeros((LAYER_H, LAYER_W), np.uint8)
    x0, y0, x1, y1 = SELECTION_BOX
    selection[y0:y1, x0:x1] = 255
    (folder / "selection.gray").write_bytes(selection.tobytes())
    refs = []
    for i in range(references):
        ref = photo_like(160, 120)
        ref[..., :3] = 255 - ref[..., :3]
        (folder / f"ref-{i + 1}.rgba").write_bytes(ref.tobytes())
        refs.append({"name": f"Reference {i + 1}", "file": f"ref-{i + 1}.rgba", "width": 160, "height": 120})
    job = {
        "version": 1,
        "command": command,
        "interactive": True,
        "image": {"name": "photo.xcf", "width": 800, "height": 600, "base_type": "rgb"},
        "layer": {
            "name": "Background",
            "file": "layer.rgba",
            "width": LAYER_W,
            "height": LAYER_H,
            "offset_x": LAYER_OFFSET[0],
            "offset_y": LAYER_OFFSET[1],
        },
        "selection": {"file": "selection.gray"},
        "references": refs,
        "params": {"prompt": prompt, "n": 1, "model": "", "size": "", "quality": "", "base_url": ""},
    }
    if command == "generate":
        job.update(layer=None, selection=None, references=[])
    if command == "fuse":  # as the plug-in sends it: layers, no selection
        job.update(selection=None)
    (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
    return folder


def make_dialog(
    job: Path, home: TempHome, server: LocalServer | None = None, *, show: bool = True, backend: Backend | None = None
) -> GptImageDialog:
    """The dialog on `job`, talking to `server` as the embedded offline engine (or to `backend` if given)."""
    dialog = GptImageDialog(
        source_from_job(job),
        JobFolderTarget(job),
        SettingsStore(home.settings_dir),
        HistoryStore(home.data / "history"),
        backend=backend or (local_backend(server.base_url) if server is not None else None),
    )
    if show:
        dialog.show()
    return dialog
