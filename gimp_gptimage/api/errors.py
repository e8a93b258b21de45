"""The error hierarchy and the single funnel that turns any failure into a message for a person.

Modelled on openai-python: status errors carry the HTTP status, the API's message/type/param/code and
the request id. Nothing here ever includes the API key: messages are built from server answers, which
`redact()` scrubs anyway in case a relay echoes the Authorization header back.
"""

from __future__ import annotations

import errno
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .types import ImagesResponse

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+")
_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{6})[A-Za-z0-9_\-]+")


def redact(text: str, secret: str | None = None) -> str:
    """Remove anything that looks like a credential from text meant for logs or people."""
    if secret:
        text = text.replace(secret, "[redacted]")
    text = _BEARER.sub(r"\1[redacted]", text)
    return _KEYLIKE.sub(r"\1…", text)


class GptImageError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(GptImageError):
    """Parameters broke a rule before anything was sent; names the rule and the value."""

    def __init__(self, message: str, *, param: str | None = None, value: object = None, rule: str = "") -> None:
        super().__init__(message)
        self.param = param
        self.value = value
        self.rule = rule


class APIError(GptImageError):
    """Something went wrong talking to the provider."""

    # Images that did arrive before the failure (one of two links downloaded, a stream cut after its first
    # image): the client attaches them so that nothing already paid for is lost. None when there are none.
    partial: ImagesResponse | None = None

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class APIStatusError(APIError):
    """The server answered with a 4xx/5xx status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        error_type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.error_type = error_type
        self.param = param
        self.code = code
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    pass


class PermissionDeniedError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    pass


class InternalServerError(APIStatusError):
    pass


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


ConnectionFailure = Literal["connect", "dns", "tls", "broken"]


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke.

    `failure` says how, so the message can say what to do: "connect" (refused or unreachable), "dns" (the
    host name does not resolve), "tls" (the certificate was not accepted), "broken" (dropped midway).
    """

    def __init__(self, message: str, *, request_id: str | None = None, failure: ConnectionFailure = "connect") -> None:
        super().__init__(message, request_id=request_id)
        self.failure: ConnectionFailure = failure


class APITimeoutError(APIConnectionError):
    """No answer within the configured timeout."""


class ResultError(APIError):
    """The server answered 200 but the result is unusable (no data, truncated, not an image, too big)."""


class ConfigError(GptImageError):
    """Local configuration is missing or wrong (no key, unknown provider, refused base URL)."""


@dataclass(frozen=True)
class UserMessage:
    """What a person sees: what happened, and what to do about it."""

    title: str
    detail: str
    hint: str = ""
    status_code: int | None = None
    request_id: str | None = None

    def one_line(self) -> str:
        parts = [self.title]
        if self.detail and self.detail != self.title:
            parts.append(self.detail)
        if self.hint:
            parts.append(self.hint)
        tail = []
        if self.status_code:
            tail.append(f"HTTP {self.status_code}")
        if self.request_id:
            tail.append(f"request id {self.request_id}")
        line = " — ".join(parts)
        return f"{line} ({', '.join(tail)})" if tail else line


_STATUS_HINTS: dict[int, tuple[str, str]] = {
    400: ("The provider rejected the request", "Check the parameters named in the message."),
    401: ("The API key was not accepted", "Enter a valid key for this provider in Settings."),
    403: ("This key may not use this model or endpoint", "Check the key's organisation and model access."),
    404: ("The provider does not know this model or address", "Check the model name and the base URL."),
    413: (
        "The provider refused the upload as too large",
        "Select a smaller area, or use fewer or smaller reference images.",
    ),
    429: ("The provider is rate limiting or out of quota", "Wait a little, or check the account's quota."),
}


def _status_hint(status_code: int) -> tuple[str, str]:
    """Title and advice for an HTTP status: a 4xx is about the request, a 5xx about the provider."""
    if status_code in _STATUS_HINTS:
        return _STATUS_HINTS[status_code]
    if 300 <= status_code < 400:
        return ("The provider's address redirects elsewhere", "Enter the address it redirects to as the base URL.")
    if 400 <= status_code < 500:
        return ("The provider rejected the request", "Check the base URL and the parameters named in the message.")
    return ("The provider failed to answer", "This is usually temporary; try again in a minute.")


_CONNECTION_HINTS: dict[str, tuple[str, str]] = {
    "connect": ("Could not reach the provider", "Check the base URL and your network connection."),
    "dns": (
        "The provider's host name was not found",
        "Check the spelling of the base URL and that this computer is online.",
    ),
    "tls": (
        "The provider's security certificate was not accepted",
        # Never "turn verification off": a proxy that inspects HTTPS must be trusted properly instead.
        "If a company proxy or antivirus inspects HTTPS, install its certificate in the system's trust store "
        "(or point SSL_CERT_FILE at it); certificate checks stay on to protect the API key.",
    ),
    "broken": (
        "The connection to the provider broke",
        "Try again; results that had already arrived are kept in history.",
    ),
}


def explain(exc: BaseException, secret: str | None = None) -> UserMessage:
    """The one funnel from any exception to a message for a person (CLI, dialog, plug-in)."""
    import asyncio  # here, not at the top: the CLI imports this module before it starts reading its input

    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        # Not "nothing was changed": results inserted before the cancel stay, and arrived ones are in history.
        return UserMessage(
            "Cancelled", "The request was cancelled.", "Results that had already arrived are kept in history."
        )
    if isinstance(exc, ValidationError):
        return UserMessage("Invalid parameters", redact(exc.message, secret), "Nothing was sent.")
    if isinstance(exc, ConfigError):
        return UserMessage("Configuration problem", redact(exc.message, secret))
    if isinstance(exc, APIStatusError):
        title, hint = _status_hint(exc.status_code)
        if exc.code == "moderation_blocked":
            title = "The provider's safety system refused the request"
            hint = "Rephrase the prompt or use another image; a refused request produces no image."
        if exc.code == "insufficient_quota":
            title = "The account is out of credit or quota"
            hint = "Check the plan and billing details with the provider; waiting will not help."
        elif exc.status_code == 429 and exc.retry_after:
            hint = f"The provider asks to wait {math.ceil(exc.retry_after)} s; try again then, or check the quota."
        return UserMessage(title, redact(exc.message, secret), hint, exc.status_code, exc.request_id)
    if isinstance(exc, APITimeoutError):
        hint = (
            "Check the base URL and your network connection."
            if exc.failure == "connect"
            else "The provider may be overloaded: try again later, or turn on streaming, which keeps a long "
            "render's connection alive."
        )
        return UserMessage(
            "The provider did not answer in time", redact(exc.message, secret), hint, request_id=exc.request_id
        )
    if isinstance(exc, APIConnectionError):
        title, hint = _CONNECTION_HINTS.get(exc.failure, _CONNECTION_HINTS["connect"])
        return UserMessage(title, redact(exc.message, secret), hint, request_id=exc.request_id)
    if isinstance(exc, ResultError):
        return UserMessage(
            "The provider's answer was unusable",
            redact(exc.message, secret),
            "Try again; if it keeps happening, report it to the provider with the request id.",
            request_id=exc.request_id,
        )
    if isinstance(exc, GptImageError):
        return UserMessage("Error", redact(exc.message, secret))
    if isinstance(exc, MemoryError):
        return UserMessage("Out of memory", "The image is too large to process.", "Use a smaller selection.")
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        detail = redact(f"{exc.strerror or exc}{where}", secret)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return UserMessage("The disk is full", detail, "Free some disk space, then try again.")
        return UserMessage("File problem", detail, "Check that the folder exists and can be written to.")
    return UserMessage("Unexpected error", redact(f"{type(exc).__name__}: {exc}", secret))
