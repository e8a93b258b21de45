"""Running the server for real: `LocalServer` in a thread, and `serve()` / `python -m gimp_gptimage.server`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import psutil
import pytest
from server_fixtures import AUTH

from gimp_gptimage.server import BANNER, Fault, LocalServer


def listening_on(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("gptimage-server-")]


def test_local_server_serves_and_stops_cleanly() -> None:
    before = {c.laddr for c in psutil.Process().net_connections(kind="tcp")}
    with LocalServer(profile="quickrouter") as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.root_url == f"http://127.0.0.1:{server.port}"
        health = httpx.get(server.root_url + "/healthz")
        assert health.json()["profile"] == "quickrouter"
        with httpx.Client(base_url=server.base_url, headers=AUTH) as client:  # a keep-alive connection
            assert client.get("/models").status_code == 200
            assert client.post("/images/generations", json={"prompt": "x"}).status_code == 200
        assert len(server_threads()) == 1
        port = server.port
    assert not listening_on(port)
    assert server_threads() == []
    after = {c.laddr for c in psutil.Process().net_connections(kind="tcp") if c.status != psutil.CONN_TIME_WAIT}
    assert not {a for a in after - before if a.port == port}


def test_stop_does_not_wait_for_a_stuck_request() -> None:
    server = LocalServer(faults=[Fault("delay", seconds=60)]).start()
    worker = threading.Thread(
        target=lambda: (
            httpx.post(server.base_url + "/images/generations", json={"prompt": "x"}, headers=AUTH)
            if False
            else _swallow(server)
        ),
        daemon=True,
    )
    worker.start()
    deadline = time.monotonic() + 10
    while len(server.faults) and time.monotonic() < deadline:  # the request has arrived once its fault is taken
        time.sleep(0.01)
    assert len(server.faults) == 0
    server.stop()
    assert not listening_on(server.port) and server_threads() == []


def _swallow(server: LocalServer) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(server.base_url + "/images/generations", json={"prompt": "x"}, headers=AUTH, timeout=30)


def test_two_servers_get_different_ports() -> None:
    with LocalServer() as first, LocalServer(profile="crazyrouter") as second:
        assert first.port != second.port
        assert httpx.get(second.root_url + "/healthz").json()["profile"] == "crazyrouter"


def test_busy_port_is_reported() -> None:
    with LocalServer() as server, pytest.raises(OSError):
        LocalServer(port=server.port).start()


async def test_usable_from_inside_a_running_event_loop() -> None:
    with LocalServer() as server:  # blocking enter inside a loop: the server has its own thread and loop
        async with httpx.AsyncClient(base_url=server.base_url, headers=AUTH) as client:
            assert (await client.post("/images/generations", json={"prompt": "x"})).status_code == 200
    async with LocalServer(profile="crazyrouter") as server, httpx.AsyncClient(headers=AUTH) as client:
        response = await client.post(server.base_url + "/images/generations", json={"prompt": "x"})
        assert (await client.get(response.json()["data"][0]["url"])).status_code == 200
    assert server_threads() == []


def test_required_key() -> None:
    with LocalServer(api_key="sk-local-secret-1234") as server:
        wrong = httpx.get(server.base_url + "/models", headers=AUTH)
        assert wrong.status_code == 401
        right = httpx.get(server.base_url + "/models", headers={"Authorization": "Bearer sk-local-secret-1234"})
        assert right.status_code == 200


def _start_cli(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gimp_gptimage.server", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line


def test_serve_prints_one_line_once_accepting_and_stops_on_sigint() -> None:
    process, line = _start_cli("--profile", "crazyrouter", "--fault", "status:429,retry_after=3")
    try:
        prefix = BANNER.format(url="")
        assert line.startswith(prefix) and line.endswith("/v1\n"), line
        base_url = line.strip().removeprefix(prefix)
        limited = httpx.post(base_url + "/images/generations", json={"prompt": "x"}, headers=AUTH)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
        ok = httpx.post(base_url + "/images/generations", json={"prompt": "x"}, headers=AUTH)
        assert ok.status_code == 200 and "url" in ok.json()["data"][0]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert out == "" and "Traceback" not in err
    assert process.returncode == 0


def test_serve_with_required_key_from_environment() -> None:
    process, line = _start_cli("--require-key-env", "LOCAL_TEST_KEY", env={"LOCAL_TEST_KEY": "sk-env-key-0000"})
    try:
        base_url = line.strip().rsplit(" ", 1)[1]
        assert httpx.get(base_url + "/models", headers=AUTH).status_code == 401
        assert httpx.get(base_url + "/models", headers={"Authorization": "Bearer sk-env-key-0000"}).status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=15)
    missing = subprocess.run(
        [sys.executable, "-m", "gimp_gptimage.server", "--require-key-env", "NOT_SET_ANYWHERE_X"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode != 0 and "NOT_SET_ANYWHERE_X is not set" in missing.stderr


def test_fault_specs() -> None:
    assert Fault.parse("status:429,retry_after=2") == Fault("status", status=429, retry_after=2.0)
    assert Fault.parse("reset_after:3,times=2") == Fault("reset_after", events=3, times=2)
    assert Fault.parse("drip:200,endpoint=results") == Fault("drip", bytes_per_second=200, endpoint="results")
    assert Fault.parse("wrong_size:512x768").size == "512x768"
    assert Fault.parse("result_bomb").target == "results"
    assert Fault.from_json(Fault("delay", seconds=1.5).to_json()) == Fault("delay", seconds=1.5)
    for bad in ("explode", "reset:3", "status:429,colour=red", "status:429,oops", "drip:0"):
        with pytest.raises(ValueError):
            Fault.parse(bad)


def test_serve_on_a_busy_port_is_one_clear_line() -> None:
    with LocalServer() as server:
        busy = subprocess.run(
            [sys.executable, "-m", "gimp_gptimage.server", "--port", str(server.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert busy.returncode == 1 and busy.stdout == ""
    assert busy.stderr.strip().startswith(f"error: Cannot listen on 127.0.0.1:{server.port}: ")
    assert "Traceback" not in busy.stderr


@pytest.mark.parametrize(("flags", "status"), [((), 404), (("--faults",), 200)])
def test_serve_mounts_fault_injection_only_when_asked(flags: tuple[str, ...], status: int) -> None:
    process, line = _start_cli(*flags)
    try:
        root = line.strip().rsplit(" ", 1)[1].removesuffix("/v1")
        assert httpx.get(root + "/_control/faults").status_code == status
    finally:
        process.terminate()
        process.communicate(timeout=15)
