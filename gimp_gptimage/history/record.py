"""The typed history record: what was asked, of whom, and what came back, as kept in `record.json`.

The file format is version 1's (later fields are only added, `images_arrived` say), so records written
before these types existed read back the same; a value of the wrong type (a hand-edited or torn file)
reads as missing instead of failing, and keys this version does not know are kept in `extra` and written
back untouched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..api.params import ImageParams
from ..api.types import Usage, arrival_note

RECORD_VERSION = 1
STATUSES = ("running", "done", "failed", "cancelled", "interrupted", "unreadable")


@dataclass(frozen=True)
class ResultInfo:
    """One stored result file."""

    index: int
    file: str
    bytes: int = 0
    added_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. "size": [w, h], what a caller added

    @classmethod
    def from_json(cls, obj: object) -> ResultInfo | None:
        if not isinstance(obj, dict) or _int(obj.get("index")) is None or not isinstance(obj.get("file"), str):
            return None
        known = {"index", "file", "bytes", "added_at"}
        return cls(
            index=obj["index"],
            file=obj["file"],
            bytes=_int(obj.get("bytes")) or 0,
            added_at=_str(obj.get("added_at")),
            extra={k: v for k, v in obj.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "index": self.index, "file": self.file, "bytes": self.bytes, "added_at": self.added_at}


@dataclass(frozen=True)
class HistoryRecord:
    """One request. The request part is filled in by the job runner; the store adds id, status and times."""

    kind: str = ""  # "edit" | "generate"
    prompt: str = ""
    model: str = ""
    params: ImageParams | None = None  # as sent (the edit's size is the one the pipeline chose)
    provider: str = ""
    base_url: str | None = None
    source_image: str = ""
    layer_size: tuple[int, int] | None = None
    layer_offset: tuple[int, int] | None = None
    region: tuple[int, int, int, int] | None = None  # x, y, w, h in layer pixels
    offset: tuple[int, int] | None = None  # canvas position of the result
    request_size: str | None = None
    references: int = 0
    markup: bool = False  # a markup sheet said what to change
    context: dict[str, Any] | None = None  # pipeline.ContextOptions fields
    canvas_size: tuple[int, int] | None = None
    # Set by the store and when the request ends.
    version: int = RECORD_VERSION
    id: str = ""
    status: str = "unreadable"
    created_at: str = ""
    updated_at: str = ""
    finished_at: str | None = None
    pid: int | None = None
    request_id: str | None = None
    usage: Usage | None = None
    error: str | None = None
    revised_prompts: tuple[str, ...] = ()
    result_size: str | None = None
    output_format: str | None = None
    results_received: tuple[int, ...] | None = None
    images_arrived: int | None = None  # how many images a clean answer brought (None: not known, older record)
    results: tuple[ResultInfo, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # keys written by another version

    @property
    def shortfall(self) -> str | None:
        """ "1 of 2 images arrived" when a clean answer brought fewer images than were asked for, else None."""
        if self.images_arrived is None or self.params is None:
            return None
        return arrival_note(self.images_arrived, self.params.n)

    @property
    def images_sent(self) -> int:
        """Images the request carried: the edited one plus each reference."""
        return (1 if self.kind == "edit" else 0) + self.references

    def replace(self, **changes: Any) -> HistoryRecord:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> HistoryRecord:
        get = obj.get
        prompt = _str(get("prompt"))
        results = tuple(r for r in (ResultInfo.from_json(x) for x in _list(get("results"))) if r is not None)
        received = get("results_received")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(
            kind=_str(get("kind")),
            prompt=prompt,
            model=_str(get("model")),
            params=_params(get("params"), prompt),
            provider=_str(get("provider")),
            base_url=_opt_str(get("base_url")),
            source_image=_str(get("source_image")),
            layer_size=_ints(get("layer_size"), 2),  # type: ignore[arg-type]
            layer_offset=_ints(get("layer_offset"), 2),  # type: ignore[arg-type]
            region=_ints(get("region"), 4),  # type: ignore[arg-type]
            offset=_ints(get("offset"), 2),  # type: ignore[arg-type]
            request_size=_opt_str(get("request_size")),
            references=_int(get("references")) or 0,
            markup=get("markup") is True,
            context=get("context") if isinstance(get("context"), dict) else None,
            canvas_size=_ints(get("canvas_size"), 2),  # type: ignore[arg-type]
            version=_int(get("version")) or RECORD_VERSION,
            id=_str(get("id")),
            status=_str(get("status")) if get("status") in STATUSES else "unreadable",
            created_at=_str(get("created_at")),
            updated_at=_str(get("updated_at")),
            finished_at=_opt_str(get("finished_at")),
            pid=_int(get("pid")),
            request_id=_opt_str(get("request_id")),
            usage=Usage.from_json(get("usage")),
            error=_opt_str(get("error")),
            revised_prompts=tuple(p for p in _list(get("revised_prompts")) if isinstance(p, str)),
            result_size=_opt_str(get("result_size")),
            output_format=_opt_str(get("output_format")),
            results_received=tuple(i for i in _list(received) if _int(i) is not None) if received is not None else None,
            images_arrived=_int(get("images_arrived")),
            results=tuple(sorted(results, key=lambda r: r.index)),
            extra={k: v for k, v in obj.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name == "params":
                value = _params_json(value)
            elif f.name == "usage":
                value = value.to_json() if value is not None else None
            elif f.name == "results":
                value = [r.to_json() for r in value]
            elif isinstance(value, tuple):
                value = list(value)
            data[f.name] = value
        return data


def _params(value: object, prompt: str) -> ImageParams | None:
    if not isinstance(value, dict):
        return None
    defaults = ImageParams(prompt=prompt)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(ImageParams):
        if f.name == "prompt" or f.name not in value:
            continue
        v, default = value[f.name], getattr(defaults, f.name)
        if v is None or (type(v) is type(default)) or (default is None and isinstance(v, str | int)):
            fields[f.name] = v
    return defaults.replace(**fields)


def _params_json(params: ImageParams | None) -> dict[str, Any] | None:
    if params is None:
        return None
    fields = dataclasses.asdict(params)
    fields.pop("prompt", None)
    return fields


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _ints(value: object, count: int) -> tuple[int, ...] | None:
    if isinstance(value, list | tuple) and len(value) == count and all(_int(v) is not None for v in value):
        return tuple(value)
    return None
