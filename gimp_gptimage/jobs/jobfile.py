"""Worker side of the job folder protocol (docs/architecture.md, "Job folder").

The plug-in writes job.json plus raw pixel files; the worker reads them here (pixels as read-only numpy
memmaps, so a 6000 x 4000 layer costs no copy) and answers through outbox messages, progress.json and
done.json. The protocol's names, version check and atomic writers are the plug-in's own (gptimage_protocol,
standard library only), imported rather than copied.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..plugin.gptimage import gptimage_protocol as ipc
from ..plugin.gptimage.gptimage_protocol import write_done, write_progress

if TYPE_CHECKING:
    from .run import JobResult

__all__ = ["Job", "JobFileError", "Outbox", "OutsideWindow", "is_done", "load_job", "write_done", "write_progress"]


class JobFileError(ValueError):
    """job.json or one of its files is missing or malformed."""


class OutsideWindow(LookupError):
    """Pixels outside the part of the layer the plug-in exported were needed: ask for the whole layer."""


class WindowedPixels(np.ndarray):
    """A layer of which only `window` (x, y, w, h) was exported; the rest of the file reads as zero.

    Indexing with row/column slices inside the window gives plain arrays; any other read raises
    OutsideWindow, so a job never silently works on the zeros.
    """

    window: tuple[int, int, int, int]

    def __getitem__(self, key: Any) -> np.ndarray:
        if not self._inside(key):
            raise OutsideWindow(f"pixels {key!r} lie outside the exported window {self.window}")
        return np.ndarray.__getitem__(self.view(np.ndarray), key)

    def _inside(self, key: object) -> bool:
        keys = key if isinstance(key, tuple) else (key,)
        if len(keys) < 2 or not all(isinstance(k, slice) and k.step in (None, 1) for k in keys[:2]):
            return False
        x, y, w, h = self.window
        (top, bottom, _), (left, right, _) = keys[0].indices(self.shape[0]), keys[1].indices(self.shape[1])
        return y <= top and bottom <= y + h and x <= left and right <= x + w

    def __array_ufunc__(self, *args: object, **kwargs: object) -> object:
        raise OutsideWindow("a whole-layer operation needs the whole layer")


@dataclass(frozen=True)
class ImageInfo:
    name: str
    width: int
    height: int
    base_type: str  # "rgb" | "gray"


@dataclass(frozen=True)
class LayerData:
    name: str
    width: int
    height: int
    offset_x: int
    offset_y: int
    pixels: np.ndarray  # (height, width, 4) uint8, read-only; WindowedPixels when only a window was exported
    window: tuple[int, int, int, int] | None = None  # (x, y, w, h) in layer pixels, None = whole layer

    @property
    def offset(self) -> tuple[int, int]:
        return self.offset_x, self.offset_y


@dataclass(frozen=True)
class JobParams:
    """Empty strings mean "use the configured default"."""

    prompt: str
    n: int
    model: str
    size: str
    quality: str
    base_url: str
    # Expand Canvas only: aspect ("16:9"), canvas_size ("WxH"), left/top/right/bottom px, anchor; empty = none.
    expand: dict[str, str | int] = field(default_factory=dict)
    complexity: str = ""


@dataclass(frozen=True)
class Job:
    dir: Path
    command: str
    interactive: bool
    image: ImageInfo
    layer: LayerData | None
    selection: np.ndarray | None  # (layer height, layer width) uint8 coverage, read-only
    references: list[LayerData]
    params: JobParams
    parent_window: ParentWindow | None = None
    # The markup layer's pixels over the source layer's extent (layer coordinates), when the image has one.
    markup: LayerData | None = None


@dataclass(frozen=True)
class ParentWindow:
    """The GIMP image window the dialog was started from (plugin: gptimage_ipc.describe_window_handle)."""

    system: str  # "x11" | "windows" | "macos" | "wayland"
    handle: int | str


def _parent_window(entry: object) -> ParentWindow | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("handle"), (int, str)):
        return None
    return ParentWindow(str(entry.get("system", "")), entry["handle"])


def load_job(job_dir: Path) -> Job:
    job_dir = Path(job_dir)
    try:
        raw = json.loads((job_dir / ipc.JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JobFileError(f"Cannot read the job file in {job_dir}: {exc}") from exc
    try:
        return _parse(job_dir, raw)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, JobFileError):
            raise
        raise JobFileError(f"The job file in {job_dir} is malformed: {exc!r}") from exc


def _parse(job_dir: Path, raw: dict) -> Job:
    problem = ipc.version_problem(raw)
    if problem is not None:
        raise JobFileError(problem)
    command = raw["command"]
    if command not in ipc.COMMANDS:
        raise JobFileError(f"Unknown job command {command!r}.")
    img = raw["image"]
    image = ImageInfo(str(img["name"]), int(img["width"]), int(img["height"]), str(img["base_type"]))
    layer = _layer(job_dir, raw["layer"]) if raw.get("layer") else None
    selection = None
    if raw.get("selection"):
        if layer is None:
            raise JobFileError("The job has a selection but no layer.")
        selection = _memmap(job_dir / raw["selection"]["file"], (layer.height, layer.width))
    references = [_layer(job_dir, ref) for ref in raw.get("references") or []]
    if command in ("edit", "fuse", "expand") and layer is None:
        raise JobFileError(f"A {command} job needs a layer.")
    p = raw["params"]
    params = JobParams(
        prompt=str(p.get("prompt", "")),
        n=int(p.get("n", 1)),
        model=str(p.get("model", "")),
        size=str(p.get("size", "")),
        quality=str(p.get("quality", "")),
        base_url=str(p.get("base_url", "")),
        expand=_expand_params(p.get("expand") or {}),
        complexity=str(p.get("complexity", "")),
    )
    markup = _layer(job_dir, raw["markup"]) if raw.get("markup") else None
    if markup is not None and (layer is None or (markup.width, markup.height) != (layer.width, layer.height)):
        raise JobFileError("The job's markup does not cover the layer it annotates.")
    return Job(
        job_dir,
        command,
        bool(raw.get("interactive")),
        image,
        layer,
        selection,
        references,
        params,
        _parent_window(raw.get("parent_window")),
        markup,
    )


def _expand_params(raw: dict) -> dict[str, str | int]:
    out: dict[str, str | int] = {k: str(raw.get(k) or "") for k in ("aspect", "canvas_size", "anchor")}
    out.update({k: int(raw.get(k) or 0) for k in ("left", "top", "right", "bottom")})
    return out


def _layer(job_dir: Path, entry: dict) -> LayerData:
    width, height = int(entry["width"]), int(entry["height"])
    pixels = _memmap(job_dir / entry["file"], (height, width, 4))
    window = None
    if entry.get("window") and not (job_dir / ipc.FULL_LAYER_READY).exists():
        x, y, w, h = (int(v) for v in entry["window"])
        window = (x, y, w, h)
        pixels = pixels.view(WindowedPixels)
        pixels.window = window
    return LayerData(
        str(entry.get("name", "")),
        width,
        height,
        int(entry.get("offset_x", 0)),
        int(entry.get("offset_y", 0)),
        pixels,
        window,
    )


def request_full_layer(job_dir: Path, timeout: float = 600.0) -> None:
    """Ask the plug-in to export the whole layer (the job had only a window of it) and wait until it has.

    Raises JobFileError with the plug-in's reason if it cannot (the image was closed, say).
    """
    job_dir = Path(job_dir)
    ready = job_dir / ipc.FULL_LAYER_READY
    (job_dir / ipc.FULL_LAYER_REQUEST).touch()
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if time.monotonic() > deadline:
            raise JobFileError("GIMP did not send the whole layer in time.")
        time.sleep(0.01)
    answer = json.loads(ready.read_text(encoding="utf-8"))
    if not answer.get("ok"):
        raise JobFileError(str(answer.get("error") or "GIMP could not send the whole layer."))


def _memmap(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    expected = int(np.prod(shape))
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise JobFileError(f"Missing job file {path.name}: {exc}") from exc
    if size != expected:
        raise JobFileError(f"{path.name} holds {size} bytes; expected {expected} for shape {shape}.")
    if expected == 0:
        return np.zeros(shape, np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r", shape=shape)


class Outbox:
    """Numbered result messages (NNNN.rgba, NNNN.mask, then NNNN.json), continuing any existing numbering."""

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = Path(job_dir)
        self._next = ipc.next_outbox_number(self.job_dir)

    def put(self, result: JobResult, batch_left: int = 0, *, canvas: tuple[int, int, int, int] | None = None) -> Path:
        """Write one result for the plug-in to insert as a layer (its alpha, if any, as the layer mask);
        `batch_left` counts the results of the same user action still to come (one undo step in GIMP).
        `canvas` (width, height, x, y): resize the image to width x height with its old content at (x, y)
        before inserting (Expand Canvas), in the same undo step."""
        placed = result.placed
        pixels = np.ascontiguousarray(placed.pixels, dtype=np.uint8)
        if pixels.ndim != 3 or pixels.shape[2] != 4:
            raise ValueError(f"result pixels must be (h, w, 4), got {pixels.shape}")
        height, width = pixels.shape[:2]
        mask = None
        if placed.alpha is not None:
            mask = np.ascontiguousarray(placed.alpha, dtype=np.uint8)
            if mask.shape != (height, width):
                raise ValueError(f"mask shape {mask.shape} does not match pixels {(height, width)}")
        number, self._next = self._next, self._next + 1
        return ipc.write_outbox_result(
            self.job_dir,
            number,
            name=result.name,
            width=width,
            height=height,
            offset=placed.offset,
            pixels=pixels.data.cast("B"),  # no second full-size copy
            mask=None if mask is None else mask.data.cast("B"),
            history_id=result.history_id or None,
            batch_left=batch_left,
            canvas=canvas,
        )


def is_done(job_dir: Path) -> bool:
    return (Path(job_dir) / ipc.DONE_FILE).exists()
