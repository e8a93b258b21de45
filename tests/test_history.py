"""HistoryStore: atomic records, nothing lost on a crash, no secrets, user-controlled clean-up only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.api.types import Usage
from gimp_gptimage.history import HistoryError, HistoryPolicy, HistoryRecord, HistoryStore

KEY = "sk-test-SECRET0123456789abcdefghijkl"
PNG = b"\x89PNG\r\n\x1a\n" + b"fake-image-bytes" * 10


def _meta(**changes: Any) -> HistoryRecord:
    record = HistoryRecord(
        kind="edit",
        prompt="Remove the spoon",
        model="gpt-image-2",
        params=ImageParams(prompt="Remove the spoon", model="gpt-image-2", size="1024x1024", n=2),
        provider="openai",
        base_url="https://api.openai.com/v1",
        source_image="coffee.png",
        region=(10, 20, 300, 200),
        offset=(10, 20),
    )
    return record.replace(**changes)


def test_full_request_is_recorded(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    entry_id = store.begin(_meta())
    assert store.get(entry_id).status == "running"
    path0 = store.add_result(entry_id, 0, PNG, "png", {"size": [300, 200]})
    path1 = store.add_result(entry_id, 1, PNG + b"1", "png")
    store.finish(entry_id, request_id="req_123", usage=Usage(total_tokens=42))

    entry = store.get(entry_id)
    assert entry.status == "done"
    assert [r.path for r in entry.results] == [path0, path1]
    assert path0.read_bytes() == PNG
    record = json.loads((tmp_path / entry_id / "record.json").read_text())
    assert record["prompt"] == "Remove the spoon"
    assert record["params"]["n"] == 2
    assert record["request_id"] == "req_123"
    assert record["usage"]["total_tokens"] == 42
    assert record["region"] == [10, 20, 300, 200]
    assert record["source_image"] == "coffee.png"
    assert record["results"][0]["size"] == [300, 200]
    assert record["created_at"] <= record["finished_at"]
    assert [e.id for e in store.list()] == [entry_id]
    assert not [p for p in (tmp_path / entry_id).iterdir() if p.name.endswith(".tmp")]


def test_failure_is_recorded_with_message(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    entry_id = store.begin(_meta())
    store.finish(entry_id, error="The API key was not accepted (HTTP 401)")
    entry = store.get(entry_id)
    assert entry.status == "failed"
    assert (entry.record.error or "").startswith("The API key was not accepted")


def test_key_never_stored_even_if_passed_in(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    entry_id = store.begin(
        _meta(extra={"api_key": KEY, "headers": {"Authorization": f"Bearer {KEY}"}, "note": f"echo {KEY}"}),
        secret=KEY,
    )
    store.add_result(entry_id, 0, PNG, "png", {"api_key": KEY, "comment": f"key was {KEY}"}, secret=KEY)
    store.finish(entry_id, error=f"Relay said: bad key {KEY}", secret=KEY)
    # Without the secret given, the key-like pattern is still redacted.
    other = store.begin(_meta(prompt=f"oops I pasted {KEY}"))
    for folder in (tmp_path / entry_id, tmp_path / other):
        for file in folder.iterdir():
            assert KEY.encode() not in file.read_bytes(), file
            assert b"SECRET0123456789" not in file.read_bytes(), file


def test_killed_process_leaves_a_listed_entry_with_its_results(tmp_path: Path) -> None:
    script = f"""
import os
from gimp_gptimage.history import HistoryRecord, HistoryStore
store = HistoryStore({str(tmp_path)!r})
entry_id = store.begin(HistoryRecord(prompt="crash test", kind="generate"))
store.add_result(entry_id, 0, {PNG!r}, "png")
print(entry_id, flush=True)
os.kill(os.getpid(), 9)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    entry_id = proc.stdout.strip()
    entries = HistoryStore(tmp_path).list()
    assert [e.id for e in entries] == [entry_id]
    assert entries[0].status == "interrupted"
    assert entries[0].prompt == "crash test"
    assert entries[0].results[0].path.read_bytes() == PNG


def test_result_file_without_record_update_still_found(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    entry_id = store.begin(_meta())
    # A crash between writing the result and updating the record, then a torn record file.
    (tmp_path / entry_id / "result-3.webp").write_bytes(b"RIFF....WEBP")
    (tmp_path / entry_id / "record.json").write_text("{not json")
    entry = store.list()[0]
    assert entry.status == "unreadable"
    assert [(r.index, r.path.name) for r in entry.results] == [(3, "result-3.webp")]


def test_concurrent_results_all_recorded(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    entry_id = store.begin(_meta())
    threads = [threading.Thread(target=store.add_result, args=(entry_id, i, PNG, "png")) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record = json.loads((tmp_path / entry_id / "record.json").read_text())
    assert [r["index"] for r in record["results"]] == list(range(8))


def test_export_copies_results_and_record(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h")
    entry_id = store.begin(_meta())
    store.add_result(entry_id, 0, PNG, "png")
    store.add_result(entry_id, 1, b"\xff\xd8\xff jpeg", "jpg")
    store.finish(entry_id)
    written = store.export(entry_id, tmp_path / "dest")
    names = sorted(p.name for p in written)
    assert names == sorted([f"{entry_id}-1.png", f"{entry_id}-2.jpeg", f"{entry_id}.json"])
    assert (tmp_path / "dest" / f"{entry_id}-1.png").read_bytes() == PNG


@pytest.mark.parametrize("bad", ["../../etc", "nope", "20260101-120000-zzzzzz", ""])
def test_bad_or_unknown_ids_are_clear_errors(tmp_path: Path, bad: str) -> None:
    store = HistoryStore(tmp_path)
    with pytest.raises(HistoryError):
        store.get(bad)
    with pytest.raises(HistoryError):
        store.export(bad, tmp_path / "x")


def test_unsupported_result_type_rejected(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    entry_id = store.begin(_meta())
    with pytest.raises(HistoryError):
        store.add_result(entry_id, 0, b"x", "exe")


def _aged_entry(store: HistoryStore, days_old: float, size: int) -> str:
    entry_id = store.begin(_meta())
    store.add_result(entry_id, 0, b"x" * size, "png")
    store.finish(entry_id)
    record_path = store.root / entry_id / "record.json"
    record = json.loads(record_path.read_text())
    from datetime import UTC, datetime, timedelta

    record["created_at"] = (datetime.now(UTC) - timedelta(days=days_old)).isoformat()
    record_path.write_text(json.dumps(record))
    return entry_id


def test_prune_default_policy_keeps_everything(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    ids = [_aged_entry(store, 400, 100_000) for _ in range(3)]
    assert store.prune(HistoryPolicy()) == []
    assert sorted(e.id for e in store.list()) == sorted(ids)


def test_prune_by_age_and_size(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    old = _aged_entry(store, 40, 1000)
    mid = _aged_entry(store, 5, 600_000)
    new = _aged_entry(store, 1, 600_000)
    running = store.begin(_meta())  # a live request is never pruned
    store.add_result(running, 0, b"y" * 600_000, "png")
    removed = store.prune(HistoryPolicy(max_age_days=30))
    assert removed == [old]
    removed = store.prune(HistoryPolicy(max_total_mb=1.5))
    assert removed == [mid]
    assert sorted(e.id for e in store.list()) == sorted([new, running])


def test_list_of_missing_root_is_empty(tmp_path: Path) -> None:
    assert HistoryStore(tmp_path / "absent").list() == []


def test_default_root_is_in_user_data_dir() -> None:
    store = HistoryStore()
    assert str(store.root).startswith(os.environ["XDG_DATA_HOME"])
    assert store.root.parts[-2:] == ("gimp-gptimage", "history")


def test_prune_spares_the_ids_to_keep(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    older = _aged_entry(store, 2, 10_000)
    newest = _aged_entry(store, 1, 10_000)
    assert store.prune(HistoryPolicy(max_total_mb=0.001), keep=[newest]) == [older]
    assert [e.id for e in store.list()] == [newest]


def test_written_files_get_the_users_normal_permissions(tmp_path) -> None:
    import stat

    from gimp_gptimage.atomic import _UMASK, atomic_write_bytes

    target = tmp_path / "result.png"
    atomic_write_bytes(target, b"x")
    # Not mkstemp's private 0600: results are ordinary files the user may share.
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_UMASK
