"""When to ask again, and how long to wait first: the status rule, the provider's own word, backoff.

An image request costs money, so only answers that cannot have produced a billed image are retried (the
send loop in `client.py` decides which failures those are); this module only says how long to wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # a longer wait is not worth holding a person's request open for
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0

Sleep = Callable[[float], Awaitable[None]]


def provider_says_retry(headers: httpx.Headers, otherwise: bool) -> bool:
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


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """The provider's Retry-After (capped), else capped exponential backoff with up to 25% jitter, so many
    clients do not retry in lockstep."""
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, MAX_RETRY_AFTER)
    return min(INITIAL_BACKOFF * 2**attempt, MAX_BACKOFF) * (1 - 0.25 * random.random())


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a failure that is safe to repeat is tried again, and the pause before each try."""

    max_retries: int = 2
    sleep: Sleep = field(default=asyncio.sleep, compare=False)

    def allows(self, attempt: int) -> bool:
        """Whether try number `attempt` (0 = the first) may be followed by another."""
        return attempt < self.max_retries

    async def pause(self, attempt: int, retry_after: float | None = None) -> None:
        await self.sleep(retry_delay(attempt, retry_after))
