"""The cost after: each history entry's real cost from its usage, and what was spent per month."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..api.providers import is_billed
from ..history.record import HistoryRecord
from .prices import cost_of


def record_cost(record: HistoryRecord) -> float | None:
    """What the request cost, from the usage the provider reported; None if it reported none (a failed
    request, a relay without usage) or the model's prices are unknown."""
    return cost_of(record.usage, record.model, provider=record.provider)


@dataclass(frozen=True)
class MonthTotal:
    month: str  # "2026-12" (UTC, as the entries' times)
    dollars: float
    requests: int  # entries with a known cost
    unpriced: int  # entries whose cost is unknown (not in `dollars`)


def monthly_totals(records: Iterable[HistoryRecord]) -> list[MonthTotal]:
    """Per calendar month, newest first; runs of the offline engine are not spending."""
    months: dict[str, list[float | None]] = {}
    for record in records:
        if not is_billed(record.provider):
            continue
        cost = record_cost(record)
        if record.created_at[:7] and (cost is not None or record.results):  # no result, no usage: nothing paid
            months.setdefault(record.created_at[:7], []).append(cost)
    return [
        MonthTotal(month, sum(c for c in costs if c is not None), sum(c is not None for c in costs), costs.count(None))
        for month, costs in sorted(months.items(), reverse=True)
    ]
