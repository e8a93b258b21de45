"""Where "Insert" sends a result. In GIMP: an outbox message in the job folder, which the plug-in turns
into a new layer with a layer mask while the dialog stays open. Standalone: a composited PNG on disk.
Both write off the GUI thread (a region can be tens of megabytes)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from gimp_gptimage.jobs.jobfile import Outbox
from gimp_gptimage.pipeline import PasteResult, Rect

from .source import EditSource


@dataclass(frozen=True)
class InsertItem:
    """One result ready to place: region pixels, canvas offset and the paste-back mask."""

    index: int
    name: str
    pixels: np.ndarray  # (h, w, 4) uint8
    offset: tuple[int, int]  # canvas position of pixels[0, 0]
    mask: np.ndarray | None  # (h, w) uint8; None: no layer mask
    history_id: str | None = None
    batch_left: int = 0  # items of the same click still to come (one undo step in GIMP for "Insert all")


class InsertTarget(Protocol):
    async def insert(self, item: InsertItem) -> str:
        """Place the result; return one line saying where it went."""
        ...


class JobFolderTarget:
    """Writes outbox/NNNN.{rgba,mask,json} for the plug-in (see docs/architecture.md, "Job folder")."""

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = Path(job_dir)
        self._outbox: Outbox | None = None
        self._lock = asyncio.Lock()  # keeps message numbers in click order

    async def insert(self, item: InsertItem) -> str:
        async with self._lock:
            if self._outbox is None:
                self._outbox = await asyncio.to_thread(Outbox, self.job_dir)
            outbox = self._outbox
            await asyncio.to_thread(
                outbox.put, item.name, item.pixels, item.offset, item.mask, item.history_id, item.batch_left
            )
        return item.name


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

    def _write(self, item: InsertItem) -> Path:
        pixels = self._composited(item)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._next_path(item.index)
        tmp = path.with_name(path.name + ".tmp")
        Image.fromarray(np.ascontiguousarray(pixels), "RGBA").save(tmp, format="PNG", compress_level=3)
        tmp.replace(path)
        return path

    def _composited(self, item: InsertItem) -> np.ndarray:
        """The whole layer with the result blended in through its mask (the pipeline's own compositing)."""
        layer = self.source.layer_rgba
        if layer is None:
            return item.pixels
        h, w = item.pixels.shape[:2]
        x = item.offset[0] - self.source.layer_offset[0]
        y = item.offset[1] - self.source.layer_offset[1]
        alpha = item.mask if item.mask is not None else np.full((h, w), 255, np.uint8)
        return PasteResult(pixels=item.pixels, offset=item.offset, alpha=alpha, region=Rect(x, y, w, h)).composite(
            layer
        )

    async def insert(self, item: InsertItem) -> str:
        path = await asyncio.to_thread(self._write, item)
        return str(path)
