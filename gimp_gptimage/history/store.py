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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from ..api.errors import GptImageError, redact
from ..api.types import Usage
from ..atomic import atomic_write_bytes, atomic_write_json
from .record import HistoryRecord, ResultInfo

RECORD = "record.json"
_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
_RESULT_RE = re.compile(r"^result-(\d+)\.(png|jpeg|jpg|webp)$")
# Keys that must never be stored, whatever a caller passes in.
_SECRET_KEYS = {"api_key", "apikey", "key", "authorization", "secret", "password", "token", "bearer"}


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
    info: ResultInfo | None = None  # None: the file is there but the record does not list it (a crash)


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    folder: Path
    record: HistoryRecord
    results: list[HistoryResult]
    status: str  # the record's, or "interrupted" for a request whose process is gone

    @property
    def prompt(self) -> str:
        return self.record.prompt

    @property
    def created_at(self) -> str:
        return self.record.created_at

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())


class HistoryStore:
    """The history folder. Safe to share between threads of one process."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_history_root()
        self._lock = threading.Lock()

    # -- writing -----------------------------------------------------------------------------------------

    def begin(self, request: HistoryRecord, *, secret: str | None = None) -> str:
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
        record = _scrubbed(request, secret).replace(
            id=entry_id, status="running", created_at=now, updated_at=now, pid=os.getpid(), results=()
        )
        atomic_write_json(folder / RECORD, record.to_json())
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
        info = ResultInfo(int(index), path.name, len(data), _now(), scrub(dict(extra or {}), secret))
        with self._lock:
            record = self._read_record(folder)
            results = [r for r in record.results if r.index != info.index] + [info]
            record = record.replace(results=tuple(sorted(results, key=lambda r: r.index)), updated_at=info.added_at)
            atomic_write_json(folder / RECORD, record.to_json())
        return path

    def finish(
        self,
        entry_id: str,
        *,
        request_id: str | None = None,
        usage: Usage | None = None,
        error: str | None = None,
        status: str | None = None,
        revised_prompts: Iterable[str] = (),
        result_size: str | None = None,
        output_format: str | None = None,
        results_received: Iterable[int] | None = None,
        images_arrived: int | None = None,
        secret: str | None = None,
    ) -> None:
        """Mark the request finished: done, or failed with a one-line error message."""
        folder = self._folder(entry_id)
        with self._lock:
            record = self._read_record(folder)
            now = _now()
            changes: dict[str, Any] = {
                "status": status or ("failed" if error else "done"),
                "finished_at": now,
                "updated_at": now,
                "revised_prompts": tuple(redact(p, secret) for p in revised_prompts) or record.revised_prompts,
            }
            for name, value in (
                ("request_id", request_id),
                ("usage", usage),
                ("error", error),
                ("result_size", result_size),
                ("output_format", output_format),
                ("images_arrived", images_arrived),
            ):
                if value is not None:
                    changes[name] = redact(value, secret) if isinstance(value, str) else value
            if results_received is not None:
                changes["results_received"] = tuple(results_received)
            atomic_write_json(folder / RECORD, record.replace(**changes).to_json())

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

    def _read_record(self, folder: Path) -> HistoryRecord:
        """The record; a missing, torn or foreign file reads as an "unreadable" record of this folder."""
        try:
            raw = json.loads((folder / RECORD).read_text("utf-8"))
        except (OSError, ValueError):
            raw = None
        record = HistoryRecord.from_json(raw if isinstance(raw, dict) else {})
        return record.replace(id=folder.name, created_at=record.created_at or _mtime_iso(folder))

    def _load(self, folder: Path) -> HistoryEntry:
        record = self._read_record(folder)
        listed = {r.file: r for r in record.results}
        results = []
        for path in folder.iterdir():
            match = _RESULT_RE.match(path.name)
            if match:
                results.append(HistoryResult(int(match[1]), path, listed.get(path.name)))
        results.sort(key=lambda r: r.index)
        status = record.status
        if status == "running" and not _pid_alive(record.pid):
            status = "interrupted"
        return HistoryEntry(folder.name, folder, record, results, status)

    def _remove(self, entry: HistoryEntry) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(entry.folder)


def _scrubbed(record: HistoryRecord, secret: str | None) -> HistoryRecord:
    """The record with every string redacted and credential-looking keys dropped (see `scrub`)."""
    return HistoryRecord.from_json(scrub(record.to_json(), secret))


def _timestamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def _mtime_iso(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="milliseconds")
