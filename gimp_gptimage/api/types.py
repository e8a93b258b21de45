"""Plain data types the client returns; shared by the CLI, the dialog and the job runner."""

from __future__ import annotations

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
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_text_tokens: int | None = None
    input_image_tokens: int | None = None

    @classmethod
    def from_json(cls, obj: object) -> Usage | None:
        if not isinstance(obj, dict):
            return None
        details = obj.get("input_tokens_details") or {}

        def num(value: object) -> int | None:
            return value if isinstance(value, int) else None

        return cls(
            num(obj.get("input_tokens")),
            num(obj.get("output_tokens")),
            num(obj.get("total_tokens")),
            num(details.get("text_tokens")) if isinstance(details, dict) else None,
            num(details.get("image_tokens")) if isinstance(details, dict) else None,
        )

    def to_json(self) -> dict[str, int | None]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "input_text_tokens": self.input_text_tokens,
            "input_image_tokens": self.input_image_tokens,
        }


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
