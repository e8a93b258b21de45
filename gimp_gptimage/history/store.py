"""On-disk history of every request and every result, so nothing paid for is ever lost.

One folder per request: `record.json` (what was asked, of whom, what came back) and the result files as the
provider sent them. The record is written when the request starts, so a crash or a killed process still
leaves an entry that `list()` shows with whatever results arrived. Every write is atomic.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from ..api.errors import GptImageError, redact
from ..atomic import atomic_write_bytes, atomic_write_json

RECORD = "record.json"
RECORD_VERSION = 1
_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
_RESULT_RE = re.compile(r"^result-(\d+)\.(png|jpeg|jpg|webp)$")
# Keys that must never be stored, whatever a caller passes in.
_SECRET_KEYS = {"api_key", "apikey", "key", "authorization", "secret", "password", "token", "bearer"}
_RESERVED = {"version", "id", "status", "created_at", "updated_at", "finished_at", "pid", "results"}


class HistoryError(GptImageError):
    """A history entry is missing or cannot be read."""


def default_history_root() -> Path:
    return Path(platformdirs.user_data_dir("gimp-gptimage", appauthor=False)) / "history"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def scrub(obj: Any, secret: str | None = None) -> Any:
    """A copy of obj with credential-looking keys dropped and every string redacted."""
    if isinstance(obj, Mapping):
        return {
            str(k): scrub(v, secret) for k, v in obj.items() if str(k).lower().replace("-", "_") not in _SECRET_KEYS
        }
    if isinstance(obj, list | tuple):
        return [scrub(v, secret) for v in obj]
    if isinstance(obj, str):
        return redact(obj, secret)
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    return redact(str(obj), secret)


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # cannot tell cheaply; never call a live request interrupted
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class HistoryPolicy:
    """Clean-up rules; both None (the default) means keep everything forever."""

    max_total_mb: float | None = None
    max_age_days: float | None = None

    @property
    def keeps_everything(self) -> bool:
        return self.max_total_mb is None and self.max_age_days is None


@dataclass(frozen=True)
class HistoryResult:
    index: int
    path: Path
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    folder: Path
    record: dict[str, Any]
    results: list[HistoryResult]
    status: str  # running | done | failed | cancelled | interrupted | unreadable

    @property
    def prompt(self) -> str:
        return str(self.record.get("prompt") or "")

    @property
    def created_at(self) -> str:
        return str(self.record.get("created_at") or "")

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())


class HistoryStore:
    """The history folder. Safe to share between threads of one process."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_history_root()
        self._lock = threading.Lock()

    # -- writing -----------------------------------------------------------------------------------------

    def begin(self, meta: Mapping[str, Any], *, secret: str | None = None) -> str:
        """Create the entry for a request about to be sent; returns its id."""
        self.root.mkdir(parents=True, exist_ok=True)
        while True:
            entry_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
            folder = self.root / entry_id
            try:
                folder.mkdir()
                break
            except FileExistsError:
                continue
        now = _now()
        record = {k: v for k, v in scrub(meta, secret).items() if k not in _RESERVED}
        record.update(
            version=RECORD_VERSION,
            id=entry_id,
            status="running",
            created_at=now,
            updated_at=now,
            pid=os.getpid(),
            results=[],
        )
        atomic_write_json(folder / RECORD, record)
        return entry_id

    def add_result(
        self,
        entry_id: str,
        index: int,
        data: bytes,
        ext: str,
        extra: Mapping[str, Any] | None = None,
        *,
        secret: str | None = None,
    ) -> Path:
        """Store one result exactly as received; the file is on disk before this returns."""
        ext = ext.lower().lstrip(".")
        ext = "jpeg" if ext == "jpg" else ext
        if ext not in ("png", "jpeg", "webp"):
            raise HistoryError(f"Cannot store a result of type '{ext}'.")
        folder = self._folder(entry_id)
        path = folder / f"result-{int(index)}.{ext}"
        atomic_write_bytes(path, data)
        info = {"index": int(index), "file": path.name, "bytes": len(data), "added_at": _now()}
        info.update(scrub(dict(extra or {}), secret))
        with self._lock:
            record = self._read_record(folder)
            results = [r for r in record.get("results", []) if r.get("index") != int(index)]
            results.append(info)
            record["results"] = sorted(results, key=lambda r: r.get("index", 0))
            record["updated_at"] = info["added_at"]
            atomic_write_json(folder / RECORD, record)
        return path

    def finish(
        self,
        entry_id: str,
        *,
        request_id: str | None = None,
        usage: Mapping[str, Any] | None = None,
        error: str | None = None,
        status: str | None = None,
        extra: Mapping[str, Any] | None = None,
        secret: str | None = None,
    ) -> None:
        """Mark the request finished: done, or failed with a one-line error message."""
        folder = self._folder(entry_id)
        with self._lock:
            record = self._read_record(folder)
            now = _now()
            updates: dict[str, Any] = dict(extra or {})
            if request_id is not None:
                updates["request_id"] = request_id
            if usage is not None:
                updates["usage"] = dict(usage)
            if error is not None:
                updates["error"] = error
            record.update({k: v for k, v in scrub(updates, secret).items() if k not in _RESERVED})
            record["status"] = status or ("failed" if error else "done")
            record["finished_at"] = now
            record["updated_at"] = now
            atomic_write_json(folder / RECORD, record)

    # -- reading -----------------------------------------------------------------------------------------

    def list(self) -> list[HistoryEntry]:
        """Every entry, newest first; unreadable records still appear with the results found beside them."""
        if not self.root.is_dir():
            return []
        entries = [self._load(p) for p in self.root.iterdir() if p.is_dir() and _ID_RE.match(p.name)]
        return sorted(entries, key=lambda e: (e.created_at, e.id), reverse=True)

    def get(self, entry_id: str) -> HistoryEntry:
        return self._load(self._folder(entry_id))

    def export(self, entry_id: str, dest_dir: Path) -> list[Path]:
        """Copy an entry's results (as `<id>-<n>.<ext>`) and its record (`<id>.json`) into dest_dir."""
        entry = self.get(entry_id)
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for result in entry.results:
            target = dest / f"{entry.id}-{result.index + 1}{result.path.suffix}"
            atomic_write_bytes(target, result.path.read_bytes())
            written.append(target)
        record_path = entry.folder / RECORD
        if record_path.is_file():
            target = dest / f"{entry.id}.json"
            atomic_write_bytes(target, record_path.read_bytes())
            written.append(target)
        return written

    def total_bytes(self) -> int:
        return sum(e.size_bytes for e in self.list())

    def prune(self, policy: HistoryPolicy, keep: Iterable[str] = ()) -> list[str]:
        """Delete what the user's policy says to delete (oldest first); returns the removed ids.

        With the default policy nothing is ever deleted. Entries of requests still running, and the ids in
        `keep` (say, the request just made), are kept.
        """
        if policy.keeps_everything:
            return []
        protected = set(keep)
        removable = [e for e in reversed(self.list()) if e.status != "running" and e.id not in protected]
        removed: list[str] = []
        if policy.max_age_days is not None:
            cutoff = datetime.now(UTC).timestamp() - policy.max_age_days * 86400
            for entry in removable:
                if _timestamp(entry.created_at) < cutoff:
                    self._remove(entry)
                    removed.append(entry.id)
        if policy.max_total_mb is not None:
            cap = int(policy.max_total_mb * 1024 * 1024)
            remaining = [e for e in removable if e.id not in removed]
            total = self.total_bytes()
            for entry in remaining:
                if total <= cap:
                    break
                total -= entry.size_bytes
                self._remove(entry)
                removed.append(entry.id)
        return removed

    # -- internals ---------------------------------------------------------------------------------------

    def _folder(self, entry_id: str) -> Path:
        if not isinstance(entry_id, str) or not _ID_RE.match(entry_id):
            raise HistoryError(f"'{entry_id}' is not a history id (they look like 20260101-120000-a1b2c3).")
        folder = self.root / entry_id
        if not folder.is_dir():
            raise HistoryError(f"No history entry '{entry_id}' in {self.root}.")
        return folder

    def _read_record(self, folder: Path) -> dict[str, Any]:
        try:
            record = json.loads((folder / RECORD).read_text("utf-8"))
        except (OSError, ValueError):
            return {"id": folder.name, "results": []}
        return record if isinstance(record, dict) else {"id": folder.name, "results": []}

    def _load(self, folder: Path) -> HistoryEntry:
        record = self._read_record(folder)
        readable = "status" in record
        listed = {r.get("file"): r for r in record.get("results", []) if isinstance(r, dict)}
        results = []
        for path in folder.iterdir():
            match = _RESULT_RE.match(path.name)
            if match:
                results.append(HistoryResult(int(match[1]), path, listed.get(path.name, {})))
        results.sort(key=lambda r: r.index)
        status = str(record.get("status", "unreadable")) if readable else "unreadable"
        if status == "running" and not _pid_alive(record.get("pid")):
            status = "interrupted"
        if not readable:
            record.setdefault("created_at", _mtime_iso(folder))
        return HistoryEntry(folder.name, folder, record, results, status)

    def _remove(self, entry: HistoryEntry) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(entry.folder)


def _timestamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def _mtime_iso(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="milliseconds")
