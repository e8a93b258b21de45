"""Misbehaving servers and leak checks for the fault, bad-input, security and soak tests.

- `SelfSignedTLSServer`: a real TLS listener on loopback whose certificate (made at test time with
  `cryptography`) no client trusts, so the client's certificate check has to fail.
- `ResetServer`: reads part of the request, then aborts the TCP connection with RST (reset during upload).
- `CannedHTTPServer`: a bare HTTP server giving answers the local server cannot (a `file://` result link,
  a gzip bomb), or playing a download host other than the API's.
- `closed_port_url()`: an address where nothing listens (connection refused).
- `HeaderRecorder` / `RecordedServer`: a LocalServer that remembers the path and headers of every request.
- `LeakCheck`: what a run must not leave behind — files in a private temp dir, threads, child processes.
- `run_cli()`: the `gimp-gptimage` console script as a real process with its own HOME-like folders.
- `run_job()`: one edit / generation / streamed edit through the real job runner, client and history, in a
  fresh event loop, checked afterwards for leftovers; returns an `Outcome` for the test to judge.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import secrets
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import psutil
from conftest import TempHome
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jobs_samples import edit_request
from starlette.types import Receive, Scope, Send

from gimp_gptimage.api import ImagesClient, Timeouts
from gimp_gptimage.api.errors import APIError, UserMessage, explain
from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.api.types import ImagesResponse
from gimp_gptimage.history import HistoryEntry, HistoryStore
from gimp_gptimage.jobs.run import EditRequest, GenerateRequest, JobEvents, JobResult, run_edit, run_generate
from gimp_gptimage.server import LocalServer

SCRIPT = Path(sys.executable).with_name("gimp-gptimage")
CLI_PREFIX = "gimp-gptimage:"


# -- servers that fail at the network level ---------------------------------------------------------------


def self_signed_cert(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """(cert.pem, key.pem) for `host`, valid now, signed by itself (so trusted by nobody)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _ThreadedListener:
    """A loopback TCP listener handling each connection in `handle` on one background thread."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"fault-listener-{self.port}", daemon=True)
        self.connections = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.settimeout(5)
            with contextlib.suppress(OSError, ssl.SSLError):
                self.handle(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class SelfSignedTLSServer(_ThreadedListener):
    """HTTPS on loopback with an untrusted certificate; counts the handshakes that failed."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        cert, key = self_signed_cert(folder)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.failed_handshakes = 0
        self.requests = 0

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/v1"

    def handle(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.failed_handshakes += 1
            return
        self.requests += 1  # a client that accepted the certificate: must never happen
        # The whole request is read first: closing with unread bytes would send a reset instead of the answer.
        read_request(tls)
        tls.sendall(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        tls.close()


class ResetServer(_ThreadedListener):
    """Reads `after_bytes` of each request, then resets the connection (RST) in the middle of the upload."""

    def __init__(self, after_bytes: int = 64 * 1024) -> None:
        super().__init__()
        self.after_bytes = after_bytes
        self.received: list[int] = []

    def handle(self, conn: socket.socket) -> None:
        got = 0
        while got < self.after_bytes:
            chunk = conn.recv(min(65536, self.after_bytes - got))
            if not chunk:
                break
            got += len(chunk)
        self.received.append(got)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@dataclass
class CannedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes]


class CannedHTTPServer(_ThreadedListener):
    """A bare HTTP/1.1 server on loopback: `answer(request) -> (status, headers, body)`; records requests.

    For answers the local server cannot give (a `file://` result link, a gzip bomb) and for a download host
    that is not the API's host.
    """

    def __init__(self, answer: Callable[[CannedRequest], Answer]) -> None:
        super().__init__()
        self.answer = answer
        self.requests: list[CannedRequest] = []

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, conn: socket.socket) -> None:
        request = read_request(conn)
        if request is None:
            return
        self.requests.append(request)
        status, answer_headers, answer_body = self.answer(request)
        lines = [f"HTTP/1.1 {status} X", f"content-length: {len(answer_body)}", "connection: close"]
        lines += [f"{k}: {v}" for k, v in answer_headers.items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer_body)


def read_request(conn: socket.socket) -> CannedRequest | None:
    """One HTTP/1.1 request read whole (head, then content-length bytes of body); None if the peer hung up."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return CannedRequest(method, path, headers, body)


def closed_port_url() -> str:
    """An http base URL on loopback where nothing listens."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# -- recording what a server received ---------------------------------------------------------------------


@dataclass
class HeaderRecorder:
    """An ASGI wrapper: `seen` is [(path, {header: value})] for every HTTP request, in order."""

    app: Any
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            self.seen.append((scope.get("path", ""), headers))
        await self.app(scope, receive, send)

    def paths(self, fragment: str) -> list[dict[str, str]]:
        return [headers for path, headers in self.seen if fragment in path]


# -- what a run must not leave behind ---------------------------------------------------------------------


def _thread_names() -> set[str]:
    return {f"{t.name}:{t.ident}" for t in threading.enumerate() if t.is_alive()}


@dataclass
class LeakCheck:
    """Snapshot before a run; `assert_clean()` after it.

    `tmp` becomes tempfile's folder for this process (and TMPDIR for children), so every temporary file a
    job makes lands where this test alone looks.
    """

    tmp: Path
    threads: set[str] = field(default_factory=set)
    children: set[int] = field(default_factory=set)
    fds: int = 0

    def start(self) -> LeakCheck:
        self.threads = _thread_names()
        self.children = {p.pid for p in psutil.Process().children(recursive=True)}
        self.fds = psutil.Process().num_fds()
        return self

    def leftovers(self) -> list[str]:
        return sorted(str(p.relative_to(self.tmp)) for p in self.tmp.rglob("*"))

    def new_threads(self) -> set[str]:
        return _thread_names() - self.threads

    def new_children(self) -> list[psutil.Process]:
        return [p for p in psutil.Process().children(recursive=True) if p.pid not in self.children]

    def assert_clean(self, *, allow_files: tuple[str, ...] = ()) -> None:
        left = [name for name in self.leftovers() if not name.startswith(allow_files)] if allow_files else None
        left = self.leftovers() if left is None else left
        assert left == [], f"temporary files left behind: {left}"
        assert self.new_threads() == set(), f"threads left running: {self.new_threads()}"
        orphans = [p for p in self.new_children() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert orphans == [], f"child processes left running: {orphans}"


@contextlib.contextmanager
def private_tempdir(root: Path) -> Iterator[Path]:
    """Make tempfile use `root` for this process (restored afterwards)."""
    root.mkdir(parents=True, exist_ok=True)
    previous = tempfile.tempdir
    tempfile.tempdir = str(root)
    try:
        yield root
    finally:
        tempfile.tempdir = previous


# -- the console script as a real process ------------------------------------------------------------------


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return TempHome(home).env(**extra)


def cli_command() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gimp_gptimage"]


def run_cli(*args: str | Path, home: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `gimp-gptimage ARGS` with cwd = home; config, data and temp folders are inside home."""
    return subprocess.run(
        [*cli_command(), *map(str, args)],
        cwd=home,
        env=cli_env(home, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], status: int) -> str:
    """The single `gimp-gptimage: ...` error line, after checking exit status and that no traceback shows."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == status, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in output and 'File "' not in output, output[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith(CLI_PREFIX)]
    assert len(lines) == 1, proc.stderr
    return lines[0].removeprefix(CLI_PREFIX).strip()


# -- driving one job through the runner ----------------------------------------------------------------

Mode = Literal["edit", "generate", "stream"]
E = TypeVar("E", bound=BaseException)
MODES: tuple[Mode, ...] = ("edit", "generate", "stream")
KEY = "sk-faults-" + secrets.token_hex(16)
# Threads of the test double itself (the local server's worker pool), not of the code under test.
SERVER_THREADS = ("AnyIO worker thread",)


class RecordedServer:
    """A running LocalServer whose every request (path and headers) is recorded."""

    def __init__(self, profile: str = "openai", **kwargs: Any) -> None:
        kwargs.setdefault("faults", ())
        self.server = LocalServer(profile=profile, **kwargs)
        self.recorder = HeaderRecorder(self.server.app)
        self.server.app = self.recorder  # served by start(): every request passes the recorder first

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def faults(self):  # type: ignore[no-untyped-def]
        return self.server.faults

    def image_requests(self) -> int:
        return len(self.recorder.paths("/v1/images/"))

    def reset(self) -> None:
        self.server.faults.clear()
        self.recorder.seen.clear()


class Recorder(JobEvents):
    """What a host (GIMP, the dialog) would have been told: stages, previews, placed results.

    `cancel_at` ("uploading", "partial:1", ...) cancels the job the moment that event is reported, as a
    user's Cancel click would.
    """

    def __init__(self) -> None:
        self.stages: list[str] = []
        self.partials: list[int] = []
        self.results: list[JobResult] = []
        self.cancel_at: str | None = None
        self.task: asyncio.Future[Any] | None = None

    def _event(self, name: str) -> None:
        if name == self.cancel_at and self.task is not None:
            self.task.cancel()

    def stage(self, stage: str, fraction: float | None) -> None:
        if not self.stages or self.stages[-1] != stage:
            self.stages.append(stage)
        self._event(stage)

    def partial(self, index: int, data: bytes) -> None:
        self.partials.append(index)
        self._event(f"partial:{index}")

    def result(self, result: JobResult) -> None:
        self.results.append(result)


@dataclass
class Outcome:
    error: BaseException | None
    results: list[JobResult]
    events: Recorder
    history: HistoryStore
    sleeps: list[float] = field(default_factory=list)

    @property
    def message(self) -> UserMessage:
        assert self.error is not None, "the job succeeded"
        return explain(self.error)

    @property
    def line(self) -> str:
        return self.message.one_line()

    def raised(self, kind: type[E]) -> E:
        """The job's error, checked to be a `kind`."""
        assert isinstance(self.error, kind), f"expected {kind.__name__}, got {self.error!r}"
        return self.error

    def arrived(self) -> ImagesResponse:
        """What the failed answer did bring (the client attaches it to the error)."""
        partial = self.raised(APIError).partial
        assert partial is not None, "the error carries nothing that arrived"
        return partial

    @property
    def entries(self) -> list[HistoryEntry]:
        return self.history.list()

    @property
    def entry(self) -> HistoryEntry:
        (entry,) = self.entries
        return entry


def params_for(mode: Mode, **changes: Any) -> ImageParams:
    fields: dict[str, Any] = {"prompt": "Remove the spoon", "n": 1}
    if mode == "stream":
        fields.update(stream=True, partial_images=1)
    fields.update(changes)
    return ImageParams(**fields)


def run_job(
    base_url: str,
    mode: Mode,
    tmp: Path,
    *,
    params: ImageParams | None = None,
    request: EditRequest | GenerateRequest | None = None,
    timeouts: Timeouts | None = None,
    max_retries: int = 2,
    cancel_at: str | None = None,
    key: str = KEY,
) -> Outcome:
    """One job in a fresh event loop; asserts afterwards that it left nothing behind."""
    params = params or params_for(mode)
    history = HistoryStore(tmp / "history")
    events = Recorder()
    sleeps: list[float] = []
    outcome = Outcome(None, [], events, history, sleeps)

    async def no_wait(seconds: float) -> None:  # retries still happen, the test just does not sleep
        sleeps.append(seconds)

    async def scenario() -> None:
        async with ImagesClient(
            base_url=base_url, api_key=key, timeouts=timeouts or Timeouts(), max_retries=max_retries, sleep=no_wait
        ) as client:
            if request is not None:
                job = request
            elif mode == "generate":
                job = GenerateRequest(params, canvas_size=None, source_name="")
            else:
                job = edit_request(params)
            coro = (
                run_generate(job, client, history, events)
                if isinstance(job, GenerateRequest)
                else run_edit(job, client, history, events)
            )
            events.task = task = asyncio.ensure_future(coro)
            events.cancel_at = cancel_at
            try:
                outcome.results = await task
            except (Exception, asyncio.CancelledError) as exc:
                outcome.error = exc

    tmp_dir = tmp / "tmp"
    with private_tempdir(tmp_dir):
        leaks = LeakCheck(tmp_dir).start()
        asyncio.run(scenario())
        leaks.threads |= {name for name in leaks.new_threads() if name.startswith(SERVER_THREADS)}
        leaks.assert_clean()
    half_written = [p.name for p in (tmp / "history").rglob("*.tmp")]
    assert half_written == [], half_written
    if outcome.error is not None:
        line = outcome.line
        assert key not in line and key not in repr(outcome.error)
    return outcome
