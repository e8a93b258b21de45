"""Shared helpers for the API client tests: real encoded images, a multipart reader independent of the
client's encoder, and a scripted httpx transport that records what it was sent."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP

import httpx
from PIL import Image

API = "https://api.test/v1"
KEY = "sk-test-0123456789abcdefSECRET"


def encoded(size: tuple[int, int] = (64, 48), fmt: str = "PNG", mode: str = "RGB", colour=(200, 30, 40)) -> bytes:
    image = Image.new(mode, size, colour if mode != "RGBA" else (*colour, 255))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def mask_png(size: tuple[int, int] = (64, 48)) -> bytes:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (8, 8, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


def multipart_parts(request: httpx.Request) -> list[Part]:
    """Parse a multipart body with the standard library's MIME parser (not our own encoder)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    assert message.is_multipart()
    parts = []
    for part in message.iter_parts():
        name, data = part.get_param("name", header="content-disposition"), part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(data, bytes), "every part has a name and a body"
        parts.append(Part(name, part.get_filename(), part.get_content_type() if part.get("content-type") else "", data))
    return parts


def form_fields(request: httpx.Request) -> dict[str, str]:
    return {p.name: p.data.decode() for p in multipart_parts(request) if p.filename is None}


def json_answer(body: object, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"x-request-id": "req_123", **(headers or {})})


def images_answer(*images: bytes, **extra: object) -> httpx.Response:
    return json_answer({"created": 1700000000, "data": [{"b64_json": b64(i)} for i in images], **extra})


def sse_answer(
    events: Iterable[tuple[str | None, object]], chunk: int | None = None, tail: bytes = b""
) -> httpx.Response:
    raw = b""
    for name, data in events:
        if name:
            raw += f"event: {name}\n".encode()
        text = data if isinstance(data, str) else json.dumps(data)
        raw += f"data: {text}\n\n".encode()
    raw += tail

    async def body():
        step = chunk or len(raw) or 1
        for i in range(0, len(raw), step):
            yield raw[i : i + step]

    return httpx.Response(200, headers={"content-type": "text/event-stream", "x-request-id": "req_sse"}, content=body())


Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """A MockTransport handler answering from a list (one entry per request) and recording requests.

    An entry is a response, an exception to raise, or a callable taking the request.
    """

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


class Sleeps:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


PNG_ANSWER_IMAGE = encoded()
