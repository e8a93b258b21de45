"""Fault injection: make the next matching requests fail the ways real providers and relays fail.

A `FaultPlan` is a thread-safe queue of `Fault`s. Each request to a matching endpoint consumes the first
matching fault (a fault with `times=3` serves three requests). `FaultMiddleware` wraps the ASGI app and
acts out the fault for real: resets close the TCP connection with RST (SO_LINGER 0), drips really trickle
bytes, truncations really cut the body. In-process (httpx.ASGITransport) there is no socket, so a reset
raises the error httpx raises for a reset socket, which is what a client under test must handle anyway.

Test machinery, not product: the app mounts it only when given a plan (`create_app(faults=...)`,
`LocalServer(faults=...)`, `serve --faults`), and it acts only for loopback clients.

Specs for `serve --fault` and the control endpoint: `KIND[:ARG][,key=value...]`, e.g. `status:429,retry_after=2`,
`html:502`, `reset`, `reset_after:2`, `drip:200`, `delay:30`, `wrong_size:512x512`, `result_bomb`, `times=3`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..api.providers import is_loopback_host
from .errors import ApiError, new_request_id
from .imaging import decompression_bomb_png
from .results import RESULTS_PATH

FaultKind = Literal[
    "status",  # a JSON error answer with `status` (and Retry-After if `retry_after`)
    "html",  # an nginx-style HTML error page
    "text",  # a plain-text error body
    "reset",  # connection reset before any response
    "reset_after",  # reset after `events` streamed events (non-streamed: after half the body)
    "drip",  # the body trickles at `bytes_per_second`
    "truncate",  # a 200 whose body is cut in half (Content-Length matches the cut body)
    "stall",  # the body stops after its first half for `seconds`, then the rest follows
    "fewer",  # a clean answer with only the first result (the first `events`, if set) of the n asked for
    "chat",  # a 200 chat-completion answer instead of images, as a relay's chat path gives (`message`: its text)
    "empty_data",  # a 200 with `"data": []`
    "wrong_size",  # results of another pixel size than the response claims
    "delay",  # wait `seconds` before answering (longer than a client timeout, say)
    "result_missing",  # a url result answers 404
    "result_html",  # a url result answers an HTML page with status 200
    "result_bomb",  # a url result is a tiny PNG declaring enormous dimensions
]
Endpoint = Literal["images", "edits", "generations", "results", "models", "any"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
ENDPOINTS: tuple[str, ...] = get_args(Endpoint)
SCOPE_KEY = "gptimage.fault"  # where handlers find the fault they must act out themselves (wrong_size)

_PRIMARY_ARG = {"status": "status", "html": "status", "text": "status", "reset_after": "events"}
_PRIMARY_ARG |= {"drip": "bytes_per_second", "delay": "seconds", "wrong_size": "size", "stall": "seconds"}
_PRIMARY_ARG |= {"fewer": "events"}
RESET_GRACE_S = 1.0  # how long reset_after waits after its last event before breaking the connection
_DEFAULT_STATUS = {"status": 500, "html": 502, "text": 503}

NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
CHAT_TEXT = "Task accepted.\n\n![preview](https://cdn.example.com/preview/task-42.png)\n\nTask id: task-42"
PLAIN_TEXT = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}
_REASONS |= {503: "Service Temporarily Unavailable", 504: "Gateway Time-out", 404: "Not Found"}


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int | None = None
    message: str | None = None  # status: the error message; text: the body
    code: str | None = None
    error_type: str | None = None
    retry_after: float | None = None
    events: int = 0
    bytes_per_second: int = 1024
    seconds: float = 0.0
    size: str = "512x512"
    endpoint: Endpoint | None = None  # None: "results" for result_* kinds, else "images"
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.endpoint is not None and self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown fault endpoint {self.endpoint!r}; known: {', '.join(ENDPOINTS)}")
        if self.times < 1 or self.bytes_per_second < 1 or self.events < 0 or self.seconds < 0:
            raise ValueError(f"fault values out of range: {self}")

    @property
    def target(self) -> Endpoint:
        if self.endpoint is not None:
            return self.endpoint
        return "results" if self.kind.startswith("result_") else "images"

    @property
    def status_code(self) -> int:
        return self.status or _DEFAULT_STATUS.get(self.kind, 500)

    def matches(self, endpoint: str) -> bool:
        target = self.target
        return target in ("any", endpoint) or (target == "images" and endpoint in ("edits", "generations"))

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, obj: object) -> Fault:
        if not isinstance(obj, dict) or "kind" not in obj:
            raise ValueError(f"a fault must be an object with a 'kind', got {obj!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(obj) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(**obj)

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """A fault from `KIND[:ARG][,key=value...]` (the `serve --fault` syntax)."""
        head, *rest = [part.strip() for part in spec.split(",")]
        kind, _, arg = head.partition(":")
        values: dict[str, str] = {}
        if arg:
            if kind not in _PRIMARY_ARG:
                raise ValueError(f"fault {kind!r} takes no argument after ':'")
            values[_PRIMARY_ARG[kind]] = arg
        for item in rest:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"expected key=value in fault spec, got {item!r}")
            values[key.strip()] = value.strip()
        converted: dict[str, Any] = {"kind": kind}
        for key, value in values.items():
            if key not in _FIELD_TYPES or key == "kind":
                raise ValueError(f"unknown fault field {key!r}")
            converted[key] = _FIELD_TYPES[key](value)
        return cls(**converted)


_FIELD_TYPES: dict[str, type] = {f.name: str for f in dataclasses.fields(Fault)}
_FIELD_TYPES |= {"status": int, "events": int, "bytes_per_second": int, "times": int}
_FIELD_TYPES |= {"retry_after": float, "seconds": float}


class FaultPlan:
    """Thread-safe queue of pending faults; tests, the control endpoint and `serve --fault` fill it."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._pending: list[list[Any]] = []  # [fault, remaining uses]
        self.extend(faults)

    def add(self, fault: Fault) -> FaultPlan:
        with self._lock:
            self._pending.append([fault, fault.times])
        return self

    def extend(self, faults: Iterable[Fault]) -> FaultPlan:
        for fault in faults:
            self.add(fault)
        return self

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def take(self, endpoint: str) -> Fault | None:
        """Consume one use of the first fault matching `endpoint`."""
        with self._lock:
            for entry in self._pending:
                fault: Fault = entry[0]
                if fault.matches(endpoint):
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self._pending.remove(entry)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [entry[0] for entry in self._pending]

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


def endpoint_of(path: str) -> str | None:
    if path.startswith(RESULTS_PATH + "/"):
        return "results"
    return {"/v1/images/edits": "edits", "/v1/images/generations": "generations", "/v1/models": "models"}.get(path)


async def _drain(receive: Receive) -> None:
    """Read the whole request first, as a real server would before failing."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def reset_connection(receive: Receive) -> None:
    """Abort the TCP connection with RST. Only works under uvicorn's h11 protocol, which is what we run."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise httpx.ReadError("[Errno 104] Connection reset by peer (injected fault)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Wait for uvicorn to notice, so it does not try to answer on the dead connection.
    async with asyncio.timeout(2):
        while (await receive())["type"] != "http.disconnect":
            pass


def _with_length(start: Message, length: int) -> Message:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    return {**start, "headers": [*headers, (b"content-length", str(length).encode())]}


async def _send_plain(send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def from_loopback(scope: Scope) -> bool:
    """Whether the request comes from this machine (the one loopback rule, api.providers)."""
    client = scope.get("client")
    return client is not None and is_loopback_host(client[0])


class FaultMiddleware:
    """Outermost ASGI layer: takes the request's fault from the plan and acts it out (loopback clients only:
    a server reachable from elsewhere never lets another machine's request use up or trigger a fault)."""

    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = endpoint_of(scope.get("path", "")) if scope["type"] == "http" and from_loopback(scope) else None
        fault = self.plan.take(endpoint) if endpoint else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        scope = {**scope, SCOPE_KEY: fault}
        kind = fault.kind
        if kind == "delay":
            await asyncio.sleep(fault.seconds)
            await self.app(scope, receive, send)
        elif kind in ("status", "html", "text", "reset", "chat", "result_missing", "result_html", "result_bomb"):
            await _drain(receive)
            await self._answer(fault, receive, send)
        elif kind == "wrong_size":
            await self.app(scope, receive, send)  # the handler resizes its results
        elif kind == "reset_after":
            await self.app(scope, receive, _ResetAfter(fault.events, receive, send))
        elif kind == "drip":
            await self.app(scope, receive, _Drip(fault.bytes_per_second, send))
        elif kind == "stall":
            await self.app(scope, receive, _Stall(fault.seconds, send))
        else:  # truncate, empty_data, fewer: rewrite the finished body
            await self.app(scope, receive, _Rewrite(kind, send, keep=max(fault.events, 1)))

    async def _answer(self, fault: Fault, receive: Receive, send: Send) -> None:
        headers = {"x-request-id": new_request_id()}
        status = fault.status_code
        if fault.kind == "reset":
            await reset_connection(receive)
        elif fault.kind == "status":
            if fault.retry_after is not None:
                ra = fault.retry_after
                headers["retry-after"] = str(int(ra)) if float(ra).is_integer() else str(ra)
            error = ApiError.for_status(status, fault.message, fault.error_type, fault.code)
            await _send_plain(send, status, json.dumps(error.body()).encode(), "application/json", headers)
        elif fault.kind in ("html", "result_html"):
            status = status if fault.kind == "html" else fault.status or 200
            page = NGINX_PAGE.format(status=status, reason=_REASONS.get(status, "Error"))
            await _send_plain(send, status, page.encode(), "text/html", headers)
        elif fault.kind == "text":
            await _send_plain(send, status, (fault.message or PLAIN_TEXT).encode(), "text/plain", headers)
        elif fault.kind == "chat":
            await _send_plain(send, 200, json.dumps(_chat_answer(fault.message)).encode(), "application/json", headers)
        elif fault.kind == "result_missing":
            page = NGINX_PAGE.format(status=404, reason="Not Found")
            await _send_plain(send, 404, page.encode(), "text/html", headers)
        elif fault.kind == "result_bomb":
            await _send_plain(send, 200, decompression_bomb_png(), "image/png", headers)


def _chat_answer(text: str | None) -> dict[str, Any]:
    """A chat completion in the shape relays document it (QuickRouter's own example, Crazyrouter's chat path)."""
    message = {"role": "assistant", "content": CHAT_TEXT if text is None else text}
    return {
        "id": "chatcmpl-" + new_request_id()[4:],
        "object": "chat.completion",
        "created": 1_745_000_000,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
    }


class _ResetAfter:
    """A send that resets the connection after `events` SSE events (or half of a plain body)."""

    def __init__(self, events: int, receive: Receive, send: Send) -> None:
        self.events, self.receive, self.send = events, receive, send
        self.streaming = False
        self.sent_events = 0
        self.done = False

    async def __call__(self, message: Message) -> None:
        if self.done:
            return
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            self.streaming = headers.get(b"content-type", b"").startswith(b"text/event-stream")
            await self.send(message)
            if self.streaming and self.events == 0:
                await self._reset()
            return
        body = message.get("body", b"")
        if not self.streaming:
            await self.send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            await self._reset()
            return
        await self.send(message)
        self.sent_events += sum(1 for block in body.split(b"\n\n") if block.startswith(b"event:"))
        if self.sent_events >= self.events:
            # A reset discards what the client has not read yet: give it time to take the events it was sent
            # (a textured result's event is a megabyte or more), so the break comes after them, as meant.
            await asyncio.sleep(RESET_GRACE_S)
            await self._reset()

    async def _reset(self) -> None:
        self.done = True
        await reset_connection(self.receive)


class _Drip:
    """A send that trickles each body at a fixed byte rate."""

    def __init__(self, bytes_per_second: int, send: Send) -> None:
        self.rate, self.send = bytes_per_second, send
        self.chunk = max(1, bytes_per_second // 10)

    async def __call__(self, message: Message) -> None:
        if message["type"] != "http.response.body":
            await self.send(message)
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        for offset in range(0, len(body), self.chunk):
            piece = body[offset : offset + self.chunk]
            last = offset + self.chunk >= len(body)
            await self.send({"type": "http.response.body", "body": piece, "more_body": more or not last})
            await asyncio.sleep(len(piece) / self.rate)
        if not body:
            await self.send(message)


class _Stall:
    """A send that stops in the middle of the first body part for `seconds` (a stalled answer)."""

    def __init__(self, seconds: float, send: Send) -> None:
        self.seconds, self.send = seconds, send
        self.stalled = False

    async def __call__(self, message: Message) -> None:
        body = message.get("body", b"")
        if message["type"] != "http.response.body" or self.stalled or len(body) < 2:
            await self.send(message)
            return
        self.stalled = True
        half = len(body) // 2
        await self.send({"type": "http.response.body", "body": body[:half], "more_body": True})
        await asyncio.sleep(self.seconds)
        await self.send({**message, "body": body[half:]})


def _first_results(blocks: list[bytes], keep: int) -> Iterable[bytes]:
    """The stream's event blocks up to its `keep`-th completed image, then only what is not an image."""
    completed = 0
    for block in blocks:
        image_event = block.startswith(b"event: ") and (b"partial_image" in block[:80] or b".completed" in block[:80])
        if image_event and completed >= keep:
            continue
        completed += image_event and b".completed" in block[:80]
        yield block


class _Rewrite:
    """A send that buffers the whole answer, then truncates it, empties its `data` or keeps only its first
    `keep` results (of a JSON answer, or of a stream: its events for later results are left out)."""

    def __init__(self, kind: str, send: Send, keep: int = 1) -> None:
        self.kind, self.send, self.keep = kind, send, keep
        self.start: Message | None = None
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        self.body += message.get("body", b"")
        if message.get("more_body", False):
            return
        body = bytes(self.body)
        if self.kind == "truncate":
            body = body[: len(body) // 2]
        elif self.kind == "fewer" and body.lstrip()[:1] != b"{":  # a stream: drop later results' events
            body = b"\n\n".join(_first_results(body.split(b"\n\n"), self.keep))
        else:
            try:
                parsed = json.loads(body)
                if isinstance(parsed, dict) and "data" in parsed:
                    parsed["data"] = parsed["data"][: self.keep] if self.kind == "fewer" else []
                    body = json.dumps(parsed).encode()
            except ValueError:
                pass  # not JSON (a stream or an error page): leave it alone
        assert self.start is not None
        await self.send(_with_length(self.start, len(body)))
        await self.send({"type": "http.response.body", "body": body, "more_body": False})
