"""HTTP answers and transport failures, turned into the typed errors of `errors.py` with a message that
names the cause. Every message passes through the client's key scrubber."""

from __future__ import annotations

import html
import json
import re
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConnectionFailure,
    redact,
    status_error_class,
)
from .retry import parse_retry_after
from .timeouts import Timeouts

ERROR_BODY_LIMIT = 64 * 1024

Scrub = Callable[[str], str]


class ErrorMapper:
    """Builds the client's errors; knows its timeouts (to name the one that ran out) and its key (to keep it
    out of every message)."""

    def __init__(self, timeouts: Timeouts, scrub: Scrub) -> None:
        self.timeouts = timeouts
        self.scrub = scrub

    def timeout(self, exc: httpx.TimeoutException, url: str) -> APITimeoutError:
        which, seconds = {
            httpx.ConnectTimeout: ("connect", self.timeouts.connect),
            httpx.ReadTimeout: ("read", self.timeouts.read),
            httpx.WriteTimeout: ("write", self.timeouts.write),
            httpx.PoolTimeout: ("pool", self.timeouts.pool),
        }.get(type(exc), ("network", self.timeouts.read))
        host = urlsplit(url).hostname
        what = {
            "connect": f"Could not connect to {host}",
            "read": f"{host} sent nothing",
            "write": f"Could not send the request to {host}",
            "pool": "No free connection",
            "network": f"{host} did not answer",
        }[which]
        error = APITimeoutError(
            self.scrub(f"{what} within the {which} timeout of {seconds:g} s."),
            failure="connect" if which in ("connect", "pool") else "broken",
        )
        error.__cause__ = exc
        return error

    def stalled(self, url: str, received: int, *, request_id: str | None) -> APITimeoutError:
        """A plain answer whose body began and then stopped coming for the stall limit."""
        host = urlsplit(url).hostname
        return APITimeoutError(
            self.scrub(
                f"{host} stopped sending in the middle of the answer: nothing arrived for "
                f"{self.timeouts.stall:g} s after {received:,} bytes. The provider may still have produced "
                "(and billed) the image."
            ),
            failure="broken",
            request_id=request_id,
        )

    def connection(self, exc: httpx.TransportError, url: str, *, phase: str) -> APIConnectionError:
        return connection_error(exc, url, phase=phase, scrub=self.scrub)

    async def redirect(self, response: httpx.Response) -> APIStatusError:
        await response.aclose()
        location = response.headers.get("location", "")
        target = urljoin(str(response.url), location) if location else "another address"
        return APIStatusError(
            self.scrub(f"The provider redirected the request to {target}. Check the base URL (use the final address)."),
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
        )

    async def status(self, response: httpx.Response) -> APIStatusError:
        try:
            body = await read_limited(response, ERROR_BODY_LIMIT)
        except httpx.HTTPError:
            body = b""
        finally:
            await response.aclose()
        status = response.status_code
        message, error_type, param, code = parse_error_body(body, response.headers.get("content-type", ""), status)
        return status_error_class(status)(
            self.scrub(message),
            status_code=status,
            request_id=response.headers.get("x-request-id"),
            error_type=error_type,
            param=param,
            code=code,
            retry_after=parse_retry_after(response.headers),
        )

    def in_answer(self, obj: Mapping[str, Any], request_id: str | None, *, default_status: int) -> APIStatusError:
        """An error delivered inside a 200 answer (an SSE `error` event, a relay's error object): the status
        its type implies."""
        message, error_type, param, code = error_fields(obj)
        error = obj.get("error") if isinstance(obj.get("error"), dict) else obj
        status = (error.get("status") or error.get("status_code")) if isinstance(error, dict) else None
        if not isinstance(status, int) or not 400 <= status <= 599:
            status = _STATUS_TYPES.get(error_type or "", _STATUS_TYPES.get(code or "", default_status))
        return status_error_class(status)(
            self.scrub(message or "The provider reported an error in the middle of the answer."),
            status_code=status,
            request_id=request_id,
            error_type=error_type,
            param=param,
            code=code,
        )


def connection_error(exc: httpx.TransportError, url: str, *, phase: str, scrub: Scrub = redact) -> APIConnectionError:
    """A transport failure as a message that names the cause: DNS, certificate, refused, or dropped midway."""
    host = urlsplit(url).hostname
    reason = str(exc).strip() or _BARE_REASONS.get(type(exc), type(exc).__name__)
    causes = list(_exception_chain(exc))
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
        failure: ConnectionFailure = "tls"
        message = f"The TLS certificate of {host} could not be verified ({reason})."
    elif any(isinstance(c, ssl.SSLError) for c in causes):
        failure = "tls"
        message = f"The secure (TLS) connection to {host} failed ({reason})."
    elif any(isinstance(c, socket.gaierror) for c in causes):
        failure = "dns"
        message = f"The host name {host} could not be resolved ({reason})."
    elif isinstance(exc, httpx.ConnectError):
        failure = "connect"
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            reason = f"the connection was refused (nothing is listening on port {port} there)"
        message = f"Could not connect to {host}: {reason}."
    else:
        failure = "broken"
        message = f"The connection to {host} broke {phase}: {reason}."
    error = APIConnectionError(scrub(message), failure=failure)
    error.__cause__ = exc
    return error


# httpx errors raised for a dropped socket often carry no text.
_BARE_REASONS: dict[type, str] = {
    httpx.ReadError: "the connection was closed or reset by the other side",
    httpx.WriteError: "the connection was closed or reset while sending",
    httpx.RemoteProtocolError: "the server closed the connection without a complete answer",
}


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [item.__cause__, item.__context__]


async def read_limited(response: httpx.Response, limit: int) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SCRIPT_STYLE = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_STATUS_TYPES = {
    "invalid_request_error": 400,
    "image_generation_user_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
}


def parse_error_body(body: bytes, content_type: str, status: int) -> tuple[str, str | None, str | None, str | None]:
    """(message, type, param, code) from an error answer: the API's JSON error, or readable text from
    whatever a proxy sent instead (an HTML page, plain text, nothing)."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        obj = json.loads(text) if text else None
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        fields = error_fields(obj)
        if fields[0]:
            return fields
    if not text:
        reason = httpx.codes.get_reason_phrase(status)
        label = f"HTTP {status} {reason}".strip()
        return f"{label} from the provider, with no explanation.", None, None, None
    return f"HTTP {status} from the provider: {readable_text(text, content_type)}", None, None, None


def html_title(text: str) -> str:
    """An HTML page's title on one line, or "" when it has none."""
    match = _TITLE.search(text)
    return " ".join(html.unescape(match.group(1)).split()) if match else ""


def readable_text(text: str, content_type: str = "", limit: int = 200) -> str:
    """A one-line excerpt of a body meant for browsers or logs: an HTML page's title, else its text."""
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        text = html_title(text) or html.unescape(_TAG.sub(" ", _SCRIPT_STYLE.sub(" ", text)))
    return " ".join(text.split())[:limit]


def error_fields(obj: Mapping[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    error = obj.get("error", obj)
    if isinstance(error, str):
        return error, None, None, None
    if not isinstance(error, dict):
        return "", None, None, None
    message = error.get("message") or error.get("detail") or ""
    return (
        str(message),
        str_or_none(error.get("type")),
        str_or_none(error.get("param")),
        None if error.get("code") is None else str(error.get("code")),
    )


def str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
