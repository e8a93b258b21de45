"""`ImagesClient`: the async client for OpenAI-compatible Images APIs (edits and generations).

Modelled on openai-python's base client: an injected httpx transport, explicit timeouts, keyword-only
calls, a small typed error hierarchy and bounded retries. Differences on purpose, because an image request
costs money and takes minutes:

- Retries happen only when the request cannot have produced a billed image: connection failures
  (including a connection dropped before any response) and 429/502/503/504. A read timeout is NOT
  retried: the body was sent, the provider may still be drawing (and billing) the image, and a retry
  would wait the whole read timeout again. Anything after the response started is never retried.
- Streamed images are handed to `on_event` the moment they arrive (see `results.py`).

The parts: `retry.py` (when and how long), `error_mapping.py` (answers and failures as typed errors),
`results.py` (reading JSON and streamed answers), `uploads.py` (the checked upload parts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from .. import __version__
from . import providers
from .catalog import ListedModel, image_models
from .download import DEFAULT_DOWNLOAD_LIMIT, Downloader, direct_mounts, shared_ssl_context
from .error_mapping import ErrorMapper, read_limited
from .errors import ConfigError, GptImageError, redact
from .markup import markup_part
from .multipart import MultipartBody, ProgressStream
from .params import ImageParams, validate
from .providers import ENGINE_HEADER, PRESETS, Provider, check_base_url
from .results import EventCallback, ProgressCallback, ReadOptions, ResultReader
from .retry import RETRY_STATUSES, RetryPolicy, Sleep, provider_says_retry
from .timeouts import DEFAULT_TIMEOUTS, Timeouts
from .types import ImageInput, ImagesResponse
from .uploads import image_parts

log = logging.getLogger(__name__)

USER_AGENT = f"gimp-gptimage/{__version__}"
MODEL_LIST_LIMIT = 1024 * 1024  # a provider's /models answer; the longest seen is a few dozen kB

__all__ = ["EventCallback", "ImagesClient", "ProgressCallback", "Timeouts"]


class ImagesClient:
    """Edits and generations against one provider; use as `async with ImagesClient(...) as client`.

    `base_url` defaults to the provider's. It implements `api.backend.ImagesBackend`, the surface jobs use."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        provider: Provider | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
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
        self.retry = RetryPolicy(max(0, max_retries), sleep)
        self._key = _checked_key(api_key)
        self._errors = ErrorMapper(timeouts, lambda text: redact(text, self._key))
        # What the endpoint said it is (ENGINE_HEADER: a gimp-gptimage server's engine), once it answered.
        self._answered = False
        self._engine: str | None = None
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
            timeout=timeouts.to_httpx(),
            limit_bytes=download_limit_bytes,
            transport=transport,
            user_agent=USER_AGENT,
            stall=timeouts.stall,
        )

    @property
    def max_retries(self) -> int:
        return self.retry.max_retries

    @property
    def provider_name(self) -> str:
        return self.provider.name if self.provider else "custom"

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
        *,
        params: ImageParams,
        images: Sequence[ImageInput],
        mask: bytes | None = None,
        markup: bytes | None = None,
        on_event: EventCallback | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ImagesResponse:
        """POST {base}/images/edits. Every image goes as a repeated `image[]` part with its real type.

        `markup` (2.6 models): a PNG of the first image's size, transparent except the annotations.

        `on_event` gets each partial and finished image as it arrives when `params.stream` is true.
        `on_progress(stage, fraction)` gets "uploading" (fraction of the body sent), "generating", and
        "downloading" (url results).
        """
        params = validate(
            params, kind="edit", image_count=len(images), mask=mask is not None, markup=markup is not None
        )
        files = image_parts(images, mask)
        if markup is not None:
            files.append(markup_part(markup, images[0].data))
        body = MultipartBody(self._wire_fields(params), files)
        return await self._request(
            "images/edits", body.segments, body.content_type, params, on_event=on_event, on_progress=on_progress
        )

    async def grows_mask(self) -> bool:
        """Whether the selection is grown for this endpoint (api.providers.grows_mask). An endpoint of no
        preset that has not answered yet is asked once (`GET /models`, free), as the mask is made before
        the request (one more connection: a TLS handshake or a reset is met twice); if it cannot be asked,
        it is taken to be like OpenAI's and asked again next time."""
        if self.provider_name not in PRESETS and not self._answered:
            with contextlib.suppress(GptImageError):  # the request itself will say what is wrong
                await self.models()
        return providers.grows_mask(self.provider_name, self._engine)

    def _note_answer(self, response: httpx.Response) -> None:
        self._answered = True
        self._engine = response.headers.get(ENGINE_HEADER) or None

    async def models(self) -> list[ListedModel]:
        """GET {base}/models: the image models this provider offers (see catalog.py)."""
        url = f"{self.base_url}/models"
        try:
            response = await self._http.send(self._http.build_request("GET", url), stream=True)
        except httpx.TimeoutException as exc:
            raise self._errors.timeout(exc, url) from None
        except httpx.TransportError as exc:
            raise self._errors.connection(exc, url, phase="before any answer arrived") from None
        self._note_answer(response)
        if response.status_code >= 300:
            raise await self._errors.status(response)
        try:
            body = json.loads(await read_limited(response, MODEL_LIST_LIMIT))
        except ValueError:
            body = None
        finally:
            await response.aclose()
        return image_models(body)

    async def generate(
        self,
        *,
        params: ImageParams,
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
            reader = ResultReader(
                response,
                requested=params.n,
                options=ReadOptions(self._downloader, self.retry, self._errors),
                on_event=on_event if params.stream else None,
                on_progress=on_progress,
            )
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
            retry_after: float | None = None
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                # Connect/pool/write timeouts mean the request never fully arrived; a read timeout means
                # the provider has the request and may be working on (and billing) it: never retried.
                error: GptImageError = self._errors.timeout(exc, url)
                retryable = not isinstance(exc, httpx.ReadTimeout)
            except httpx.TransportError as exc:
                connection = self._errors.connection(exc, url, phase="before any answer arrived")
                error = connection
                # Refused/reset before any response: the provider did not answer, so it did not draw. An
                # untrusted certificate stays untrusted: asking again only repeats the handshake.
                retryable = isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError) and (
                    connection.failure != "tls"
                )
            else:
                self._note_answer(response)
                if response.status_code < 300:
                    return response
                if response.status_code < 400:  # never resend a paid request (and the key) elsewhere by itself
                    raise await self._errors.redirect(response)
                status_error = await self._errors.status(response)
                error, retry_after = status_error, status_error.retry_after
                # An exhausted quota stays exhausted: asking again only delays the answer.
                retryable = provider_says_retry(
                    response.headers,
                    response.status_code in RETRY_STATUSES and status_error.code != "insufficient_quota",
                )
            if not retryable or not self.retry.allows(attempt):
                raise error
            log.info("Retrying %s after: %s", url, error)
            await self.retry.pause(attempt, retry_after)
            attempt += 1


def _checked_key(api_key: str) -> str:
    key = (api_key or "").strip()
    if not key:
        raise ConfigError("No API key. Set GPTIMAGE_API_KEY (or OPENAI_API_KEY), or enter one in Settings.")
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise ConfigError("The API key contains spaces, line breaks or non-ASCII characters; paste it again.")
    return key
