"""The embedded backend's child process: serves real HTTP, stops when told, and never outlives its parent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from gimp_gptimage.api.client import ImagesClient
from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.server.child import ServerProcess


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_it_serves_the_api_on_loopback_and_stops_when_told() -> None:
    with ServerProcess(profile="crazyrouter") as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        pid = server.pid
        assert pid is not None and pid != os.getpid()

        async def generate() -> int:
            async with ImagesClient(base_url=server.base_url, api_key="sk-any") as client:
                answer = await client.generate(params=ImageParams(prompt="a lighthouse", size="1024x1024", n=2))
            return len(answer.images)

        assert asyncio.run(generate()) == 2
    assert _gone(pid, within=1.0)  # stop() waited for it


def test_stopping_twice_or_before_starting_is_harmless() -> None:
    server = ServerProcess()
    server.stop()
    with server:
        pass
    server.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is how a parent dies without cleaning up")
def test_a_killed_parent_leaves_no_server_behind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import time
                from gimp_gptimage.server.child import ServerProcess
                server = ServerProcess().start()
                print(server.pid, flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert psutil.pid_exists(child)
        parent.send_signal(signal.SIGKILL)  # no stop(), no atexit: only the closed pipe tells the child
        parent.wait(10)
        assert _gone(child), "the server outlived its parent"
    finally:
        parent.kill()
        parent.wait()


def test_a_server_that_cannot_start_is_reported() -> None:
    server = ServerProcess(profile="no-such-profile")
    with pytest.raises(RuntimeError, match="did not start"):
        server.start()
    assert server.pid is None  # nothing left running
