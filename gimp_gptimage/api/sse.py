"""Incremental Server-Sent Events parser (the WHATWG event-stream format).

Network chunks arrive cut anywhere: inside a line, between a CR and its LF, inside a multi-byte UTF-8
character. The parser therefore splits lines on raw bytes and only decodes complete lines. It knows
nothing about images; `client.py` interprets the events.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


class SSELineTooLong(ValueError):
    """A single line grew beyond the parser's limit (a broken or hostile stream)."""


@dataclass(frozen=True)
class SSEEvent:
    event: str | None
    data: str
    id: str | None = None


class SSEParser:
    """Feed bytes as they arrive; get back every event they complete."""

    def __init__(self, max_line_bytes: int | None = None) -> None:
        self._max_line = max_line_bytes
        self._buffer = bytearray()
        self._skip_lf = False  # the previous chunk ended with CR, so a leading LF belongs to that line end
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._last_id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []  # an empty chunk between a CR and its LF must not forget the pending CR
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        buffer = self._buffer
        # What is already buffered holds no line end: search only the new bytes (a base64 image line is
        # megabytes long and arrives in many chunks, so rescanning it would be quadratic).
        search_from = len(buffer)
        buffer += chunk
        events: list[SSEEvent] = []
        start = 0
        length = len(buffer)
        cr = lf = -2  # next CR / LF position; -1 once there is none left, -2 before the first search
        while start < length:
            if cr != -1 and cr < search_from:
                cr = buffer.find(b"\r", search_from)
            if lf != -1 and lf < search_from:
                lf = buffer.find(b"\n", search_from)
            if cr < 0 and lf < 0:
                break
            end = lf if cr < 0 or (0 <= lf < cr) else cr
            line = bytes(buffer[start:end])
            if buffer[end] == 0x0D:  # CR, maybe followed by LF
                if end + 1 < length:
                    start = end + 2 if buffer[end + 1] == 0x0A else end + 1
                else:
                    start = end + 1
                    self._skip_lf = True
            else:
                start = end + 1
            search_from = start
            event = self._line(line)
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        if self._max_line is not None and len(self._buffer) > self._max_line:
            raise SSELineTooLong(f"an event line is longer than {self._max_line:,} bytes")
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: an unterminated last line and a pending event still count (be lenient)."""
        events: list[SSEEvent] = []
        if self._buffer:
            line = bytes(self._buffer)
            self._buffer.clear()
            event = self._line(line)
            if event is not None:
                events.append(event)
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _line(self, raw: bytes) -> SSEEvent | None:
        if not raw:
            return self._dispatch()
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            return None  # comment / keep-alive
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields are ignored, as the standard says.
        return None

    def _dispatch(self) -> SSEEvent | None:
        if self._id is not None:
            self._last_id = self._id
        if not self._data:
            self._event = None
            self._id = None
            return None
        event = SSEEvent(self._event, "\n".join(self._data), self._last_id)
        self._event = None
        self._data = []
        self._id = None
        return event


async def aiter_sse(chunks: AsyncIterable[bytes], max_line_bytes: int | None = None) -> AsyncIterator[SSEEvent]:
    """Events from an async stream of byte chunks, each yielded as soon as it is complete."""
    parser = SSEParser(max_line_bytes)
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event
