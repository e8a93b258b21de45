"""Where "Insert" sends a result. In GIMP: an outbox message in the job folder, which the plug-in turns
into a new layer with a layer mask while the dialog stays open. Standalone: a composited PNG on disk.
Both write off the GUI thread (a region can be tens of megabytes)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from gimp_gptimage.jobs.jobfile import Outbox
from gimp_gptimage.jobs.run import JobResult

from .source import EditSource


class InsertTarget(Protocol):
    async def insert(self, result: JobResult, batch_left: int = 0) -> str:
        """Place the result; return one line saying where it went. `batch_left` counts the results of the same
        click still to come (one undo step in GIMP for "Insert all")."""
        ...


class JobFolderTarget:
    """Writes outbox/NNNN.{rgba,mask,json} for the plug-in (see docs/architecture.md, "Job folder")."""

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = Path(job_dir)
        self._outbox: Outbox | None = None
        self._lock = asyncio.Lock()  # keeps message numbers in click order

    async def insert(self, result: JobResult, batch_left: int = 0) -> str:
        async with self._lock:
            if self._outbox is None:
                self._outbox = await asyncio.to_thread(Outbox, self.job_dir)
            await asyncio.to_thread(self._outbox.put, result, batch_left)
        return result.name


def _safe_stem(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-.") or "image"


class FolderTarget:
    """Standalone use: saves the layer with the result composited in, as PNG, into `folder`."""

    def __init__(self, folder: Path, source: EditSource) -> None:
        self.folder = Path(folder)
        self.source = source

    def _next_path(self, index: int) -> Path:
        stem = _safe_stem(Path(self.source.image_name).stem)
        n = 1
        while True:
            path = self.folder / f"{stem}-gptimage-{index + 1}{'' if n == 1 else f'-{n}'}.png"
            if not path.exists():
                return path
            n += 1

    def _write(self, result: JobResult) -> Path:
        # The whole layer with the result blended in through its mask (the pipeline's own compositing).
        layer = self.source.layer_rgba
        pixels = result.placed.pixels if layer is None else result.placed.composite(layer)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._next_path(result.index)
        tmp = path.with_name(path.name + ".tmp")
        Image.fromarray(np.ascontiguousarray(pixels), "RGBA").save(tmp, format="PNG", compress_level=3)
        tmp.replace(path)
        return path

    async def insert(self, result: JobResult, batch_left: int = 0) -> str:
        path = await asyncio.to_thread(self._write, result)
        return str(path)
