"""The job folder protocol written once (docs/architecture.md, "Job folder"): file names, the version check
and the atomic writers, shared by the plug-in (gptimage_ipc), the worker (gimp_gptimage/jobs/jobfile.py) and
the test worker (tests/gimp_fake_worker.py), so the sides cannot drift apart.

Standard library only and no imports of the plug-in's other modules: the worker imports it as
gimp_gptimage.plugin.gptimage.gptimage_protocol, GIMP's Python as a plain module beside gptimage.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PROTOCOL_VERSION = 1
COMMANDS = ("edit", "generate", "fuse", "expand")
JOB_FILE = "job.json"  # written last by the plug-in
OUTBOX_DIR = "outbox"
PROGRESS_FILE = "progress.json"
DONE_FILE = "done.json"  # the worker's last word
FULL_LAYER_REQUEST = "need-full-layer"  # the worker touches this when its context leaves the window
FULL_LAYER_READY = "full-layer.json"


def version_problem(job: dict) -> str | None:
    """Why a job.json of another protocol version cannot be run (one line for the user), or None."""
    version = job.get("version")
    if version == PROTOCOL_VERSION:
        return None
    return (
        f"Job format version {version!r} is not supported (expected {PROTOCOL_VERSION}): "
        "reinstall the plug-in with 'gimp-gptimage install'."
    )


def write_atomic(path: Path, data: bytes | memoryview) -> None:
    """Write to a temporary name, then rename: the other side never reads half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json_atomic(path: Path, obj: object) -> None:
    write_atomic(path, json.dumps(obj).encode("utf-8"))


def next_outbox_number(job_dir: Path) -> int:
    """The number after the last message in the outbox (0 for an empty one)."""
    try:
        names = os.listdir(job_dir / OUTBOX_DIR)
    except FileNotFoundError:
        return 0
    return max((int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit()), default=-1) + 1


def write_outbox_result(
    job_dir: Path,
    number: int,
    *,
    name: str,
    width: int,
    height: int,
    offset: tuple[int, int],
    pixels: bytes | memoryview,
    mask: bytes | memoryview | None = None,
    history_id: str | None = None,
    batch_left: int = 0,
    canvas: tuple[int, int, int, int] | None = None,
) -> Path:
    """The worker's side of one outbox message: NNNN.rgba and NNNN.mask, then NNNN.json, which the plug-in
    reads as the sign that the result is complete (see OutboxReader).

    `batch_left` counts the results still to come that belong to the same user action: the plug-in keeps
    one undo group open until it reaches 0, so a run undoes in one step without swallowing the user's own
    edits made in GIMP while the dialog stays open. `canvas` (width, height, x, y): resize the image to
    width x height with its old content at (x, y) before inserting (Expand Canvas), in the same undo step."""
    outbox = job_dir / OUTBOX_DIR
    outbox.mkdir(exist_ok=True)
    stem = f"{number:04d}"
    write_atomic(outbox / f"{stem}.rgba", pixels)
    if mask is not None:
        write_atomic(outbox / f"{stem}.mask", mask)
    message: dict[str, object] = {
        "name": name,
        "width": width,
        "height": height,
        "offset_x": int(offset[0]),
        "offset_y": int(offset[1]),
        "pixels": f"{stem}.rgba",
        "mask": f"{stem}.mask" if mask is not None else None,
        "history_id": history_id,
        "batch_left": max(0, int(batch_left)),
    }
    if canvas is not None:
        message["canvas"] = [int(v) for v in canvas]
    path = outbox / f"{stem}.json"
    write_json_atomic(path, message)
    return path


def write_progress(job_dir: Path, stage: str, fraction: float | None = None, text: str = "") -> None:
    write_json_atomic(job_dir / PROGRESS_FILE, {"stage": stage, "fraction": fraction, "text": text})


def write_done(job_dir: Path, error: str | None = None, *, note: str | None = None) -> None:
    """The worker's last message: success (with a `note` for the user, if any), or one line for the user."""
    payload: dict[str, object] = {"ok": True} if error is None else {"ok": False, "error": error}
    if note:
        payload["note"] = note
    write_json_atomic(job_dir / DONE_FILE, payload)
