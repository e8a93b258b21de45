"""Reading one successful answer — plain JSON or a Server-Sent Events stream — into an `ImagesResponse`,
delivering each image to `on_event` the moment it arrives, so a later failure cannot lose an image that was
already delivered (and paid for)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from .download import Downloader, DownloadStatusError, decode_result
from .error_mapping import ERROR_BODY_LIMIT, ErrorMapper, readable_text, str_or_none
from .errors import APIError, GptImageError, ResultError
from .payload import InvalidBase64, PayloadError, split_image_payload
from .retry import RETRY_STATUSES, RetryPolicy
from .sse import SSELineTooLong, aiter_sse
from .timeouts import BodyStalled, stall_limited
from .types import GeneratedImage, ImageEvent, ImagesResponse, Usage

OFFLOAD_EVENT_CHARS = 64 * 1024  # streamed events bigger than this are decoded off the event loop
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?(https?://[^\s)>]+)")

EventCallback = Callable[[ImageEvent], Awaitable[None] | None]
ProgressCallback = Callable[[str, float | None], None]


@dataclass(frozen=True)
class ReadOptions:
    """What the reader needs from the client: how to fetch links, when to retry, how to phrase failures."""

    downloader: Downloader
    retry: RetryPolicy
    errors: ErrorMapper


class ResultReader:
    """Turns one successful response (JSON or SSE) into an ImagesResponse, delivering events on the way."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        requested: int,
        options: ReadOptions,
        on_event: EventCallback | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.response = response
        self.requested = requested
        self.options = options
        self.on_event = on_event
        self.on_progress = on_progress
        self.request_id = response.headers.get("x-request-id")
        self.result = ImagesResponse(request_id=self.request_id, requested=requested)

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
        errors = self.options.errors
        try:
            if "text/event-stream" in content_type:
                await self._read_stream()
            else:
                await self._read_json(await self._read_answer())
        except SSELineTooLong as exc:
            raise self._result_error(f"The stream is unusable: {exc}.") from None
        except httpx.TimeoutException as exc:
            error = errors.timeout(exc, str(self.response.url))
            error.request_id = self.request_id
            raise error from exc
        except httpx.TransportError as exc:
            error = errors.connection(exc, str(self.response.url), phase="while receiving the result")
            error.message += " The provider may still have produced (and billed) the image."
            error.request_id = self.request_id
            raise error from exc

    # -- plain JSON answer

    def _answer_limit(self, images: int) -> int:
        # base64 is 4/3 of the image; each image up to the download limit, plus room for the JSON around it.
        return images * self.options.downloader.limit_bytes * 4 // 3 + 1024 * 1024

    async def _read_answer(self) -> bytes:
        limit = self._answer_limit(self.requested)
        body = bytearray()
        chunks = stall_limited(self.response.aiter_bytes(), self.options.errors.timeouts.stall)
        try:
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    body += chunk
                    if len(body) > limit:
                        raise self._result_error(f"The answer is larger than {limit:,} bytes; refusing to read more.")
        except BodyStalled as exc:
            raise self.options.errors.stalled(
                str(self.response.url), exc.received, request_id=self.request_id
            ) from None
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
            raise self._result_error(f"The answer is not valid JSON: {excerpt(text, len(body))}.") from None
        if not isinstance(obj, dict):
            raise self._result_error("The answer is not a JSON object.")
        if isinstance(obj.get("error"), dict | str):  # some relays answer 200 with an error object
            raise self.options.errors.in_answer(obj, self.request_id, default_status=500)
        data = obj.get("data")
        if not isinstance(data, list) or not data:
            found = chat_answer_message(obj) or "The answer contains no images ('data' is missing or empty)."
            raise self._result_error(found)
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
                    f"The stream carried an event that is not JSON: {excerpt(event.data)}."
                ) from None
            kind = str(obj.get("type") or event.event or "")
            if kind == "error" or kind.endswith(".error") or obj.get("error"):
                raise self.options.errors.in_answer(obj, self.request_id, default_status=500)
            if kind.endswith("partial_image"):
                partials += 1
                if decoded is None:
                    raise self._result_error("A partial image in the answer has no image data.")
                self._take_meta(obj)
                index = obj["index"] if isinstance(obj.get("index"), int) else len(self.result.images)
                partial_index = obj.get("partial_image_index")
                await self._emit(
                    ImageEvent(
                        "partial",
                        index,
                        decoded,
                        partial_index=partial_index if isinstance(partial_index, int) else partials - 1,
                        size=str_or_none(obj.get("size")),
                        output_format=str_or_none(obj.get("output_format")),
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
                    image, str_or_none(obj.get("size")), str_or_none(obj.get("output_format")), usage
                )
            elif obj.get("object") in ("chat.completion", "chat.completion.chunk"):
                raise self._result_error(chat_answer_message(obj) or CHAT_ANSWER)
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
        return GeneratedImage(index, data, str_or_none(item.get("revised_prompt")), source_url, decoded_image)

    async def _download(self, url: str, what: str, index: int, count: int) -> bytes:
        """Fetch a result link, retrying transient failures: the image is already paid for."""
        progress = self.on_progress
        retry, errors = self.options.retry, self.options.errors

        def on_fraction(fraction: float | None) -> None:
            if progress is not None:
                progress("downloading", None if fraction is None else (index + fraction) / max(count, index + 1))

        attempt = 0
        while True:
            if progress is not None:
                progress("downloading", index / max(count, index + 1))
            try:
                return await self.options.downloader.fetch(
                    url, what=what, request_id=self.request_id, on_fraction=on_fraction
                )
            except BodyStalled as exc:
                error: GptImageError = errors.stalled(url, exc.received, request_id=self.request_id)
                retryable = True  # a GET of a finished image is safe to repeat
            except DownloadStatusError as exc:
                error = exc
                retryable = exc.status_code in RETRY_STATUSES or exc.status_code >= 500
            except ResultError:
                raise
            except httpx.TimeoutException as exc:
                error = errors.timeout(exc, url)
                retryable = True  # a GET of a finished image is safe to repeat
            except httpx.TransportError as exc:
                error = errors.connection(exc, url, phase="while downloading the result")
                retryable = True
            if not retryable or not retry.allows(attempt):
                raise ResultError(
                    f"{what} was generated but could not be downloaded ({error.message}). "
                    f"The link may still work for a while: {url}",
                    request_id=self.request_id,
                ) from error
            await retry.pause(attempt)
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
        meta = {name: str_or_none(obj.get(name)) for name in ("size", "quality", "background", "output_format")}
        self.result.size = meta["size"] or self.result.size
        self.result.quality = meta["quality"] or self.result.quality
        self.result.background = meta["background"] or self.result.background
        self.result.output_format = meta["output_format"] or self.result.output_format

    async def _emit(self, event: ImageEvent) -> None:
        if self.on_event is None:
            return
        outcome = self.on_event(event)
        if inspect.isawaitable(outcome):
            await outcome

    def _result_error(self, message: str) -> ResultError:
        return ResultError(self.options.errors.scrub(message), request_id=self.request_id)


CHAT_ANSWER = "The provider answered with a chat message instead of images; use its Images API endpoint."


def chat_answer_message(obj: Mapping[str, Any]) -> str | None:
    """The message for a chat-completion answer (some relays answer the Images API with one), else None.
    A Markdown image link in the text is named, not fetched: it may be a preview, a task page or anything."""
    if not str(obj.get("object") or "").startswith("chat.completion") and not isinstance(obj.get("choices"), list):
        return None
    texts: list[str] = []
    for choice in obj.get("choices") or ():
        if isinstance(choice, dict):
            message = choice.get("message") or choice.get("delta")
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                texts.append(content)
    link = next((m.group(1) for text in texts if (m := _MARKDOWN_IMAGE.search(text))), None)
    if link is not None:
        return f"{CHAT_ANSWER[:-1]}. Its text links an image ({link[:200]}), which was not downloaded."
    return CHAT_ANSWER


def excerpt(text: str, size: int | None = None) -> str:
    """What a person can use from a broken body: a JSON start that stops (an image's base64 is noise), or
    the start of whatever else it is (a relay's plain-text error)."""
    size = len(text) if size is None else size
    if text.lstrip()[:1] in ("{", "["):
        return f"it stops after {size:,} bytes, cut off on the way"
    return f"{size:,} bytes starting {text[:120]!r}; it may have been cut off"
