"""Plain data types the client returns; shared by the CLI, the dialog and the job runner."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

IMAGE_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def sniff_content_type(data: bytes) -> str | None:
    """The real image type of some bytes, from their magic number (never trust a file name)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class ImageInput:
    """One image part to upload."""

    filename: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Usage:
    """Token counts of one request, as the provider reported them (any of them may be missing)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_text_tokens: int | None = None
    input_image_tokens: int | None = None
    output_text_tokens: int | None = None  # `output_tokens_details`: newer API versions split the output
    output_image_tokens: int | None = None

    @classmethod
    def from_json(cls, obj: object) -> Usage | None:
        """From the API's `usage` object, or from the flat form `to_json` writes (history records)."""
        if not isinstance(obj, dict):
            return None
        inputs = obj.get("input_tokens_details")
        outputs = obj.get("output_tokens_details")
        inputs = inputs if isinstance(inputs, dict) else {}
        outputs = outputs if isinstance(outputs, dict) else {}
        usage = cls(
            _count(obj.get("input_tokens")),
            _count(obj.get("output_tokens")),
            _count(obj.get("total_tokens")),
            _count(inputs.get("text_tokens", obj.get("input_text_tokens"))),
            _count(inputs.get("image_tokens", obj.get("input_image_tokens"))),
            _count(outputs.get("text_tokens", obj.get("output_text_tokens"))),
            _count(outputs.get("image_tokens", obj.get("output_image_tokens"))),
        )
        return usage if usage != cls() else None

    def to_json(self) -> dict[str, int | None]:
        return dataclasses.asdict(self)

    @classmethod
    def of_stream(cls, parts: list[Usage]) -> Usage | None:
        """One request's usage from the `usage` of each completed image of a stream.

        How a stream of n > 1 images splits usage is not documented; each completed event carries the
        request's input and that image's output (the local server does the same), so the input is counted
        once and the outputs are added up.
        """
        if not parts:
            return None

        def most(name: str) -> int | None:
            values = [v for p in parts if (v := getattr(p, name)) is not None]
            return max(values) if values else None

        def added(name: str) -> int | None:
            values = [v for p in parts if (v := getattr(p, name)) is not None]
            return sum(values) if values else None

        input_tokens, output_tokens = most("input_tokens"), added("output_tokens")
        total = None if input_tokens is None or output_tokens is None else input_tokens + output_tokens
        return cls(
            input_tokens,
            output_tokens,
            total if total is not None else added("total_tokens"),
            most("input_text_tokens"),
            most("input_image_tokens"),
            added("output_text_tokens"),
            added("output_image_tokens"),
        )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class ImageEvent:
    """A streamed partial image, or a finished one, delivered as soon as it arrives."""

    kind: Literal["partial", "completed"]
    index: int
    data: bytes
    partial_index: int | None = None
    size: str | None = None
    output_format: str | None = None
    usage: Usage | None = None
    image: Image.Image | None = field(default=None, repr=False, compare=False)  # "completed": already decoded


@dataclass(frozen=True)
class GeneratedImage:
    index: int
    data: bytes
    revised_prompt: str | None = None
    source_url: str | None = None
    image: Image.Image | None = field(default=None, repr=False, compare=False)  # decoded while checking `data`


@dataclass
class ImagesResponse:
    images: list[GeneratedImage] = field(default_factory=list)
    request_id: str | None = None
    usage: Usage | None = None
    created: int | None = None
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None
    requested: int | None = None  # how many images were asked for (`n`)

    def shortfall(self) -> str | None:
        """ "1 of 2 images arrived" when fewer came than were asked for, else None."""
        return arrival_note(len(self.images), self.requested or 0)


def arrival_note(arrived: int, requested: int) -> str | None:
    """The one wording for a clean answer that brought fewer images than asked for (CLI, dialog, batch)."""
    if arrived >= requested:
        return None
    return f"{arrived} of {requested} image{'s' if requested != 1 else ''} arrived"
