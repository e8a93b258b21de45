"""Time-limited download links for the relay profiles, which answer with `data[i].url` instead of base64."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from ..api.types import IMAGE_CONTENT_TYPES

RESULTS_PATH = "/v1/files/results"


@dataclass(frozen=True)
class StoredResult:
    data: bytes
    output_format: str
    expires_at: float


class ResultStore:
    """Results kept in memory until their link expires; the oldest are dropped beyond `capacity`."""

    def __init__(self, ttl: float = 3600.0, capacity: int = 256) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._items: OrderedDict[str, StoredResult] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, data: bytes, output_format: str) -> str:
        """Keep a result; returns its file name (`token.ext`) under RESULTS_PATH."""
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._items[token] = StoredResult(data, output_format, time.monotonic() + self.ttl)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return f"{token}.{output_format}"

    def get(self, filename: str) -> tuple[bytes, str] | None:
        """(data, content type) for a live link, None if unknown, expired or asked for with another extension."""
        token, _, ext = filename.rpartition(".")
        with self._lock:
            item = self._items.get(token)
            if item is None or ext != item.output_format:
                return None
            if time.monotonic() > item.expires_at:
                del self._items[token]
                return None
        return item.data, IMAGE_CONTENT_TYPES[item.output_format]
