"""Running the app on real sockets: `LocalServer` (a background thread, for tests and the embedded backend)
and `serve()` (the foreground `gimp-gptimage serve` command)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO

import uvicorn
from starlette.types import ASGIApp

from ..api.errors import ConfigError
from ..memory import return_large_buffers_on_free
from .app import create_app
from .engine_protocol import Engine
from .faults import Fault, FaultPlan

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
BANNER = "gimp-gptimage local server listening on {url}"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _config(app: ASGIApp, log_level: str) -> uvicorn.Config:
    # h11 is pinned: fault injection resets connections through its transport (see faults.reset_connection).
    return uvicorn.Config(
        app,
        http="h11",
        ws="none",
        lifespan="off",
        loop="asyncio",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
    )


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopping at once when asked: its main loop is woken from the 0.1 s tick it sleeps
    between checks of `should_exit`, and with no connection or task left there is nothing for uvicorn's
    0.1 s shutdown grace to wait for. (The CLI's embedded server paid 0.14 s for both at every exit.)"""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._woken: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    async def main_loop(self) -> None:
        wake = asyncio.Event()
        self._woken = (asyncio.get_running_loop(), wake)
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    def request_exit(self) -> None:
        """Ask the server to stop (from any thread); it does not wait for the rest of its tick."""
        self.should_exit = True
        if self._woken is not None:
            loop, wake = self._woken
            with contextlib.suppress(RuntimeError):  # its loop has already closed: it is stopping anyway
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)  # open connections get uvicorn's grace and graceful timeout
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        if not self.force_exit:
            await self.lifespan.shutdown()  # a no-op with lifespan "off" (_config); kept as uvicorn's own does


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


class LocalServer:
    """The local Images API on an ephemeral loopback port, served by uvicorn in a background thread.

    with LocalServer(profile="crazyrouter", faults=()) as server:
        client = ImagesClient(base_url=server.base_url, api_key="any-key")
        server.faults.add(Fault("status", status=429, retry_after=1))
    Works from synchronous code and from inside a running event loop (`async with` too). Fault injection
    is mounted only when `faults` is given (even empty): the CLI's embedded server has none.
    """

    def __init__(
        self,
        profile: str = "openai",
        api_key: str | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        engine: Engine | None = None,
        faults: Iterable[Fault] | None = None,
        log_level: str = "warning",
    ) -> None:
        self._faults = _plan(faults)
        # What uvicorn serves: tests may wrap it (recorders, extra faults) before start().
        self.app: ASGIApp = create_app(
            profile=profile, api_key=api_key, latency=latency, engine=engine, faults=self._faults
        )
        self.host = host
        self._port = port
        self._log_level = log_level
        self._server: _PromptServer | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def faults(self) -> FaultPlan:
        if self._faults is None:
            raise RuntimeError("this LocalServer has no fault injection: create it with faults=() to add faults")
        return self._faults

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return _base_url(self.host, self._port)

    @property
    def root_url(self) -> str:
        return self.base_url.removesuffix("/v1")

    def start(self) -> LocalServer:
        if self._thread is not None:
            raise RuntimeError("LocalServer already started")
        return_large_buffers_on_free()  # its engine's images, freed after each answer, must not stay resident
        sock = _bind(self.host, self._port)
        self._port = sock.getsockname()[1]
        self._server = _PromptServer(_config(self.app, self._log_level))
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name=f"gptimage-server-{self._port}", daemon=True
        )
        self._thread.start()
        self._wait_ready()
        return self

    def _run(self, sock: socket.socket) -> None:
        assert self._server is not None
        try:
            self._server.run(sockets=[sock])
        except BaseException as exc:  # reported by start() or stop()
            self._error = exc
        finally:
            sock.close()

    def _wait_ready(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not self._server.started:
            error = self._error
            self.stop()
            raise RuntimeError(f"local server did not start: {error!r}")

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.request_exit()
        self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(STOP_TIMEOUT)
        self._server = None
        self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    profile: str = "openai",
    api_key: str | None = None,
    latency: float = 0.0,
    faults: Iterable[Fault | str] | None = None,
    *,
    out: TextIO | None = None,
    log_level: str = "warning",
) -> None:
    """Run the local server in the foreground until interrupted; prints the base URL once it accepts
    connections. `faults` (specs may be strings, `Fault.parse` syntax; empty is fine) mounts fault
    injection and the control endpoint, for tests and benchmarks; None leaves them out."""
    return_large_buffers_on_free()
    _log_to_stderr()
    plan = None if faults is None else _plan(f if isinstance(f, Fault) else Fault.parse(f) for f in faults)
    app = create_app(profile=profile, api_key=api_key, latency=latency, faults=plan)
    try:
        sock = _bind(host, port)
    except OSError as exc:
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    server = uvicorn.Server(_config(app, log_level))
    url = _base_url(host, sock.getsockname()[1])
    stream = out or sys.stdout

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            print(BANNER.format(url=url), file=stream, flush=True)
        await task

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    finally:
        sock.close()


def _plan(faults: Iterable[Fault] | None) -> FaultPlan | None:
    if faults is None or isinstance(faults, FaultPlan):
        return faults
    return FaultPlan(faults)


def _log_to_stderr() -> None:
    """The server's log (a model that cannot load, a request that failed) on stderr, once per process."""
    logger = logging.getLogger(__package__)
    if not any(isinstance(h, logging.StreamHandler) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("gimp-gptimage local server: %(message)s"))
        logger.addHandler(handler)
