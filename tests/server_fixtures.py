"""Fixtures and helpers for tests that talk to the local server (import what you need from here).

    from server_fixtures import relay_server, server_factory, asgi_client, png_bytes  # noqa: F401

`local_server` and `server` (tests/conftest.py) are the module's running `LocalServer` (openai profile, any
bearer key accepted) on a loopback port; `relay_server` the same with the crazyrouter profile (url results,
`hd` accepted); `server_factory(...)` starts more with any `LocalServer` arguments; `asgi_client(...)` is
an in-process `httpx.AsyncClient`.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from gimp_gptimage.server import LocalServer, create_app

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
TEST_KEY = "sk-test-local-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
ASGI_BASE = "http://127.0.0.1/v1"


def png_bytes(
    size: tuple[int, int] = (64, 48), colour: tuple[int, ...] = (200, 40, 40), mode: str = "RGB", fmt: str = "PNG"
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def mask_png(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """An API mask: opaque everywhere, alpha 0 (edit) inside box = (x0, y0, x1, y1)."""
    alpha = np.full((size[1], size[0]), 255, np.uint8)
    x0, y0, x1, y1 = box
    alpha[y0:y1, x0:x1] = 0
    rgba = np.dstack([np.zeros_like(alpha)] * 3 + [alpha])
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def resource_bytes(name: str) -> bytes:
    return (RESOURCES / name).read_bytes()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def relay_server() -> Iterator[LocalServer]:
    with LocalServer(profile="crazyrouter") as server:
        yield server


@pytest.fixture
def server_factory() -> Iterator[Callable[..., LocalServer]]:
    started: list[LocalServer] = []

    def start(**kwargs: Any) -> LocalServer:
        server = LocalServer(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
async def asgi_client() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Factory for in-process clients: `asgi_client(profile="quickrouter", api_key=...)`, base URL .../v1."""
    async with AsyncExitStack() as stack:

        def make(**app_kwargs: Any) -> httpx.AsyncClient:
            app = create_app(**app_kwargs)
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ASGI_BASE, headers=AUTH)
            client.app = app  # type: ignore[attr-defined]
            stack.push_async_callback(client.aclose)
            return client

        yield make
