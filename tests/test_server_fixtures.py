"""The shared server fixtures work as other test modules will use them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from server_fixtures import AUTH, asgi_client, relay_server, server_factory  # noqa: F401

from gimp_gptimage.server import Fault, LocalServer


def test_local_and_relay_servers(local_server: LocalServer, relay_server: LocalServer) -> None:  # noqa: F811
    first = httpx.post(local_server.base_url + "/images/generations", json={"prompt": "x"}, headers=AUTH)
    assert "b64_json" in first.json()["data"][0]
    second = httpx.post(relay_server.base_url + "/images/generations", json={"prompt": "x"}, headers=AUTH)
    assert "url" in second.json()["data"][0]


def test_server_factory(server_factory: Callable[..., LocalServer]) -> None:  # noqa: F811
    server = server_factory(profile="quickrouter", faults=[Fault("status", status=502)])
    response = httpx.post(server.base_url + "/images/generations", json={"prompt": "x"}, headers=AUTH)
    assert response.status_code == 502


async def test_asgi_client(asgi_client: Callable[..., httpx.AsyncClient]) -> None:  # noqa: F811
    client = asgi_client(profile="crazyrouter")
    response = await client.post("/images/generations", json={"prompt": "x", "quality": "hd"})
    assert response.json()["quality"] == "high"
    assert client.app.state.gptimage.profile.name == "crazyrouter"  # type: ignore[attr-defined]
