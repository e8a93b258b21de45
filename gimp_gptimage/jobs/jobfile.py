"""Worker side of the job folder protocol (docs/architecture.md, "Job folder").

The plug-in writes job.json plus raw pixel files; the worker reads them here (pixels as read-only numpy
memmaps, so a 6000 x 4000 layer costs no copy) and answers through outbox messages, progress.json and
done.json. Every message is written to a temporary name and renamed, so the plug-in never reads half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED_VERSION = 1
COMMANDS = ("edit", "generate", "fuse")


class JobFileError(ValueError):
    """job.json or one of its files is missing or malformed."""


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
    pixels: np.ndarray  # (height, width, 4) uint8, read-only

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


def load_job(job_dir: Path) -> Job:
    job_dir = Path(job_dir)
    try:
        raw = json.loads((job_dir / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JobFileError(f"Cannot read the job file in {job_dir}: {exc}") from exc
    try:
        return _parse(job_dir, raw)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, JobFileError):
            raise
        raise JobFileError(f"The job file in {job_dir} is malformed: {exc!r}") from exc


def _parse(job_dir: Path, raw: dict) -> Job:
    if raw.get("version") != SUPPORTED_VERSION:
        raise JobFileError(
            f"Job format version {raw.get('version')!r} is not supported (expected {SUPPORTED_VERSION}): "
            "reinstall the plug-in with 'gimp-gptimage install'."
        )
    command = raw["command"]
    if command not in COMMANDS:
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
    if command in ("edit", "fuse") and layer is None:
        raise JobFileError(f"A {command} job needs a layer.")
    p = raw["params"]
    params = JobParams(
        prompt=str(p.get("prompt", "")),
        n=int(p.get("n", 1)),
        model=str(p.get("model", "")),
        size=str(p.get("size", "")),
        quality=str(p.get("quality", "")),
        base_url=str(p.get("base_url", "")),
    )
    return Job(job_dir, command, bool(raw.get("interactive")), image, layer, selection, references, params)


def _layer(job_dir: Path, entry: dict) -> LayerData:
    width, height = int(entry["width"]), int(entry["height"])
    pixels = _memmap(job_dir / entry["file"], (height, width, 4))
    return LayerData(
        str(entry.get("name", "")),
        width,
        height,
        int(entry.get("offset_x", 0)),
        int(entry.get("offset_y", 0)),
        pixels,
    )


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
        self.dir = Path(job_dir) / "outbox"
        self.dir.mkdir(exist_ok=True)
        existing = [int(n[:-5]) for n in os.listdir(self.dir) if n.endswith(".json") and n[:-5].isdigit()]
        self._next = max(existing, default=-1) + 1

    def put(
        self,
        name: str,
        pixels: np.ndarray,
        offset: tuple[int, int],
        mask: np.ndarray | None = None,
        history_id: str | None = None,
    ) -> Path:
        """Write one result for the plug-in to insert; pixels (h, w, 4) uint8, mask (h, w) uint8."""
        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        if pixels.ndim != 3 or pixels.shape[2] != 4:
            raise ValueError(f"result pixels must be (h, w, 4), got {pixels.shape}")
        height, width = pixels.shape[:2]
        stem = f"{self._next:04d}"
        self._next += 1
        _write_atomic(self.dir / f"{stem}.rgba", pixels.tobytes())
        mask_name = None
        if mask is not None:
            mask = np.ascontiguousarray(mask, dtype=np.uint8)
            if mask.shape != (height, width):
                raise ValueError(f"mask shape {mask.shape} does not match pixels {(height, width)}")
            mask_name = f"{stem}.mask"
            _write_atomic(self.dir / mask_name, mask.tobytes())
        message = {
            "name": name,
            "width": width,
            "height": height,
            "offset_x": int(offset[0]),
            "offset_y": int(offset[1]),
            "pixels": f"{stem}.rgba",
            "mask": mask_name,
            "history_id": history_id,
        }
        path = self.dir / f"{stem}.json"
        _write_atomic(path, json.dumps(message).encode("utf-8"))
        return path


def write_progress(job_dir: Path, stage: str, fraction: float | None = None, text: str = "") -> None:
    payload = {"stage": stage, "fraction": fraction, "text": text}
    _write_atomic(Path(job_dir) / "progress.json", json.dumps(payload).encode("utf-8"))


def write_done(job_dir: Path, error: str | None = None) -> None:
    """The last message of a job: success, or one line for the user."""
    payload = {"ok": True} if error is None else {"ok": False, "error": error}
    _write_atomic(Path(job_dir) / "done.json", json.dumps(payload).encode("utf-8"))


def is_done(job_dir: Path) -> bool:
    return (Path(job_dir) / "done.json").exists()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
