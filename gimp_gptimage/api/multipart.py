"""A multipart/form-data body that reports upload progress as it is sent.

httpx would encode the body itself, but then nobody sees how far the upload is. Building it here lets the
client stream the exact same bytes through a counting iterator and set Content-Length up front (so no
chunked transfer encoding, which some relays refuse).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

CHUNK_SIZE = 256 * 1024  # large enough that counting costs nothing, small enough for a smooth bar


@dataclass(frozen=True)
class FilePart:
    name: str
    filename: str
    content_type: str
    data: bytes


def _quote(value: str) -> str:
    # Same escaping as browsers and httpx for the quoted header parameters (HTML5 form encoding).
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def form_value(value: object) -> str:
    """Form fields are text: booleans as the API spells them, numbers in decimal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class MultipartBody:
    """The encoded body as a list of byte segments (file data is referenced, not copied)."""

    def __init__(self, fields: Mapping[str, object], files: Sequence[FilePart]) -> None:
        self.boundary = secrets.token_hex(16)
        dash = f"--{self.boundary}\r\n"
        segments: list[bytes] = []
        pending = ""  # headers and small fields, joined so the socket gets few, large writes
        for name, value in fields.items():
            pending += f'{dash}Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{form_value(value)}\r\n'
        for part in files:
            pending += (
                f'{dash}Content-Disposition: form-data; name="{_quote(part.name)}"; '
                f'filename="{_quote(part.filename)}"\r\nContent-Type: {part.content_type}\r\n\r\n'
            )
            segments += [pending.encode("utf-8"), part.data]
            pending = "\r\n"
        segments.append(f"{pending}--{self.boundary}--\r\n".encode())
        self.segments = segments
        self.length = sum(len(s) for s in segments)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def to_bytes(self) -> bytes:
        return b"".join(self.segments)


class ProgressStream:
    """An async byte stream over segments that reports the fraction sent; restartable for retries."""

    def __init__(
        self,
        segments: Sequence[bytes],
        on_sent: Callable[[float], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self._segments = segments
        self._total = sum(len(s) for s in segments)
        self._on_sent = on_sent
        self._on_done = on_done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        for segment in self._segments:
            view = memoryview(segment)
            for offset in range(0, len(view), CHUNK_SIZE):
                chunk = view[offset : offset + CHUNK_SIZE]
                yield bytes(chunk)
                sent += len(chunk)
                if self._on_sent is not None and self._total:
                    self._on_sent(sent / self._total)
        # Reached only after the transport asked for more than the last chunk, i.e. once it was written.
        if self._on_done is not None:
            self._on_done()
