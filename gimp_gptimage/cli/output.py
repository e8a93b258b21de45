"""Runs one CLI job and writes each result as it arrives: progress to stderr, file paths to stdout."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..api.client import ImagesClient
from ..api.errors import explain
from ..api.image_rules import UnreadableImage, open_image
from ..api.params import ImageParams
from ..api.timeouts import Timeouts
from ..api.types import arrival_note
from ..atomic import atomic_write_bytes
from ..cost import cost_of
from ..history import HistoryStore
from ..jobs.run import EditRequest, GenerateRequest, JobEvents, JobResult, run_edit, run_generate
from ..keystore import Backend
from ..pipeline import ContextOptions
from ..pipeline.codec import encode_png
from ..pipeline.layer_png import LayerPng
from .status import EXIT_ERROR, exit_code_for


@dataclass(frozen=True)
class EditInputs:
    layer: np.ndarray
    selection: np.ndarray | None
    references: list[np.ndarray]
    options: ContextOptions
    source_name: str
    has_alpha: bool = True  # write RGBA results; False for an RGB/gray source (its results stay RGB)
    markup: np.ndarray | None = None  # (H, W, 4) annotations over the image (2.6 models)


class CliEvents(JobEvents):
    """Prints stage changes to stderr and writes each result file the moment it is safe in history."""

    def __init__(self, out_dir: Path, stem: str, inputs: EditInputs | None, quiet_paths: bool) -> None:
        self.out_dir = out_dir
        self.stem = stem
        self.quiet_paths = quiet_paths
        self.written: list[dict[str, Any]] = []
        self._stage = ""
        # Results are PNGs of the whole source: its strips are encoded now, while the provider works, and each
        # result re-encodes only the rows it changes. Lossless, so every unselected pixel of the source (a
        # JPEG's decoded pixels too) stays bit-identical; an alpha channel only if the source had one.
        self.writer = LayerPng(inputs.layer, keep_alpha=inputs.has_alpha) if inputs is not None else None
        if self.writer is not None:
            self.writer.prefetch()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def stage(self, stage: str, fraction: float | None) -> None:
        if stage != self._stage:
            self._stage = stage
            print(f"{stage}...", file=sys.stderr, flush=True)

    def partial(self, index: int, data: bytes) -> None:
        try:
            with open_image(data, load=False) as image:  # reads the header only
                size = f" ({image.width}x{image.height})"
        except UnreadableImage:
            size = " (unreadable)"
        print(f"partial image for result {index + 1}{size}", file=sys.stderr, flush=True)

    def result(self, result: JobResult) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        placed = result.placed
        if self.writer is not None:
            pixels = self.writer.layer
            path = self.out_dir / f"{self.stem}-{result.index + 1}.png"
            atomic_write_bytes(path, self.writer.png(placed))
        elif result.history_path is not None:
            pixels = placed.pixels
            path = self.out_dir / f"{self.stem}-{result.index + 1}{result.history_path.suffix}"
            atomic_write_bytes(path, result.history_path.read_bytes())
        else:
            pixels = placed.pixels
            path = self.out_dir / f"{self.stem}-{result.index + 1}.png"
            atomic_write_bytes(path, encode_png(pixels, keep_alpha=True))
        self.written.append(
            {
                "index": result.index,
                "path": str(path),
                "width": int(pixels.shape[1]),
                "height": int(pixels.shape[0]),
                "region_offset": list(placed.offset),
                "region_size": [int(placed.pixels.shape[1]), int(placed.pixels.shape[0])],
                "history_id": result.history_id,
                "history_file": str(result.history_path) if result.history_path else None,
            }
        )
        if not self.quiet_paths:
            print(path, flush=True)


async def run_and_write(
    args: argparse.Namespace,
    params: ImageParams,
    backend: Backend,
    edit_inputs: Callable[[], EditInputs] | None,
    timeouts: Timeouts,
) -> dict[str, Any]:
    """Run the job; return the summary. A failure after some results arrived still returns them.

    `edit_inputs` (an edit's; None to generate) may wait for files still being read: it is called once the
    client is ready, in a thread."""
    history = HistoryStore()
    async with ImagesClient(
        base_url=backend.base_url, api_key=backend.api_key, provider=backend.provider, timeouts=timeouts
    ) as client:
        inputs = await asyncio.to_thread(edit_inputs) if edit_inputs is not None else None
        stem = Path(inputs.source_name).stem if inputs is not None else "generated"
        events = CliEvents(args.out, stem or "image", inputs, quiet_paths=args.json)
        summary: dict[str, Any] = {
            "ok": True,
            "command": args.command,
            "backend": {"name": backend.name, "base_url": backend.base_url, "offline": backend.is_local},
            "model": params.model,
            "requested": params.n,
            "results": events.written,
            "request_id": None,
            "usage": None,
            "cost_usd": None,
        }
        results: list[JobResult] = []
        try:
            if inputs is not None:
                request = EditRequest(
                    inputs.layer,
                    inputs.selection,
                    (0, 0),
                    inputs.references,
                    params,
                    inputs.options,
                    inputs.source_name,
                    inputs.markup,
                )
                results = await run_edit(request, client, history, events)
            else:
                results = await run_generate(GenerateRequest(params, None, ""), client, history, events)
        except Exception as exc:
            if not events.written:
                raise
            # Some results arrived and were written: report them, then the failure.
            summary.update(ok=False, error=explain(exc, backend.api_key).one_line(), exit_status=exit_code_for(exc))
        finally:
            events.close()
    summary["results"] = sorted(events.written, key=lambda item: item["index"])
    shortfall = arrival_note(len(events.written), params.n)
    if shortfall and summary["ok"]:
        # A clean answer with fewer images than asked for: what arrived is written, and the exit status says
        # the request was not fully served (as when an error ends it after some results).
        summary.update(
            ok=False,
            error=f"{shortfall}; the provider sent fewer images than asked for (those that arrived are written).",
            exit_status=EXIT_ERROR,
        )
    if results:
        summary["request_id"] = results[0].request_id
        usage = results[0].usage
        summary["usage"] = usage.to_json() if usage is not None else None
        summary["cost_usd"] = cost_of(usage, params.model, provider=backend.provider.name)
        summary["history_id"] = results[0].history_id
    elif events.written:
        summary["history_id"] = events.written[0]["history_id"]
    return summary
