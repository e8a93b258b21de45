"""What the plug-in leaves on disk, and its bounds: worker logs in the user's data folder (the last
KEEP_LOGS), and job folders in the temporary folder (removed at once normally; a folder left behind
because GIMP killed the plug-in is removed by the next run once neither of its processes is alive).

Standard library only. The logs folder is decided by `gimp-gptimage install` (platformdirs' user data
folder) and recorded next to the plug-in, so the plug-in never guesses platform rules itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from gptimage_ipc import CONFIG_NAME, JOB_PREFIX

PIDS_FILE = "pids.json"
KEEP_LOGS = 20
ORPHAN_AGE_S = 2 * 24 * 3600  # where liveness cannot be asked safely (Windows), age decides


def logs_dir(plugin_dir: Path) -> Path | None:
    """The folder install recorded for worker logs, or None (an install older than this plug-in)."""
    try:
        logs = json.loads((plugin_dir / CONFIG_NAME).read_text(encoding="utf-8")).get("logs")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(logs) if isinstance(logs, str) and logs else None


def new_log(plugin_dir: Path) -> Path | None:
    """A fresh worker log path in the logs folder, after dropping all but the newest KEEP_LOGS - 1."""
    folder = logs_dir(plugin_dir)
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        prune_logs(folder, KEEP_LOGS - 1)
    except OSError:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return folder / f"worker-{stamp}-{os.getpid()}.log"


def prune_logs(folder: Path, keep: int) -> None:
    logs = sorted(folder.glob("worker-*.log"), key=_mtime, reverse=True)
    for old in logs[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


def record_pids(job_dir: Path, worker_pid: int) -> None:
    """Who owns the job folder: while either process lives, no other run removes it."""
    with contextlib.suppress(OSError):
        (job_dir / PIDS_FILE).write_text(json.dumps([os.getpid(), worker_pid]), encoding="utf-8")


def remove_orphan_job_dirs(temp: Path | None = None, now: float | None = None) -> list[Path]:
    """Job folders whose plug-in and worker are both gone (GIMP's Cancel kills the plug-in, a crash...)."""
    temp = Path(tempfile.gettempdir()) if temp is None else temp
    now = time.time() if now is None else now
    removed = []
    for folder in temp.glob(JOB_PREFIX + "*"):
        if folder.is_dir() and _orphaned(folder, now):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _orphaned(folder: Path, now: float) -> bool:
    if now - _mtime(folder) < 60:
        return False  # just created: its owner may not have written pids.json yet
    try:
        pids = json.loads((folder / PIDS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pids = None
    if sys.platform == "win32" or not isinstance(pids, list):
        return now - _mtime(folder) > ORPHAN_AGE_S
    return not any(_alive(pid) for pid in pids if isinstance(pid, int) and pid > 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # POSIX only: signal 0 asks, it does not kill
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
