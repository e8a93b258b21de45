"""`gimp-gptimage history list | show`: every request with what it cost, and the total per month."""

from __future__ import annotations

import json
from typing import Any

from ..cost import format_dollars, monthly_totals, record_cost
from ..history import HistoryEntry


def entry_json(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "status": entry.status,
        "created_at": entry.created_at,
        "prompt": entry.prompt,
        "cost_usd": record_cost(entry.record),
        "shortfall": entry.record.shortfall,
        "record": entry.record.to_json(),
        "results": [{"index": r.index, "path": str(r.path)} for r in entry.results],
    }


def cost_text(entry: HistoryEntry) -> str:
    cost = record_cost(entry.record)
    if cost is not None:
        return format_dollars(cost)
    return "?" if entry.results else "-"  # results but no usage or prices: paid, amount unknown


def print_list(entries: list[HistoryEntry], *, as_json: bool) -> None:
    if as_json:  # a list, as before costs were shown: each entry carries its own cost_usd
        print(json.dumps([entry_json(e) for e in entries], indent=2, ensure_ascii=False))
        return
    for entry in entries:
        prompt = " ".join(entry.prompt.split())
        prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
        when = entry.created_at[:19].replace("T", " ")
        shortfall = f"  ({entry.record.shortfall})" if entry.record.shortfall else ""
        print(
            f"{entry.id}  {when}  {entry.status:<11}  {len(entry.results)} result(s)  {cost_text(entry):>8}  {prompt}"
            + shortfall
        )
    for month in monthly_totals(e.record for e in entries):
        unknown = f" (+{month.unpriced} of unknown cost)" if month.unpriced else ""
        print(f"{month.month} total: {format_dollars(month.dollars)} for {month.requests} request(s){unknown}")


def print_entry(entry: HistoryEntry, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(entry_json(entry), indent=2, ensure_ascii=False))
        return
    r = entry.record
    print(f"id:        {entry.id}")
    print(f"status:    {entry.status}")
    print(f"created:   {entry.created_at}")
    print(f"prompt:    {entry.prompt}")
    usage = r.usage
    for label, value in (
        ("kind", r.kind),
        ("provider", r.provider),
        ("base url", r.base_url),
        ("model", r.model),
        ("source", r.source_image),
        ("region", list(r.region) if r.region else None),
        ("offset", list(r.offset) if r.offset else None),
        ("size sent", r.request_size),
        ("request id", r.request_id),
        ("usage", f"input {usage.input_tokens}, output {usage.output_tokens} tokens" if usage else None),
        ("cost", cost_text(entry) if usage else None),
        ("error", r.error),
        ("arrived", r.shortfall),
    ):
        if value not in (None, "", []):
            print(f"{label + ':':<10} {value}")
    for result in entry.results:
        print(f"result {result.index + 1}:  {result.path}")
