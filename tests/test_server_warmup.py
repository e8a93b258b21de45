"""A server warms its engine up in the background once it is ready: readiness and requests never wait for
it, a request during it succeeds (and runs warm), stopping the server ends it at once, and an engine with
nothing to prepare (the OpenCV fallback) skips it."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
import threading
from typing import Any

import httpx
from server_fixtures import AUTH, decode, mask_png, resource_bytes

from gimp_gptimage.server import BANNER, LocalServer, MiganEngine, OpenCVEngine
from gimp_gptimage.server.engine_protocol import Stop
from gimp_gptimage.server.migan_session import MiganSession

WAIT = 120.0  # bounds a broken test, never a figure under test


class HeldEngine(OpenCVEngine):
    """An engine whose warm-up lasts until the test releases it or the server stops it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.stopped = threading.Event()
        self.done = False

    @property
    def warmed(self) -> bool:
        return self.done

    def warm_up(self, stop: Stop) -> None:
        stop.on_set(self.stopped.set)
        while not (self.release.wait(0.01) or stop.is_set()):
            pass
        self.done = not stop.is_set()


class WatchedRuntime:
    """A session's onnxruntime session, noting which thread starts each run."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.started = threading.Event()
        self.threads: list[str] = []

    def run(self, *args: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        self.started.set()
        return self._inner.run(*args)


def watched_session() -> tuple[MiganSession, WatchedRuntime]:
    """A fresh session (a session's first run is the slow one, so not the process's shared one)."""
    session = MiganSession()
    runtime = WatchedRuntime(session._session)
    session._session = runtime
    return session, runtime


def health(server: LocalServer) -> dict:
    return httpx.get(f"{server.root_url}/healthz", timeout=WAIT).json()


def test_readiness_and_requests_never_wait_for_the_warm_up() -> None:
    engine = HeldEngine()
    with LocalServer(engine=engine) as server:  # started although the warm-up has not finished
        warm_up = server.warm_up
        assert warm_up is not None and warm_up.running
        assert health(server)["warmed"] is False
        response = httpx.post(f"{server.base_url}/images/generations", headers=AUTH, json={"prompt": "x"}, timeout=WAIT)
        assert response.status_code == 200 and warm_up.running
        engine.release.set()
        assert warm_up.wait(WAIT)
        assert health(server)["warmed"] is True and not engine.stopped.is_set()


def test_stopping_the_server_stops_its_warm_up() -> None:
    engine = HeldEngine()
    server = LocalServer(engine=engine).start()
    warm_up = server.warm_up
    assert warm_up is not None
    server.stop()
    assert engine.stopped.is_set() and not warm_up.running and not engine.warmed


def test_an_engine_with_nothing_to_prepare_skips_it() -> None:
    """The OpenCV engine (the fallback when the model is unavailable) is warm from the start."""
    with LocalServer(engine=OpenCVEngine()) as server:
        assert server.warm_up is not None and server.warm_up.wait(WAIT)
        assert health(server) == {"status": "ok", "profile": "openai", "engine": "offline", "warmed": True}


def test_migan_warm_up_stops_mid_run_then_a_request_during_the_next_one_runs_warm() -> None:
    session, runtime = watched_session()
    engine = MiganEngine(session)
    # Stopped while the model runs: onnxruntime's terminate flag ends the run, the thread ends with stop().
    server = LocalServer(engine=engine).start()
    warm_up = server.warm_up
    assert warm_up is not None and runtime.started.wait(WAIT)
    server.stop()
    assert not warm_up.running and not engine.warmed  # a session's first run takes seconds: it was cut short

    # The session is still sound: the next server warms it while a request comes in.
    runtime.started.clear()
    with LocalServer(engine=engine) as server:
        assert server.warm_up is not None and runtime.started.wait(WAIT)
        assert health(server)["warmed"] is False
        photo = resource_bytes("coffee.png")
        response = httpx.post(
            f"{server.base_url}/images/edits",
            headers=AUTH,
            files=[
                ("image", ("coffee.png", photo, "image/png")),
                ("mask", ("mask.png", mask_png((600, 400), (320, 220, 420, 330)), "image/png")),
            ],
            data={"model": "gpt-image-2", "prompt": "remove the spoon"},
            timeout=WAIT,
        )
        assert response.status_code == 200
        item = response.json()["data"][0]
        assert item["revised_prompt"] == "[offline engine, MI-GAN inpainting model] remove the spoon"
        assert decode(base64.b64decode(item["b64_json"])).size[0] > 0
        assert server.warm_up.wait(WAIT) and engine.warmed and health(server)["warmed"] is True
    # Both warm-ups ran in the warm-up thread, the request after the second one (it waited for the session).
    assert runtime.threads[:2] == ["gptimage-warm-up"] * 2 and len(runtime.threads) == 3
    assert runtime.threads[2] != "gptimage-warm-up"


def test_the_serve_command_stops_cleanly_during_its_warm_up() -> None:
    """`python -m gimp_gptimage.server` (what `serve` and the dialog's child run), interrupted as soon as it is
    ready: it exits by itself, without a traceback or a thread left running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gimp_gptimage.server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        prefix = BANNER.split("{url}")[0]
        assert line.startswith(prefix), line
        base_url = line[len(prefix) :].strip()
        state = httpx.get(base_url.removesuffix("/v1") + "/healthz", timeout=WAIT).json()
        assert state["engine"] == "offline-migan" and state["warmed"] is False  # its first run takes seconds
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr
