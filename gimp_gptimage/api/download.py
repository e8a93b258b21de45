"""Fetching `url` results, and checking that result bytes really are an image.

Relays answer with time-limited links on some other host (a CDN). They are fetched with a separate
httpx client that never carries the Authorization header, is size-capped while streaming, and whose
result must decode as an image with Pillow's decompression-bomb protection left on.
"""

from __future__ import annotations

import functools
import html
import io
import os
import re
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from PIL import Image, UnidentifiedImageError

from .errors import ResultError
from .providers import is_loopback_host

DEFAULT_DOWNLOAD_LIMIT = 64 * 1024 * 1024  # a 3840x2160 RGBA PNG of pure noise is about 33 MB
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_LOOPBACK_PATTERNS = ("all://127.0.0.1", "all://localhost", "all://[::1]")


def shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every transport: each load of the system's CA store costs about 20 ms,
    and a client has up to eight transports. SSL_CERT_FILE / SSL_CERT_DIR apply as httpx reads them."""
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    # The arguments are the cache key: a changed SSL_CERT_FILE gets a context of its own.
    return httpx.create_ssl_context()


def direct_mounts(*hosts: str) -> dict[str, httpx.AsyncBaseTransport]:
    """Transports for this computer's addresses (the embedded server, plus any loopback `hosts`) that bypass
    an HTTP(S)_PROXY from the environment, while SSL_CERT_FILE / SSL_CERT_DIR still apply as everywhere."""
    patterns: set[str] = set(_LOOPBACK_PATTERNS)
    for host in hosts:
        if is_loopback_host(host):
            patterns.add(f"all://[{host}]" if ":" in host else f"all://{host}")
    return {pattern: httpx.AsyncHTTPTransport(verify=shared_ssl_context()) for pattern in sorted(patterns)}


def decode_result(data: bytes, what: str, *, request_id: str | None = None) -> Image.Image:
    """The decoded image, or ResultError if `data` is not a whole, sane image. The decode is the check, and
    its image travels on with the bytes (GeneratedImage.image), so nobody decodes a result twice."""
    try:
        img = Image.open(io.BytesIO(data))
        # Bombs above Pillow's limit are refused outright; Image.open only warns between 1x and 2x.
        if img.width * img.height > (Image.MAX_IMAGE_PIXELS or float("inf")):
            raise ResultError(
                f"{what} claims {img.width}x{img.height} pixels, more than any image model produces.",
                request_id=request_id,
            )
        img.load()  # a full decode: catches truncated or corrupt data of every format, not just PNG
    except ResultError:
        raise
    except UnidentifiedImageError:
        if data.lstrip()[:1] == b"<":
            raise ResultError(
                f"{what} is not a readable image: it is a web page ({_page_title(data)}); the link may have "
                "expired or need a login.",
                request_id=request_id,
            ) from None
        raise ResultError(
            f"{what} is not a readable image (unknown format, {len(data):,} bytes starting {data[:16]!r}).",
            request_id=request_id,
        ) from None
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise ResultError(f"{what} is not a readable image ({exc}).", request_id=request_id) from None
    return img


def _page_title(data: bytes) -> str:
    text = data[:4096].decode("utf-8", errors="replace")
    match = _TITLE.search(text)
    title = " ".join(html.unescape(match.group(1)).split())[:80] if match else ""
    return f"'{title}'" if title else f"{len(data):,} bytes of HTML"


class DownloadStatusError(ResultError):
    """The download host answered with an HTTP error status (retryable when 429 or 5xx)."""

    def __init__(self, message: str, *, status_code: int, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code


class Downloader:
    """Downloads result links without credentials, bounded in size."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout,
        limit_bytes: int = DEFAULT_DOWNLOAD_LIMIT,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "gimp-gptimage",
    ) -> None:
        self.limit_bytes = limit_bytes
        # Deliberately no auth and no default headers beyond the user agent: the API key must never
        # reach the download host. Redirects are followed (CDNs use them); httpx only follows http(s).
        # Links on this computer (the local server) must not go through an HTTP(S)_PROXY from the environment.
        direct = None if transport is not None else direct_mounts()
        self._client = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            mounts=direct,
            verify=shared_ssl_context(),
            follow_redirects=True,
            headers={"User-Agent": user_agent},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        what: str = "The result image",
        request_id: str | None = None,
        on_fraction: Callable[[float | None], None] | None = None,
    ) -> bytes:
        """The bytes at url; raises ResultError (bad link, too big, HTTP error) or httpx transport errors."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise ResultError(f"{what} link '{url[:200]}' is not an http(s) address.", request_id=request_id)
        try:
            request = self._client.build_request("GET", url)
        except httpx.InvalidURL as exc:
            raise ResultError(f"{what} link is not a valid address ({exc}).", request_id=request_id) from None
        response = await self._client.send(request, stream=True)
        try:
            if response.status_code >= 400:
                raise DownloadStatusError(
                    f"Downloading {what.lower()} failed with HTTP {response.status_code}.",
                    status_code=response.status_code,
                    request_id=request_id,
                )
            declared = _content_length(response)
            if declared is not None and declared > self.limit_bytes:
                raise ResultError(self._too_big(what, declared), request_id=request_id)
            received = bytearray()
            async for chunk in response.aiter_bytes():  # decoded, so a gzip bomb is capped too
                received += chunk
                if len(received) > self.limit_bytes:
                    raise ResultError(self._too_big(what, len(received)), request_id=request_id)
                if on_fraction is not None:
                    on_fraction(min(len(received) / declared, 1.0) if declared else None)
        finally:
            await response.aclose()
        return bytes(received)

    def _too_big(self, what: str, size: int) -> str:
        return f"{what} is larger than the download limit ({size:,} > {self.limit_bytes:,} bytes)."


def _content_length(response: httpx.Response) -> int | None:
    try:
        value = int(response.headers.get("content-length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None
