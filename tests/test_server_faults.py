"""Every injectable fault, acted out for real and observed with a raw httpx client."""

from __future__ import annotations

import base64
import io
import json
import struct
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from server_fixtures import ASGI_BASE, AUTH, decode

from gimp_gptimage.server import Fault, FaultPlan, LocalServer, create_app

GENERATE = {"prompt": "a kite", "size": "1024x1024", "quality": "low"}


@pytest.fixture(scope="module")
def relay() -> Iterator[LocalServer]:
    with LocalServer(profile="crazyrouter", faults=()) as running:
        yield running


@pytest.fixture
def client(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=30) as http:
        yield http


def generate(client: httpx.Client, **extra: object) -> httpx.Response:
    return client.post("/images/generations", json={**GENERATE, **extra})


def test_status_with_retry_after_then_recovers(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("status", status=429, retry_after=2))
    limited = generate(client)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.headers["x-request-id"].startswith("req_")
    error = limited.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
    assert generate(client).status_code == 200


def test_status_with_custom_error(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("status", status=500, message="boom", code="server_oops", times=2))
    for _ in range(2):
        response = generate(client)
        assert response.status_code == 500
        assert response.json() == {
            "error": {"message": "boom", "type": "server_error", "param": None, "code": "server_oops"}
        }
    assert generate(client).status_code == 200


def test_html_error_page(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("html", status=504))
    response = generate(client)
    assert response.status_code == 504 and response.headers["content-type"].startswith("text/html")
    assert "<h1>504 Gateway Time-out</h1>" in response.text and "nginx" in response.text


def test_plain_text_error(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("text"))
    response = generate(client)
    assert response.status_code == 503 and response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("upstream connect error")


def test_reset_before_the_response(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("reset"))
    with pytest.raises(httpx.ReadError, match="Connection reset by peer"):  # a real RST, not a polite close
        generate(client)
    assert generate(client).status_code == 200  # the server is fine afterwards


def test_reset_on_an_edit_upload(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("reset", endpoint="edits"))
    image = io.BytesIO()
    Image.new("RGB", (1024, 1024), (9, 9, 9)).save(image, "PNG")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)):
        client.post("/images/edits", data={"prompt": "x"}, files=[("image", ("a.png", image.getvalue(), "image/png"))])


def test_reset_mid_stream_after_events(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("reset_after", events=2))
    events: list[str] = []
    with (
        pytest.raises(httpx.ReadError, match="Connection reset by peer"),
        client.stream("POST", "/images/generations", json={**GENERATE, "stream": True, "partial_images": 3}) as stream,
    ):
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
    assert events == ["image_generation.partial_image"] * 2


def test_reset_mid_body(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("reset_after"))
    with pytest.raises(httpx.ReadError, match="Connection reset by peer"):
        generate(client)


def test_slow_drip(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("drip", bytes_per_second=400))
    started = time.monotonic()
    arrivals: list[float] = []
    body = b""
    with client.stream("POST", "/images/generations", json={**GENERATE, "n": 0}) as stream:  # a small 400 body
        for chunk in stream.iter_raw():
            arrivals.append(time.monotonic() - started)
            body += chunk
    assert json.loads(body)["error"]["param"] == "n"
    assert len(arrivals) >= 2 and arrivals[-1] - arrivals[0] >= 0.8 * (len(body) - 40) / 400


def test_truncated_json(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("truncate"))
    response = generate(client)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_empty_data(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("empty_data"))
    response = generate(client)
    assert response.status_code == 200 and response.json()["data"] == []
    assert response.json()["size"] == "1024x1024"


def test_results_of_an_unexpected_size(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("wrong_size", size="512x768"))
    response = generate(client)
    assert response.json()["size"] == "1024x1024"
    assert decode(base64.b64decode(response.json()["data"][0]["b64_json"])).size == (512, 768)


def test_delay_longer_than_the_client_timeout(server: LocalServer, client: httpx.Client) -> None:
    server.faults.add(Fault("delay", seconds=3))
    with pytest.raises(httpx.ReadTimeout):
        client.post("/images/generations", json=GENERATE, timeout=httpx.Timeout(30, read=0.3))
    assert generate(client).status_code == 200


def test_url_result_faults(relay: LocalServer) -> None:
    relay.faults.extend([Fault("result_missing"), Fault("result_html"), Fault("result_bomb")])
    with httpx.Client(base_url=relay.base_url, headers=AUTH, timeout=30) as client:
        response = generate(client, n=4)
        assert response.status_code == 200  # result faults wait for the downloads
        urls = [item["url"] for item in response.json()["data"]]
        missing, html, bomb, fine = (client.get(url) for url in urls)
    assert missing.status_code == 404 and "404 Not Found" in missing.text
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert bomb.status_code == 200 and bomb.headers["content-type"] == "image/png" and len(bomb.content) < 2000
    assert bomb.content[12:16] == b"IHDR" and struct.unpack(">II", bomb.content[16:24]) == (60_000, 60_000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb.content))
    assert fine.status_code == 200 and decode(fine.content).size == (1024, 1024)


def test_faults_match_their_endpoint(server: LocalServer, client: httpx.Client) -> None:
    server.faults.extend(
        [Fault("status", status=418, endpoint="edits"), Fault("status", status=503, endpoint="models")]
    )
    assert generate(client).status_code == 200
    assert client.get("/models").status_code == 503
    assert len(server.faults) == 1 and server.faults.pending()[0].endpoint == "edits"
    assert (
        client.post("/images/edits", data={"prompt": "x"}, files={"image": ("a.png", b"", "image/png")}).status_code
        == 418
    )


def test_plan_is_thread_safe_and_counts_uses() -> None:
    import threading

    plan = FaultPlan([Fault("status", times=500), Fault("reset", times=500)])
    taken: list[Fault | None] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            fault = plan.take("generations")
            with lock:
                taken.append(fault)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for f in taken if f is not None and f.kind == "status") == 500
    assert sum(1 for f in taken if f is not None and f.kind == "reset") == 500
    assert taken.count(None) == 200 and len(plan) == 0


async def test_in_process_resets_raise_what_httpx_raises() -> None:
    plan = FaultPlan([Fault("reset"), Fault("reset_after", events=1)])
    transport = httpx.ASGITransport(app=create_app(faults=plan))
    async with httpx.AsyncClient(transport=transport, base_url=ASGI_BASE, headers=AUTH) as client:
        with pytest.raises(httpx.ReadError):
            await client.post("/images/generations", json=GENERATE)
        with pytest.raises(httpx.ReadError):
            await client.post("/images/generations", json={**GENERATE, "stream": True, "partial_images": 2})
        assert (await client.post("/images/generations", json=GENERATE)).status_code == 200
