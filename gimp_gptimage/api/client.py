"""`ImagesClient`: the async client for OpenAI-compatible Images APIs (edits and generations).

Modelled on openai-python's base client: an injected httpx transport, explicit timeouts, a small typed
error hierarchy and bounded retries. Differences on purpose, because an image request costs money and
takes minutes:

- Retries happen only when the request cannot have produced a billed image: connection failures
  (including a connection dropped before any response) and 429/502/503/504. A read timeout is NOT
  retried: the body was sent, the provider may still be drawing (and billing) the image, and a retry
  would wait the whole read timeout again. Anything after the response started is never retried.
- Streamed images are handed to `on_event` the moment they arrive, so a later failure cannot lose an
  image that was already delivered.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import html
import inspect
import io
import json
import logging
import random
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from PIL import Image

from .. import __version__
from .download import (
    DEFAULT_DOWNLOAD_LIMIT,
    Downloader,
    DownloadStatusError,
    decode_result,
    direct_mounts,
    shared_ssl_context,
)
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigError,
    ConnectionFailure,
    GptImageError,
    ResultError,
    ValidationError,
    redact,
    status_error_class,
)
from .multipart import FilePart, MultipartBody, ProgressStream
from .params import ImageParams, validate
from .payload import InvalidBase64, PayloadError, split_image_payload
from .providers import Provider, check_base_url
from .sse import SSELineTooLong, aiter_sse
from .types import GeneratedImage, ImageEvent, ImageInput, ImagesResponse, Usage, sniff_content_type

log = logging.getLogger(__name__)

USER_AGENT = f"gimp-gptimage/{__version__}"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
ERROR_BODY_LIMIT = 64 * 1024
MAX_IMAGE_BYTES = 50 * 1024 * 1024  # the API's per-file limit
OFFLOAD_EVENT_CHARS = 64 * 1024  # streamed events bigger than this are decoded off the event loop

EventCallback = Callable[[ImageEvent], Awaitable[None] | None]
ProgressCallback = Callable[[str, float | None], None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Timeouts:
    """Seconds. Connecting should be quick; an image can take minutes to be drawn (read)."""

    connect: float = 10.0
    read: float = 600.0
    write: float = 120.0
    pool: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class ImagesClient:
    """Edits and generations against one provider; use as `async with ImagesClient(...) as client`."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str,
        *,
        provider: Provider | None = None,
        timeouts: Timeouts = Timeouts(),
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        download_limit_bytes: int = DEFAULT_DOWNLOAD_LIMIT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        allow_insecure = provider.allow_insecure if provider else False
        base_url = base_url or (provider.base_url if provider else "")
        self.base_url = check_base_url(base_url, allow_insecure=allow_insecure)
        self.provider = provider
        self.timeouts = timeouts
        self.max_retries = max(0, max_retries)
        self._key = _checked_key(api_key)
        self._sleep = sleep
        host = urlsplit(self.base_url).hostname or ""
        self._http = httpx.AsyncClient(
            timeout=timeouts.to_httpx(),
            transport=transport,
            # The embedded server on this computer must not be reached through an HTTP(S)_PROXY.
            mounts=None if transport is not None else direct_mounts(host),
            verify=shared_ssl_context(),
            follow_redirects=False,
            headers={"Authorization": f"Bearer {self._key}", "User-Agent": USER_AGENT},
        )
        self._downloader = Downloader(
            timeout=timeouts.to_httpx(), limit_bytes=download_limit_bytes, transport=transport, user_agent=USER_AGENT
        )

    async def __aenter__(self) -> ImagesClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._downloader.aclose()

    def __repr__(self) -> str:  # never show the key
        return f"ImagesClient(base_url={self.base_url!r}, provider={self.provider.name if self.provider else None!r})"

    # -- public API ---------------------------------------------------------------------------------------

    async def edit(
        self,
        params: ImageParams,
        images: Sequence[ImageInput],
        mask: bytes | None = None,
        *,
        on_event: EventCallback | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ImagesResponse:
        """POST {base}/images/edits. Every image goes as a repeated `image[]` part with its real type.

        `on_event` gets each partial and finished image as it arrives when `params.stream` is true.
        `on_progress(stage, fraction)` gets "uploading" (fraction of the body sent), "generating", and
        "downloading" (url results).
        """
        params = validate(params, kind="edit", image_count=len(images))
        files = _image_parts(images, mask)
        body = MultipartBody(self._wire_fields(params), files)
        return await self._request(
            "images/edits", body.segments, body.content_type, params, on_event=on_event, on_progress=on_progress
        )

    async def generate(
        self,
        params: ImageParams,
        *,
        on_event: EventCallback | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ImagesResponse:
        """POST {base}/images/generations with a JSON body."""
        params = validate(params, kind="generate")
        payload = json.dumps(self._wire_fields(params), ensure_ascii=False).encode("utf-8")
        return await self._request(
            "images/generations", [payload], "application/json", params, on_event=on_event, on_progress=on_progress
        )

    # -- request and retries --------------------------------------------------------------------------------

    def _wire_fields(self, params: ImageParams) -> dict[str, object]:
        fields: dict[str, object] = dict(params.to_fields())
        return self.provider.rename_fields(fields) if self.provider else fields

    async def _request(
        self,
        path: str,
        segments: list[bytes],
        content_type: str,
        params: ImageParams,
        *,
        on_event: EventCallback | None,
        on_progress: ProgressCallback | None,
    ) -> ImagesResponse:
        url = f"{self.base_url}/{path}"
        response = await self._send_with_retries(url, segments, content_type, params.stream, on_progress)
        try:
            reader = _ResultReader(self, response, params, on_event if params.stream else None, on_progress)
            return await reader.read()
        finally:
            await response.aclose()

    async def _send_with_retries(
        self,
        url: str,
        segments: list[bytes],
        content_type: str,
        stream: bool,
        on_progress: ProgressCallback | None,
    ) -> httpx.Response:
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(sum(len(s) for s in segments)),
            "Accept": "text/event-stream" if stream else "application/json",
        }
        attempt = 0
        while True:
            if on_progress is not None:
                on_progress("uploading", 0.0)
            body = ProgressStream(
                segments,
                on_sent=(lambda f: on_progress("uploading", f)) if on_progress else None,
                on_done=(lambda: on_progress("generating", None)) if on_progress else None,
            )
            try:
                request = self._http.build_request("POST", url, headers=headers, content=body)
            except httpx.InvalidURL as exc:  # a base URL that passed check_base_url but httpx cannot use
                raise ConfigError(f"The base URL cannot be used: {exc}.") from None
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                # Connect/pool/write timeouts mean the request never fully arrived; a read timeout means
                # the provider has the request and may be working on (and billing) it: never retried.
                error: GptImageError = self._timeout_error(exc, url)
                retryable = not isinstance(exc, httpx.ReadTimeout)
            except httpx.TransportError as exc:
                error = self._connection_error(exc, url, phase="before any answer arrived")
                # Refused/reset before any response: the provider did not answer, so it did not draw. An
                # untrusted certificate stays untrusted: asking again only repeats the handshake.
                retryable = isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)) and (
                    getattr(error, "failure", "") != "tls"
                )
            else:
                if response.status_code < 300:
                    return response
                if response.status_code < 400:  # never resend a paid request (and the key) elsewhere by itself
                    raise await self._redirect_error(response)
                error = await self._status_error(response)
                # An exhausted quota stays exhausted: asking again only delays the answer.
                retryable = _provider_says_retry(
                    response.headers, response.status_code in RETRY_STATUSES and error.code != "insufficient_quota"
                )
            if not retryable or attempt >= self.max_retries:
                raise error
            delay = self._retry_delay(attempt, error)
            log.info("Retrying %s in %.1f s after: %s", url, delay, error)
            await self._sleep(delay)
            attempt += 1

    def _retry_delay(self, attempt: int, error: GptImageError) -> float:
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, MAX_RETRY_AFTER)
        # Capped exponential backoff, with up to 25% jitter so many clients do not retry in lockstep.
        return min(INITIAL_BACKOFF * 2**attempt, MAX_BACKOFF) * (1 - 0.25 * random.random())

    # -- error mapping --------------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, self._key)

    def _timeout_error(self, exc: httpx.TimeoutException, url: str) -> APITimeoutError:
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
            self._redact(f"{what} within the {which} timeout of {seconds:g} s."),
            failure="connect" if which in ("connect", "pool") else "broken",
        )
        error.__cause__ = exc
        return error

    def _connection_error(self, exc: httpx.TransportError, url: str, *, phase: str) -> APIConnectionError:
        return connection_error(exc, url, phase=phase, scrub=self._redact)

    async def _redirect_error(self, response: httpx.Response) -> APIStatusError:
        await response.aclose()
        location = response.headers.get("location", "")
        target = urljoin(str(response.url), location) if location else "another address"
        return APIStatusError(
            self._redact(
                f"The provider redirected the request to {target}. Check the base URL (use the final address)."
            ),
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
        )

    async def _status_error(self, response: httpx.Response) -> APIStatusError:
        try:
            body = await _read_limited(response, ERROR_BODY_LIMIT)
        except httpx.HTTPError:
            body = b""
        finally:
            await response.aclose()
        status = response.status_code
        message, error_type, param, code = parse_error_body(body, response.headers.get("content-type", ""), status)
        return status_error_class(status)(
            self._redact(message),
            status_code=status,
            request_id=response.headers.get("x-request-id"),
            error_type=error_type,
            param=param,
            code=code,
            retry_after=parse_retry_after(response.headers),
        )


class _ResultReader:
    """Turns one successful response (JSON or SSE) into an ImagesResponse, delivering events on the way."""

    def __init__(
        self,
        client: ImagesClient,
        response: httpx.Response,
        params: ImageParams,
        on_event: EventCallback | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.client = client
        self.response = response
        self.params = params
        self.on_event = on_event
        self.on_progress = on_progress
        self.request_id = response.headers.get("x-request-id")
        self.result = ImagesResponse(request_id=self.request_id)

    async def read(self) -> ImagesResponse:
        try:
            await self._read()
        except APIError as error:
            if self.result.images:
                error.partial = self.result  # what did arrive (and was paid for) goes with the error
            raise
        return self.result

    async def _read(self) -> None:
        content_type = self.response.headers.get("content-type", "").lower()
        try:
            if "text/event-stream" in content_type:
                await self._read_stream()
            else:
                await self._read_json(await self._read_answer())
        except SSELineTooLong as exc:
            raise self._result_error(f"The stream is unusable: {exc}.") from None
        except httpx.TimeoutException as exc:
            error = self.client._timeout_error(exc, str(self.response.url))
            error.request_id = self.request_id
            raise error from exc
        except httpx.TransportError as exc:
            error = self.client._connection_error(exc, str(self.response.url), phase="while receiving the result")
            error.message += " The provider may still have produced (and billed) the image."
            error.request_id = self.request_id
            raise error from exc

    # -- plain JSON answer

    def _answer_limit(self, images: int) -> int:
        # base64 is 4/3 of the image; each image up to the download limit, plus room for the JSON around it.
        return images * self.client._downloader.limit_bytes * 4 // 3 + 1024 * 1024

    async def _read_answer(self) -> bytes:
        limit = self._answer_limit(self.params.n)
        body = bytearray()
        async for chunk in self.response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise self._result_error(f"The answer is larger than {limit:,} bytes; refusing to read more.")
        return bytes(body)

    async def _read_json(self, body: bytes) -> None:
        try:
            obj = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            text = body[:ERROR_BODY_LIMIT].decode("utf-8", errors="replace")
            content_type = self.response.headers.get("content-type", "")
            if "html" in content_type.lower() or text.lstrip().startswith("<"):
                raise self._result_error(
                    f"The provider answered with a web page instead of a result ('{readable_text(text, 'html')}'); "
                    "check the base URL."
                ) from None
            raise self._result_error(f"The answer is not valid JSON: {_excerpt(text, len(body))}.") from None
        if not isinstance(obj, dict):
            raise self._result_error("The answer is not a JSON object.")
        if isinstance(obj.get("error"), dict | str):  # some relays answer 200 with an error object
            raise _error_object_to_exception(obj, self.request_id, self.client._redact, default_status=500)
        data = obj.get("data")
        if not isinstance(data, list) or not data:
            raise self._result_error("The answer contains no images ('data' is missing or empty).")
        self._take_meta(obj)
        self.result.usage = Usage.from_json(obj.get("usage"))
        self.result.created = obj.get("created") if isinstance(obj.get("created"), int) else None
        failures: list[ResultError] = []
        for index, item in enumerate(data):
            # One broken image (a dead link, bad base64) must not cost the others: keep going, report at the end.
            try:
                if not isinstance(item, dict):
                    raise self._result_error(f"Image {index + 1} in the answer is not an object.")
                image = await self._image_from_item(item, index, len(data))
            except ResultError as exc:
                failures.append(exc)
                continue
            self.result.images.append(image)
            await self._emit_completed(image, self.result.size, self.result.output_format, self.result.usage)
        if failures:
            if len(failures) == 1:
                raise failures[0]
            raise self._result_error(" ".join(f.message for f in failures))

    # -- SSE answer

    async def _read_stream(self) -> None:
        partials = 0
        async for event in aiter_sse(self.response.aiter_bytes(), self._answer_limit(1)):
            if len(event.data) < 16 and event.data.strip() == "[DONE]":
                break
            try:
                # A big event is decoded in a worker thread, in GIL-releasing slices (see payload.py), so a GUI
                # sharing this interpreter keeps ticking while images stream in.
                if len(event.data) > OFFLOAD_EVENT_CHARS:
                    obj, decoded = await asyncio.to_thread(split_image_payload, event.data)
                else:
                    obj, decoded = split_image_payload(event.data)
            except InvalidBase64:
                what = "A partial image" if "partial_image" in (event.event or event.data[:200]) else "An image"
                raise self._result_error(
                    f"{what} in the answer is not valid base64 (it may have been cut off)."
                ) from None
            except PayloadError as exc:
                if str(exc) == "not a JSON object":
                    raise self._result_error("The stream carried an event that is not a JSON object.") from None
                raise self._result_error(
                    f"The stream carried an event that is not JSON: {_excerpt(event.data)}."
                ) from None
            kind = str(obj.get("type") or event.event or "")
            if kind == "error" or kind.endswith(".error") or obj.get("error"):
                raise _error_object_to_exception(obj, self.request_id, self.client._redact, default_status=500)
            if kind.endswith("partial_image"):
                partials += 1
                if decoded is None:
                    raise self._result_error("A partial image in the answer has no image data.")
                data = decoded
                self._take_meta(obj)
                index = obj["index"] if isinstance(obj.get("index"), int) else len(self.result.images)
                partial_index = obj.get("partial_image_index")
                await self._emit(
                    ImageEvent(
                        "partial",
                        index,
                        data,
                        partial_index=partial_index if isinstance(partial_index, int) else partials - 1,
                        size=_str_or_none(obj.get("size")),
                        output_format=_str_or_none(obj.get("output_format")),
                    )
                )
            elif kind.endswith(".completed"):
                index = obj["index"] if isinstance(obj.get("index"), int) else len(self.result.images)
                image = await self._image_from_item(obj, index, None, decoded)
                self._take_meta(obj)
                usage = Usage.from_json(obj.get("usage"))
                self.result.usage = usage or self.result.usage
                if self.result.created is None and isinstance(obj.get("created_at"), int):
                    self.result.created = obj["created_at"]
                self.result.images.append(image)
                await self._emit_completed(
                    image, _str_or_none(obj.get("size")), _str_or_none(obj.get("output_format")), usage
                )
            # Other event types (future additions) are ignored.
        if not self.result.images:
            raise self._result_error(
                f"The stream ended before any finished image arrived ({partials} partial image(s) received)."
            )

    # -- shared helpers

    async def _emit_completed(
        self, image: GeneratedImage, size: str | None, output_format: str | None, usage: Usage | None
    ) -> None:
        await self._emit(
            ImageEvent(
                "completed",
                image.index,
                image.data,
                size=size,
                output_format=output_format,
                usage=usage,
                image=image.image,
            )
        )

    async def _image_from_item(
        self, item: Mapping[str, Any], index: int, count: int | None, decoded: bytes | None = None
    ) -> GeneratedImage:
        what = f"Image {index + 1}" + (f" of {count}" if count else "")
        b64, url = item.get("b64_json"), item.get("url")
        source_url = None
        if decoded is not None:
            data = decoded
        elif isinstance(b64, str) and b64:
            data = self._b64(b64, what)
        elif isinstance(url, str) and url:
            source_url = urljoin(str(self.response.url), url)
            data = await self._download(source_url, what, index, count or 1)
        else:
            raise self._result_error(f"{what} in the answer has neither 'b64_json' nor 'url'.")
        decoded_image = await asyncio.to_thread(decode_result, data, what, request_id=self.request_id)
        return GeneratedImage(index, data, _str_or_none(item.get("revised_prompt")), source_url, decoded_image)

    async def _download(self, url: str, what: str, index: int, count: int) -> bytes:
        """Fetch a result link, retrying transient failures: the image is already paid for."""
        progress = self.on_progress

        def on_fraction(fraction: float | None) -> None:
            if progress is not None:
                progress("downloading", None if fraction is None else (index + fraction) / max(count, index + 1))

        attempt = 0
        while True:
            if progress is not None:
                progress("downloading", index / max(count, index + 1))
            try:
                return await self.client._downloader.fetch(
                    url, what=what, request_id=self.request_id, on_fraction=on_fraction
                )
            except DownloadStatusError as exc:
                error: GptImageError = exc
                retryable = exc.status_code in RETRY_STATUSES or exc.status_code >= 500
            except ResultError:
                raise
            except httpx.TimeoutException as exc:
                error = self.client._timeout_error(exc, url)
                retryable = True  # a GET of a finished image is safe to repeat
            except httpx.TransportError as exc:
                error = self.client._connection_error(exc, url, phase="while downloading the result")
                retryable = True
            if not retryable or attempt >= self.client.max_retries:
                raise ResultError(
                    f"{what} was generated but could not be downloaded ({error.message}). "
                    f"The link may still work for a while: {url}",
                    request_id=self.request_id,
                ) from error
            await self.client._sleep(self.client._retry_delay(attempt, error))
            attempt += 1

    def _b64(self, value: object, what: str) -> bytes:
        if not isinstance(value, str) or not value:
            raise self._result_error(f"{what} in the answer has no image data.")
        text = "".join(value.split())
        text += "=" * (-len(text) % 4)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self._result_error(f"{what} in the answer is not valid base64 (it may have been cut off).") from None

    def _take_meta(self, obj: Mapping[str, Any]) -> None:
        for name in ("size", "quality", "background", "output_format"):
            value = _str_or_none(obj.get(name))
            if value is not None:
                setattr(self.result, name, value)

    async def _emit(self, event: ImageEvent) -> None:
        if self.on_event is None:
            return
        outcome = self.on_event(event)
        if inspect.isawaitable(outcome):
            await outcome

    def _result_error(self, message: str) -> ResultError:
        return ResultError(self.client._redact(message), request_id=self.request_id)


# -- helpers used above (module level so tests can reach them) ----------------------------------------------


def _excerpt(text: str, size: int | None = None) -> str:
    """What a person can use from a broken body: a JSON start that stops (an image's base64 is noise), or
    the start of whatever else it is (a relay's plain-text error)."""
    size = len(text) if size is None else size
    if text.lstrip()[:1] in ("{", "["):
        return f"it stops after {size:,} bytes, cut off on the way"
    return f"{size:,} bytes starting {text[:120]!r}; it may have been cut off"


def connection_error(
    exc: httpx.TransportError, url: str, *, phase: str, scrub: Callable[[str], str] = redact
) -> APIConnectionError:
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


def _checked_key(api_key: str) -> str:
    key = (api_key or "").strip()
    if not key:
        raise ConfigError("No API key. Set GPTIMAGE_API_KEY (or OPENAI_API_KEY), or enter one in Settings.")
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise ConfigError("The API key contains spaces, line breaks or non-ASCII characters; paste it again.")
    return key


def _image_parts(images: Sequence[ImageInput], mask: bytes | None) -> list[FilePart]:
    """Upload parts, each with the content type its bytes really have; rejects what the API would."""
    parts: list[FilePart] = []
    for number, image in enumerate(images, 1):
        label = f"Image {number} ({image.filename})" if image.filename else f"Image {number}"
        real_type = sniff_content_type(image.data)
        if real_type is None:
            raise ValidationError(
                f"{label} is not a PNG, JPEG or WebP image. [rule: image type]",
                param="image",
                value=image.filename,
                rule="image type",
            )
        if len(image.data) >= MAX_IMAGE_BYTES:
            raise ValidationError(
                f"{label} is {len(image.data) / 1e6:.1f} MB; each image must be under 50 MB. [rule: image size]",
                param="image",
                value=len(image.data),
                rule="image size",
            )
        extension = real_type.split("/")[1]
        parts.append(FilePart("image[]", image.filename or f"image-{number}.{extension}", real_type, image.data))
    if mask is not None:
        _check_mask(mask, images[0].data)
        parts.append(FilePart("mask", "mask.png", "image/png", mask))
    return parts


def _check_mask(mask: bytes, first_image: bytes) -> None:
    if sniff_content_type(mask) != "image/png":
        raise ValidationError(
            "The mask must be a PNG image with an alpha channel. [rule: mask is PNG]",
            param="mask",
            value=sniff_content_type(mask) or "unknown data",
            rule="mask is PNG",
        )
    try:
        with Image.open(io.BytesIO(mask)) as m, Image.open(io.BytesIO(first_image)) as img:
            mask_size, mode, has_transparency = m.size, m.mode, "transparency" in m.info
            image_size = img.size
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            f"The mask or the first image cannot be read ({exc}). [rule: readable images]",
            param="mask",
            rule="readable images",
        ) from None
    if "A" not in mode and not has_transparency:
        raise ValidationError(
            f"The mask has no alpha channel (PNG mode {mode}); its transparent pixels mark the area to edit. "
            "[rule: mask needs alpha]",
            param="mask",
            value=mode,
            rule="mask needs alpha",
        )
    if mask_size != image_size:
        raise ValidationError(
            f"The mask is {mask_size[0]}x{mask_size[1]} but the first image is {image_size[0]}x{image_size[1]}; "
            "they must be the same size. [rule: mask size]",
            param="mask",
            value=f"{mask_size[0]}x{mask_size[1]}",
            rule="mask size",
        )


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
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
        fields = _error_fields(obj)
        if fields[0]:
            return fields
    if not text:
        reason = httpx.codes.get_reason_phrase(status)
        label = f"HTTP {status} {reason}".strip()
        return f"{label} from the provider, with no explanation.", None, None, None
    return f"HTTP {status} from the provider: {readable_text(text, content_type)}", None, None, None


def readable_text(text: str, content_type: str = "", limit: int = 200) -> str:
    """A one-line excerpt of a body meant for browsers or logs: an HTML page's title, else its text."""
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        title = _TITLE.search(text)
        found = title.group(1).strip() if title is not None else ""
        text = html.unescape(found or _TAG.sub(" ", _SCRIPT_STYLE.sub(" ", text)))
    return " ".join(text.split())[:limit]


def _error_fields(obj: Mapping[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    error = obj.get("error", obj)
    if isinstance(error, str):
        return error, None, None, None
    if not isinstance(error, dict):
        return "", None, None, None
    message = error.get("message") or error.get("detail") or ""
    return (
        str(message),
        _str_or_none(error.get("type")),
        _str_or_none(error.get("param")),
        None if error.get("code") is None else str(error.get("code")),
    )


def _error_object_to_exception(
    obj: Mapping[str, Any], request_id: str | None, scrub: Callable[[str], str], *, default_status: int
) -> APIStatusError:
    """An error delivered inside a 200 answer (an SSE `error` event): the status its type implies."""
    message, error_type, param, code = _error_fields(obj)
    error = obj.get("error") if isinstance(obj.get("error"), dict) else obj
    status = (error.get("status") or error.get("status_code")) if isinstance(error, dict) else None
    if not isinstance(status, int) or not 400 <= status <= 599:
        status = _STATUS_TYPES.get(error_type or "", _STATUS_TYPES.get(code or "", default_status))
    return status_error_class(status)(
        scrub(message or "The provider reported an error in the middle of the answer."),
        status_code=status,
        request_id=request_id,
        error_type=error_type,
        param=param,
        code=code,
    )


def _provider_says_retry(headers: httpx.Headers, otherwise: bool) -> bool:
    """The provider's own word on retrying an error answer (`x-should-retry`, as openai-python honours it),
    else `otherwise`: the status rule."""
    word = headers.get("x-should-retry", "").strip().lower()
    return word == "true" if word in ("true", "false") else otherwise


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
