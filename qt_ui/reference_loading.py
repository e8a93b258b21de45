"""Turns the plug-in's layers and the files a painter adds into the model's references: decoded and
thumbnailed off the GUI thread, listed in the order given (the first weigh most)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from gimp_gptimage.api.errors import explain
from gimp_gptimage.image_files import load_rgba

from .images import array_thumbnail, to_qimage
from .model import DialogModel, Reference
from .tasks import TaskBag

THUMBNAIL_PX = 144


class ReferenceLoader:
    def __init__(self, model: DialogModel, bag: TaskBag) -> None:
        self.model = model
        self.bag = bag

    async def add_layers(self, layers: list[tuple[str, np.ndarray]]) -> None:
        """The job's layers, thumbnailed in parallel but listed in the plug-in's order; all of them, even
        beyond the limit (the painter then sees the rule and chooses what to drop)."""
        raws = await asyncio.gather(*(asyncio.to_thread(array_thumbnail, rgba, THUMBNAIL_PX) for _, rgba in layers))
        for (name, rgba), raw in zip(layers, raws, strict=True):
            self.model.add_reference(Reference(name, rgba, to_qimage(raw)), over_limit=True)

    def add_paths(self, paths: list[Path]) -> None:
        self.bag.spawn(self._add_in_order(paths))

    async def _add_in_order(self, paths: list[Path]) -> None:
        for path in paths:  # one after another: the order chosen is the order of weight
            await self.add_path(path)

    async def add_path(self, path: Path) -> None:
        try:
            rgba = await asyncio.to_thread(load_rgba, path, "reference image")
        except Exception as exc:
            self.model.error = explain(exc)
            return
        if not self.model.can_add_reference():
            return
        raw = await asyncio.to_thread(array_thumbnail, rgba, THUMBNAIL_PX)
        self.model.add_reference(Reference(path.name, rgba, to_qimage(raw), str(path)))
