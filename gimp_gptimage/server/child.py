"""The embedded offline backend in a child process, so its CPU work never competes with a dialog's GUI thread.

In the dialog's own process the server's rendering, PNG encoding and base64 would take the GIL from the GUI
thread and from the preview decoder (bench/results/ui.md). The child serves on an ephemeral loopback port,
prints the banner once it accepts connections, and exits as soon as its standard input closes: that happens
when the parent stops it and also when the parent dies in any way, so no server is ever left behind.

    with ServerProcess() as server:
        client = ImagesClient(base_url=server.base_url, api_key="any-key")
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from types import TracebackType

from ..cli.serve import add_arguments, run_or_exit
from .runner import BANNER, STOP_TIMEOUT

START_TIMEOUT = 30.0  # a cold start imports OpenCV, numpy and uvicorn: seconds on a slow disk
_PREFIX = BANNER.split("{url}")[0]


class ServerProcess:
    """The local server as a child process; `base_url` once started. Stopping closes its stdin."""

    def __init__(self, *, latency: float = 0.0, profile: str = "openai") -> None:
        self._args = ["--port", "0", "--latency", str(latency), "--profile", profile]
        self._proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> ServerProcess:
        if self._proc is not None:
            raise RuntimeError("ServerProcess already started")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, *self._args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # no console window on Windows
        )
        line = self._first_line()
        if not line.startswith(_PREFIX):
            self.stop()
            raise RuntimeError(f"the local server did not start (it said {line.strip()!r})")
        self.base_url = line[len(_PREFIX) :].strip()
        return self

    def _first_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(self._proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT)
        return got[0] if got else ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _exit_when_stdin_closes() -> None:
    while sys.stdin.buffer.read(65536):
        pass
    os._exit(0)  # nothing to flush: the offline server keeps no state worth a graceful shutdown


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}", description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    threading.Thread(target=_exit_when_stdin_closes, name="parent-watch", daemon=True).start()
    run_or_exit(parser.parse_args(argv))


if __name__ == "__main__":
    main()
