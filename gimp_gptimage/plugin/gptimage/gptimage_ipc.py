"""Plug-in side of the job folder protocol (docs/architecture.md, "Job folder"); the protocol's names,
version check and writers are in gptimage_protocol, shared with the worker.

Standard library only: GIMP on Windows and Flatpak runs plug-ins with its own Python, which cannot load
numpy or PyQt6. Nothing here touches GIMP, so it is unit-tested outside GIMP.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import gptimage_diag as diag
from gptimage_protocol import (  # noqa: F401  (re-exported: the plug-in's side names them through this module)
    COMMANDS,
    DONE_FILE,
    FULL_LAYER_READY,
    FULL_LAYER_REQUEST,
    JOB_FILE,
    OUTBOX_DIR,
    PROGRESS_FILE,
    PROTOCOL_VERSION,
    version_problem,
    write_done,
    write_json_atomic,
    write_outbox_result,
    write_progress,
)

CONFIG_NAME = "gptimage_python.json"
POLL_INTERVAL_S = 0.1
WORKER_LOG = "worker.log"  # in the job folder, unless install recorded a logs folder (gptimage_keep)
JOB_PREFIX = "gptimage-job-"
DIAGNOSE_TIMEOUT_S = 45.0


class JobError(Exception):
    """A failure worth showing to the user as is (one line, no traceback)."""


@dataclass(frozen=True)
class OutboxResult:
    """One finished image from the worker, ready to become a layer."""

    index: int
    name: str
    width: int
    height: int
    offset_x: int
    offset_y: int
    pixels: bytes  # width * height * 4 bytes of R'G'B'A u8
    mask: bytes | None  # width * height bytes of coverage, or None for "fully visible"
    history_id: str | None
    batch_left: int = 0  # more results of the same run / click follow; 0 closes the undo group
    canvas: tuple[int, int, int, int] | None = None  # Expand Canvas: resize the image to (w, h), old content at (x, y)


@dataclass(frozen=True)
class Progress:
    stage: str
    fraction: float | None
    text: str


@dataclass(frozen=True)
class RawWindow:
    """A full-size raw pixel file of which only one rectangle holds data; everything else reads as zero.

    Used for the selection: outside its bounding box the coverage is zero anyway, so only the box is read
    from GIMP and written (the rest of the file is a hole).
    """

    full_width: int
    full_height: int
    channels: int
    x: int
    y: int
    width: int
    height: int
    data: bytes

    def write(self, path: Path) -> None:
        row = self.width * self.channels
        if len(self.data) != row * self.height:
            raise ValueError(f"{path.name}: {len(self.data)} bytes for a {self.width}x{self.height} window")
        with open(path, "wb") as f:
            f.truncate(self.full_width * self.full_height * self.channels)
            for i in range(self.height):
                f.seek(((self.y + i) * self.full_width + self.x) * self.channels)
                f.write(self.data[i * row : (i + 1) * row])


def worker_python(plugin_dir: Path) -> str:
    """The Python that `gimp-gptimage install` recorded next to the plug-in."""
    config = plugin_dir / CONFIG_NAME
    try:
        python = json.loads(config.read_text(encoding="utf-8"))["python"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise JobError(
            f"GPT Image is not set up ({config.name} missing or unreadable): run 'gimp-gptimage install'."
        ) from exc
    if not Path(python).exists():
        raise JobError(
            f"The Python recorded at install time no longer exists ({python}): run 'gimp-gptimage install' again."
        )
    return python


def describe_window_handle(raw: bytes, platform: str = sys.platform) -> dict | None:
    """GIMP's native window handle (GBytes) as JSON for the dialog: {"system": ..., "handle": ...}.

    libgimpwidgets' gimp_window_set_transient_for() reads it the same way: on X11 the bytes are an X
    Window id in machine order, on Windows a HWND, on Wayland a NUL-terminated xdg-foreign handle string.
    """
    if not raw:
        return None
    text = raw[:-1] if raw.endswith(b"\0") else b""
    if text and all(32 < byte < 127 for byte in text):
        return {"system": "wayland", "handle": text.decode("ascii")}
    if len(raw) not in (4, 8):
        return None
    handle = int.from_bytes(raw, sys.byteorder)
    if handle == 0:
        return None
    system = {"win32": "windows", "darwin": "macos"}.get(platform, "x11")
    return {"system": system, "handle": handle}


def create_job_dir() -> Path:
    """A private folder (mkdtemp makes it mode 0700) for one run."""
    return Path(tempfile.mkdtemp(prefix=JOB_PREFIX))


def write_job(job_dir: Path, job: dict, files: Mapping[str, bytes | RawWindow]) -> None:
    """Write the raw pixel files first and job.json last, so a reader never sees a job without its data."""
    for name, data in files.items():
        if isinstance(data, RawWindow):
            data.write(job_dir / name)
        else:
            (job_dir / name).write_bytes(data)
    (job_dir / OUTBOX_DIR).mkdir(exist_ok=True)
    write_json_atomic(job_dir / JOB_FILE, {"version": PROTOCOL_VERSION, **job})


def worker_env(parent_window: dict | None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: GIMP's, without GIMP's Python settings. When GIMP's window is an X11 one
    (GIMP on X, or on XWayland in a Wayland session) Qt is asked for xcb too, so the dialog can be made
    transient for it; a platform the user chose (QT_QPA_PLATFORM) is kept."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if k not in _PYTHON_ENV_FROM_GIMP}
    env["PYTHONUNBUFFERED"] = "1"
    if parent_window and parent_window.get("system") == "x11" and env.get("DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "xcb")
    return env


def start_worker(
    python: str, job_dir: Path, log: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Run `python -m gimp_gptimage.worker JOB_DIR` in its own process group, output into `log`
    (default: worker.log in the job folder), with `env` (default: worker_env(None))."""
    env = worker_env(None) if env is None else env
    flags = 0
    if sys.platform == "win32":
        flags = subprocess.CREATE_NO_WINDOW | subprocess.CREATE_NEW_PROCESS_GROUP
    try:
        with open(log or job_dir / WORKER_LOG, "wb") as out:
            return subprocess.Popen(
                [python, "-m", "gimp_gptimage.worker", str(job_dir)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(job_dir),
                start_new_session=sys.platform != "win32",
                creationflags=flags,
            )
    except OSError as exc:
        raise JobError(
            f"Could not start the GPT Image worker ({python}): {exc.strerror or exc}. "
            "Run 'gimp-gptimage install' again from the environment that has gimp-gptimage."
        ) from exc


def stop_worker(proc: subprocess.Popen) -> None:
    """End a worker that will get no job (the export failed), with everything it started."""
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            if sys.platform == "win32":
                proc.terminate()
            else:
                os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


# GIMP sets these for its own Python; the worker's venv Python must not inherit them.
_PYTHON_ENV_FROM_GIMP = frozenset({"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE"})


class OutboxReader:
    """Yields each outbox message once, in order, as soon as its NNNN.json has been renamed into place."""

    def __init__(self, job_dir: Path) -> None:
        self._outbox = job_dir / OUTBOX_DIR
        self._seen: set[str] = set()

    def new_results(self) -> list[OutboxResult]:
        try:
            names = sorted(n for n in os.listdir(self._outbox) if n.endswith(".json") and n[:-5].isdigit())
        except FileNotFoundError:
            return []
        results = []
        for name in names:
            if name in self._seen:
                continue
            self._seen.add(name)
            results.append(self._load(name))
        return results

    def _load(self, name: str) -> OutboxResult:
        try:
            msg = json.loads((self._outbox / name).read_text(encoding="utf-8"))
            width, height = int(msg["width"]), int(msg["height"])
            pixels = (self._outbox / msg["pixels"]).read_bytes()
            mask = (self._outbox / msg["mask"]).read_bytes() if msg.get("mask") else None
            result = OutboxResult(
                index=int(name[:-5]),
                name=str(msg["name"]),
                width=width,
                height=height,
                offset_x=int(msg["offset_x"]),
                offset_y=int(msg["offset_y"]),
                pixels=pixels,
                mask=mask,
                history_id=msg.get("history_id"),
                batch_left=max(0, int(msg.get("batch_left") or 0)),
                canvas=_canvas(msg.get("canvas")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JobError(f"The worker wrote an unreadable result ({name}): {exc}") from exc
        if width <= 0 or height <= 0 or len(pixels) != width * height * 4:
            raise JobError(f"The worker's result {name} has {len(pixels)} bytes for {width}x{height} RGBA.")
        if mask is not None and len(mask) != width * height:
            raise JobError(f"The worker's result {name} has a mask of {len(mask)} bytes for {width}x{height}.")
        return result


def _canvas(value: object) -> tuple[int, int, int, int] | None:
    if value is None:
        return None
    width, height, x, y = (int(v) for v in value)  # type: ignore[union-attr]
    if width <= 0 or height <= 0:
        raise ValueError(f"canvas {value!r}")
    return width, height, x, y


def read_progress(job_dir: Path) -> Progress | None:
    data = _read_json(job_dir / PROGRESS_FILE)
    if not isinstance(data, dict):
        return None
    fraction = data.get("fraction")
    return Progress(
        stage=str(data.get("stage", "")),
        fraction=float(fraction) if isinstance(fraction, (int, float)) else None,
        text=str(data.get("text", "")),
    )


def read_done(job_dir: Path) -> dict | None:
    data = _read_json(job_dir / DONE_FILE)
    return data if isinstance(data, dict) else None


def context_window(
    box: tuple[int, int, int, int], layer_width: int, layer_height: int
) -> tuple[int, int, int, int] | None:
    """The part of a layer to export for a selection box (all in layer pixels), or None for the whole layer.

    Generous on purpose: the pipeline's automatic context (the box padded by the larger of 1/16 of the
    layer's longest side and half the box's mean side, at least 512 px a side, slid back inside the layer,
    then grown along its short side towards the model's aspect) always fits in a square of the box's long
    side plus twice that padding, centred and slid the same way. If the worker still needs more (another
    context mode, say), it asks for the whole layer: correct either way, this only decides how much GIMP
    exports up front.
    """
    x, y, w, h = box
    margin = max(max(layer_width, layer_height) // 8, w + h, 768)
    side = max(w, h) + 2 * margin + 4  # + 4: the pipeline rounds its centring
    left, width = _slid_span(x, w, side, layer_width)
    top, height = _slid_span(y, h, side, layer_height)
    if width * height * 2 > layer_width * layer_height:
        return None  # most of the layer anyway: export it all
    return left, top, width, height


def _slid_span(start: int, length: int, want: int, limit: int) -> tuple[int, int]:
    """A span of `want` pixels centred on [start, start + length), slid (not shrunk) inside [0, limit)."""
    size = min(want, limit)
    pos = min(max(math.floor(start + length / 2 - size / 2), 0), limit - size)
    return pos, size


def _send_full_layer(job_dir: Path, read_whole: Callable[[], bytes] | None) -> None:
    try:
        if read_whole is None:
            raise JobError("GIMP exported all it has for this job.")
        tmp = job_dir / "layer.rgba.tmp"
        tmp.write_bytes(read_whole())
        os.replace(tmp, job_dir / "layer.rgba")
        answer: dict = {"ok": True}
    except JobError as exc:
        answer = {"ok": False, "error": str(exc)}
    write_json_atomic(job_dir / FULL_LAYER_READY, answer)


def wait_for_job(
    proc: subprocess.Popen,
    job_dir: Path,
    on_result: Callable[[OutboxResult], None],
    on_tick: Callable[[Progress | None], None],
    interval: float = POLL_INTERVAL_S,
    *,
    read_whole_layer: Callable[[], bytes] | None = None,
    log: Path | None = None,
    python: str | None = None,
) -> int:
    """Poll until the worker is done, handing over each result as it appears; returns the result count.

    When the job exported only a window of the layer and the worker asks for all of it, read_whole_layer
    supplies it. Raises JobError with the worker's own message when it reports failure, or, when it dies
    without reporting, with the telling line of its log (default: worker.log in the job folder), what the
    desktop probe of `python` finds when it was a window-system failure, and the log's path.
    """
    reader = OutboxReader(job_dir)
    count = 0
    answered = False
    while True:
        if not answered and (job_dir / FULL_LAYER_REQUEST).exists():
            _send_full_layer(job_dir, read_whole_layer)
            answered = True
        done = read_done(job_dir)
        exited = proc.poll() is not None
        for result in reader.new_results():
            on_result(result)
            count += 1
        if done is not None:
            break
        if exited:
            # The worker may have written done.json just before exiting: look once more.
            done = read_done(job_dir)
            for result in reader.new_results():
                on_result(result)
                count += 1
            if done is None:
                kept = log is not None
                raise JobError(death_message(proc.returncode, log or job_dir / WORKER_LOG, python, kept=kept))
            break
        on_tick(read_progress(job_dir))
        time.sleep(interval)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    if not done.get("ok"):
        error = str(done.get("error") or "The GPT Image worker failed without a message.")
        if python and diag.is_window_failure(error):  # e.g. QtGui could not load libEGL.so.1
            error = "\n".join([error, *_diagnose(python)] + ([f"Its log is kept in {log}"] if log else []))
        raise JobError(error)
    return count


def remove_job_dir(job_dir: Path) -> None:
    shutil.rmtree(job_dir, ignore_errors=True)


def death_message(code: int | None, log: Path, python: str | None, kept: bool) -> str:
    """Why the worker died, in lines a user can act on: Qt's (or Python's) telling line; when the window
    system was the problem, the missing libraries and install commands; and where the log is kept."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    line = diag.telling_line(text)
    lines = [f"The GPT Image worker stopped unexpectedly (exit code {code})" + (f": {line}" if line else ".")]
    if python and diag.is_window_failure(text):
        lines.extend(_diagnose(python))
    if kept:
        lines.append(f"Its log is kept in {log}")
    return "\n".join(lines)


def _diagnose(python: str) -> list[str]:
    """`gimp-gptimage doctor`'s window check, run by the same Python (seconds; only after a failure)."""
    env = {k: v for k, v in os.environ.items() if k not in _PYTHON_ENV_FROM_GIMP}
    try:
        run = subprocess.run(
            [python, "-m", "gimp_gptimage.desktop"],
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=DIAGNOSE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return ["Run 'gimp-gptimage doctor' in a terminal: it names the missing system libraries."]
    return [line for line in run.stdout.splitlines() if line.strip()]


def _read_json(path: Path) -> object | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
