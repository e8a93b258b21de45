"""Atomic on-disk history of every request and result."""

from .record import HistoryRecord, ResultInfo
from .store import (
    HistoryEntry,
    HistoryError,
    HistoryPolicy,
    HistoryResult,
    HistoryStore,
    default_history_root,
    scrub,
)

__all__ = [
    "HistoryEntry",
    "HistoryError",
    "HistoryPolicy",
    "HistoryRecord",
    "HistoryResult",
    "HistoryStore",
    "ResultInfo",
    "default_history_root",
    "scrub",
]
