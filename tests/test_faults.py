"""The fault matrix through the job runner: every way a provider, relay or network fails, for edits,
generations and streamed edits, against the real local server (and misbehaving listeners) over loopback.

For each fault: the exception is the typed one, the user's line (explain) says what happened and what to
do, the key appears nowhere, nothing is placed unless it arrived, what arrived is in history before it is
placed, the history entry says why the request ended, and no temp files, threads or processes are left.
"""

from __future__ import annotations

import base64
import dataclasses
import errno
import io
import json
from pathlib import Path

import numpy as np
import pytest
from faults_helpers import (
    KEY,
    MODES,
    CannedHTTPServer,
    Mode,
    RecordedServer,
    ResetServer,
    SelfSignedTLSServer,
    closed_port_url,
    params_for,
    run_job,
)
from PIL import Image
from starlette.types import ASGIApp, Receive, Scope, Send

from gimp_gptimage.api import Timeouts
from gimp_gptimage.api.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResultError,
)
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.server import Fault

pytest_plugins = ["conftest_faults"]


def assert_failed_cleanly(outcome, error_type: type, *needles: str, kept: int = 0) -> str:  # type: ignore[no-untyped-def]
    """The common promise of every failure; returns the user's line for more checks."""
    assert isinstance(outcome.error, error_type), repr(outcome.error)
    message = outcome.message
    line = message.one_line()
    assert message.title and message.detail and message.hint, line  # what happened, and what to do
    for needle in needles:
        assert needle.lower() in line.lower(), line
    assert "Traceback" not in line and "<html" not in line.lower()
    assert len(outcome.events.results) == kept, "nothing may be placed unless it arrived"
    if outcome.entries:  # a request that was sent has exactly one entry, recording the failure
        entry = outcome.entry
        assert entry.status == "failed"
        assert entry.record.error == line
        assert len(entry.results) == kept
    return line


# -- HTTP status answers -------------------------------------------------------------------------------------


STATUS_CASES = [
    pytest.param(
        Fault("status", status=401),
        AuthenticationError,
        ["API key was not accepted", "Enter a valid key", "HTTP 401", "request id"],
        1,
        id="401",
    ),
    pytest.param(
        Fault("status", status=403),
        PermissionDeniedError,
        ["may not use this model", "model access", "HTTP 403"],
        1,
        id="403",
    ),
    pytest.param(
        Fault("status", status=500),
        InternalServerError,
        ["failed to answer", "try again", "HTTP 500"],
        1,  # a 500 may have been billed: never repeated by itself
        id="500",
    ),
    pytest.param(
        Fault("html", status=502, times=3),
        InternalServerError,
        ["502 Bad Gateway", "try again", "HTTP 502"],
        3,
        id="502-html",
    ),
    pytest.param(
        Fault("status", status=503, times=3),
        InternalServerError,
        ["overloaded", "try again", "HTTP 503"],
        3,
        id="503",
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("fault", "error_type", "needles", "requests"), STATUS_CASES)
def test_status_answers(
    api: RecordedServer,
    tmp_path: Path,
    mode: Mode,
    fault: Fault,
    error_type: type,
    needles: list[str],
    requests: int,
) -> None:
    api.faults.add(fault)
    outcome = run_job(api.base_url, mode, tmp_path)
    assert_failed_cleanly(outcome, error_type, *needles)
    assert api.image_requests() == requests
    assert len(outcome.sleeps) == requests - 1


@pytest.mark.parametrize(
    ("fault", "needles"),
    [
        (Fault("html", status=413), ["refused the upload as too large", "smaller area", "HTTP 413"]),
        (Fault("status", status=422, message="Unprocessable image."), ["rejected the request", "Unprocessable"]),
        (Fault("text", status=504), ["failed to answer", "upstream connect error", "try again"]),
    ],
    ids=["413-html", "422", "504-text"],
)
def test_other_statuses_get_advice_that_fits(
    api: RecordedServer, tmp_path: Path, fault: Fault, needles: list[str]
) -> None:
    # A relay's nginx refusing a big upload must not be called "temporary; try again".
    api.faults.add(dataclasses.replace(fault, times=3))
    outcome = run_job(api.base_url, "edit", tmp_path)
    line = assert_failed_cleanly(outcome, APIStatusError, *needles)
    if fault.status_code < 500:
        assert "try again in a minute" not in line


@pytest.mark.parametrize("mode", MODES)
def test_unknown_model_is_404_with_the_model_named(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    outcome = run_job(api.base_url, mode, tmp_path, params=params_for(mode, model="gpt-image-9"))
    line = assert_failed_cleanly(outcome, NotFoundError, "does not know this model", "gpt-image-9", "model name")
    assert "HTTP 404" in line
    assert api.image_requests() == 1


# The real API's 400 answers (shared/reference/api-contract.md), as a relay or the API would send them.
CONTRACT_400S = [
    ("Unknown parameter: 'response_format'.", "unknown_parameter"),
    ("Invalid value: 'standard'. Supported values are: 'low', 'medium', 'high', and 'auto'.", "invalid_value"),
    ("Invalid size '1792x936'. Width and height must both be divisible by 16.", "invalid_value"),
    (
        "Invalid value: '1254x836'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'.",
        "invalid_value",
    ),
    ("The model 'gpt-image-2' does not support the 'input_fidelity' parameter.", "invalid_input_fidelity_model"),
    ("Transparent background is not supported for this model.", None),
    (
        "Invalid file 'image': unsupported mimetype ('application/octet-stream'). Supported file formats are "
        "'image/jpeg', 'image/png', and 'image/webp'.",
        "unsupported_file_mimetype",
    ),
    ("Invalid image file or mode for image 1, please check your image file.", "invalid_image_file"),
    ("Invalid mask image format - mask size does not match image size", "invalid_mask_image_format"),
    ("Invalid mask image format - mask image missing alpha channel", "invalid_mask_image_format"),
]


@pytest.mark.parametrize(("message", "code"), CONTRACT_400S, ids=[c or "none" for _, c in CONTRACT_400S])
def test_each_400_names_the_problem(api: RecordedServer, tmp_path: Path, message: str, code: str | None) -> None:
    api.faults.add(Fault("status", status=400, message=message, code=code))
    outcome = run_job(api.base_url, "edit", tmp_path)
    line = assert_failed_cleanly(outcome, BadRequestError, "rejected the request", "Check the parameters", "HTTP 400")
    assert message in line  # the provider's own words, not a paraphrase
    assert api.image_requests() == 1  # a 400 is never retried


@pytest.mark.parametrize("mode", MODES)
def test_moderation_block_says_to_rephrase(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    api.faults.add(
        Fault(
            "status",
            status=400,
            message="Your request was rejected by the safety system.",
            code="moderation_blocked",
            error_type="image_generation_user_error",
        )
    )
    outcome = run_job(api.base_url, mode, tmp_path)
    assert_failed_cleanly(outcome, BadRequestError, "safety system", "Rephrase the prompt")


@pytest.mark.parametrize("mode", MODES)
def test_429_waits_as_told_then_reports_how_long(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    api.faults.add(Fault("status", status=429, retry_after=7, times=3))
    outcome = run_job(api.base_url, mode, tmp_path)
    assert_failed_cleanly(outcome, RateLimitError, "rate limiting", "wait 7 s", "HTTP 429")
    assert outcome.sleeps == [7, 7]  # Retry-After honoured on each retry
    assert api.image_requests() == 3


@pytest.mark.parametrize("mode", MODES)
def test_exhausted_quota_is_not_retried_and_says_so(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    api.faults.add(
        Fault(
            "status",
            status=429,
            code="insufficient_quota",
            error_type="insufficient_quota",
            message="You exceeded your current quota, please check your plan and billing details.",
            times=3,
        )
    )
    outcome = run_job(api.base_url, mode, tmp_path)
    assert_failed_cleanly(outcome, RateLimitError, "out of credit or quota", "billing", "waiting will not help")
    assert api.image_requests() == 1 and outcome.sleeps == []


@pytest.mark.parametrize("mode", MODES)
def test_429_once_then_success(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    api.faults.add(Fault("status", status=429, retry_after=2))
    outcome = run_job(api.base_url, mode, tmp_path)
    assert outcome.error is None and len(outcome.results) == 1
    assert outcome.sleeps == [2]
    assert outcome.entry.status == "done" and len(outcome.entry.results) == 1


# -- network failures ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused(tmp_path: Path, mode: Mode) -> None:
    url = closed_port_url()
    outcome = run_job(url, mode, tmp_path)
    assert_failed_cleanly(outcome, APIConnectionError, "Could not reach the provider", "127.0.0.1", "base URL")
    assert outcome.raised(APIConnectionError).failure == "connect"
    assert len(outcome.sleeps) == 2  # refused: nothing was sent, so it is safe to try again


@pytest.mark.parametrize("mode", MODES)
def test_name_resolution_failure(tmp_path: Path, mode: Mode) -> None:
    outcome = run_job("https://api.gptimage-test.invalid/v1", mode, tmp_path)
    line = assert_failed_cleanly(outcome, APIConnectionError, "host name was not found", "spelling of the base URL")
    assert "api.gptimage-test.invalid" in line
    assert outcome.raised(APIConnectionError).failure == "dns"


@pytest.mark.parametrize("mode", MODES)
def test_untrusted_certificate_is_refused_and_not_bypassed(tmp_path: Path, mode: Mode) -> None:
    with SelfSignedTLSServer(tmp_path) as tls:
        outcome = run_job(tls.base_url, mode, tmp_path)
    line = assert_failed_cleanly(outcome, APIConnectionError, "certificate was not accepted", "trust store")
    assert "self-signed certificate" in line or "certificate verify failed" in line
    for advice in ("verify=false", "disable", "insecure", "turn off", "switch off"):
        assert advice not in line.lower()
    assert outcome.raised(APIConnectionError).failure == "tls"
    assert tls.requests == 0  # the request (and the key) never went over the untrusted connection
    # An untrusted certificate is not asked again and again: once by the request, and before an edit once by
    # the question what the endpoint is (its mask depends on it: ImagesClient.grows_mask).
    assert tls.failed_handshakes == (1 if mode == "generate" else 2)


def test_trusting_the_certificate_as_the_hint_says_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The advice is real: with the certificate in SSL_CERT_FILE the same server is reached (it answers 500)."""
    (tmp_path / "certs").mkdir()
    with SelfSignedTLSServer(tmp_path / "certs") as tls:
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "certs" / "cert.pem"))
        outcome = run_job(tls.base_url, "generate", tmp_path)
    assert isinstance(outcome.error, InternalServerError), outcome.line
    assert tls.requests == 1 and tls.failed_handshakes == 0


@pytest.mark.parametrize("mode", MODES)
def test_reset_during_upload(tmp_path: Path, mode: Mode) -> None:
    # The edit uploads ~1 MB; the listener takes the first 32 KB (a generation: its first 100 bytes) and resets.
    with ResetServer(after_bytes=100 if mode == "generate" else 32 * 1024) as server:
        outcome = run_job(server.base_url, mode, tmp_path)
    assert_failed_cleanly(outcome, APIConnectionError, "connection to the provider broke", "Try again")
    assert outcome.raised(APIConnectionError).failure == "broken"
    # Reset before any answer: nothing was drawn, retried twice (an edit first asks what the endpoint is).
    assert server.connections == (3 if mode == "generate" else 4)


@pytest.mark.parametrize("mode", MODES)
def test_reset_by_the_server_before_answering(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    api.faults.add(Fault("reset", times=3))
    outcome = run_job(api.base_url, mode, tmp_path)
    line = assert_failed_cleanly(outcome, APIConnectionError, "broke before any answer arrived", "Try again")
    assert "ReadError." not in line  # a reason a person can read
    assert api.image_requests() == 3


def test_reset_mid_stream_after_a_partial(paced_api: RecordedServer, tmp_path: Path) -> None:
    # partial #1, (pause), partial #2, [reset]: the first preview surely arrived; the second may be lost with
    # the reset (an RST discards data the client has not read yet).
    paced_api.faults.add(Fault("reset_after", events=2))
    outcome = run_job(paced_api.base_url, "stream", tmp_path, params=params_for("stream", partial_images=2))
    line = assert_failed_cleanly(outcome, APIConnectionError, "broke while receiving the result", "billed")
    assert outcome.events.partials in ([0], [0, 0])  # previews were shown, but a preview is not a result
    assert "request id" in line
    assert paced_api.image_requests() == 1  # after the answer started nothing is ever resent (it may be billed)


def test_reset_mid_stream_keeps_the_image_that_arrived(paced_api: RecordedServer, tmp_path: Path) -> None:
    # n=2 with one preview each: partial #1, completed #1, partial #2, [reset]. The first image is paid for.
    # (Paced, so the reset does not overtake image 1 in the socket: an RST discards unread data.)
    paced_api.faults.add(Fault("reset_after", events=3))
    outcome = run_job(paced_api.base_url, "stream", tmp_path, params=params_for("stream", n=2))
    assert_failed_cleanly(outcome, APIConnectionError, "broke while receiving the result", kept=1)
    assert [r.index for r in outcome.events.results] == [0]
    assert len(outcome.arrived().images) == 1
    stored = outcome.entry.results[0].path.read_bytes()
    assert stored == outcome.arrived().images[0].data  # exactly the bytes the provider sent


# -- answers that are broken --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_truncated_answer(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    api.faults.add(Fault("truncate"))
    outcome = run_job(api.base_url, mode, tmp_path)
    assert_failed_cleanly(outcome, ResultError, "unusable", "cut off", "Try again")


@pytest.mark.parametrize("mode", ["edit", "generate"])
def test_empty_data(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    api.faults.add(Fault("empty_data"))
    outcome = run_job(api.base_url, mode, tmp_path)
    assert_failed_cleanly(outcome, ResultError, "contains no images", "Try again")


def test_stream_that_ends_without_an_image(tmp_path: Path) -> None:
    # The streamed counterpart of empty `data`: previews, then a clean end of stream and no finished image.
    preview = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(preview, "PNG")
    event = {"type": "image_edit.partial_image", "b64_json": base64.b64encode(preview.getvalue()).decode()}
    body = f"event: image_edit.partial_image\ndata: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode()
    headers = {"content-type": "text/event-stream", "x-request-id": "req_stream"}
    with CannedHTTPServer(lambda request: (200, headers, body)) as relay_server:
        outcome = run_job(relay_server.base_url, "stream", tmp_path)
    assert_failed_cleanly(outcome, ResultError, "ended before any finished image arrived", "1 partial", "Try again")
    assert outcome.events.partials == [0]


@pytest.mark.parametrize("size", ["512x512", "1536x1024"])
@pytest.mark.parametrize("mode", MODES)
def test_results_of_an_unexpected_size_are_placed_exactly(
    api: RecordedServer, tmp_path: Path, mode: Mode, size: str
) -> None:
    api.faults.add(Fault("wrong_size", size=size))
    outcome = run_job(api.base_url, mode, tmp_path)
    assert outcome.error is None, outcome.line
    (result,) = outcome.results
    width, height = map(int, size.split("x"))
    with Image.open(outcome.entry.results[0].path) as stored:
        assert stored.size == (width, height)  # history keeps what the provider really sent
    if mode == "generate":
        assert result.placed.pixels.shape[:2] == (height, width)
        return
    assert outcome.entry.record.region is not None
    x, y, w, h = outcome.entry.record.region
    placed = result.placed
    assert placed.pixels.shape[:2] == (h, w) and placed.offset == (x, y)  # still exactly over the region
    assert placed.alpha is not None and placed.alpha.shape == (h, w)


@pytest.mark.parametrize("mode", MODES)
def test_server_slower_than_the_timeout(api: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    api.faults.add(Fault("delay", seconds=3))
    outcome = run_job(api.base_url, mode, tmp_path, timeouts=Timeouts(read=0.3))
    assert_failed_cleanly(outcome, APITimeoutError, "did not answer in time", "read timeout of 0.3 s", "streaming")
    assert api.image_requests() == 1  # the provider may still be drawing (and billing): not resent


# -- url results (relays) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["edit", "generate"])
@pytest.mark.parametrize(
    ("fault", "needles"),
    [
        pytest.param(Fault("result_missing"), ["could not be downloaded", "HTTP 404", "link may still work"], id="404"),
        pytest.param(Fault("result_html"), ["web page", "link may have expired"], id="html"),
        pytest.param(Fault("result_bomb"), ["decompression bomb"], id="bomb"),
    ],
)
def test_bad_result_links(relay: RecordedServer, tmp_path: Path, mode: Mode, fault: Fault, needles: list[str]) -> None:
    relay.faults.add(fault)
    outcome = run_job(relay.base_url, mode, tmp_path)
    assert_failed_cleanly(outcome, ResultError, "unusable", *needles)


@pytest.mark.parametrize("mode", ["edit", "generate"])
def test_one_dead_link_of_two_keeps_the_other_image(relay: RecordedServer, tmp_path: Path, mode: Mode) -> None:
    relay.faults.add(Fault("result_missing"))  # the first link of two is dead, the second works
    outcome = run_job(relay.base_url, mode, tmp_path, params=params_for(mode, n=2))
    assert_failed_cleanly(outcome, ResultError, "Image 1 of 2", "could not be downloaded", kept=1)
    assert [r.index for r in outcome.events.results] == [1]
    assert outcome.raised(APIError).partial is not None
    assert outcome.entry.results[0].path.read_bytes() == outcome.arrived().images[0].data
    downloads = relay.recorder.paths("/files/results/")
    assert len(downloads) == 2


class SecondLinkDead:
    """ASGI wrapper: the second result download answers 404 (the link expired), the others work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.downloads = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "/files/results/" in scope.get("path", ""):
            self.downloads += 1
            if self.downloads == 2:
                body = b'{"error": {"message": "File not found or link expired."}}'
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 404, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


@pytest.mark.parametrize("mode", ["edit", "generate"])
def test_second_link_dead_keeps_the_first_image(tmp_path: Path, mode: Mode) -> None:
    relay_server = RecordedServer(profile="crazyrouter")
    relay_server.server.app = SecondLinkDead(relay_server.server.app)
    with relay_server.server:
        outcome = run_job(relay_server.base_url, mode, tmp_path, params=params_for(mode, n=2))
    line = assert_failed_cleanly(outcome, ResultError, "Image 2 of 2", "could not be downloaded", kept=1)
    assert "link may still work" in line and "/files/results/" in line  # the user can still fetch it
    assert [r.index for r in outcome.events.results] == [0]
    assert [r.index for r in outcome.entry.results] == [0]
    assert outcome.entry.results[0].path.read_bytes() == outcome.arrived().images[0].data


# -- user cancel at every stage ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["preparing", "uploading", "generating", "downloading"])
def test_cancel_at_every_stage(relay: RecordedServer, tmp_path: Path, stage: str) -> None:
    outcome = run_job(relay.base_url, "edit", tmp_path, cancel_at=stage)
    assert outcome.events.stages[-1] == stage
    assert type(outcome.error).__name__ == "CancelledError"
    assert outcome.line.startswith("Cancelled")
    assert outcome.events.results == []
    if stage == "preparing":
        assert outcome.entries == []  # nothing was sent, nothing to record
    else:
        assert outcome.entry.status == "cancelled" and outcome.entry.results == []


def test_cancel_after_the_first_image_keeps_it(api: RecordedServer, tmp_path: Path) -> None:
    # Streamed n=2: the user cancels when the second image's preview shows; the first one is paid for.
    outcome = run_job(api.base_url, "stream", tmp_path, params=params_for("stream", n=2), cancel_at="partial:1")
    assert type(outcome.error).__name__ == "CancelledError"
    # Image 1 is safe in history whether or not it was placed before the click (cancel aborts at once).
    assert [r.index for r in outcome.events.results] in ([], [0])
    assert outcome.entry.status == "cancelled"
    assert [r.index for r in outcome.entry.results] == [0]


def test_disk_full_when_the_result_arrives_still_delivers_it(
    api: RecordedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History cannot store the result (disk full): the paid image is still placed, and the user is told."""

    def disk_full(self: HistoryStore, *args: object, **kwargs: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root))

    monkeypatch.setattr(HistoryStore, "add_result", disk_full)
    outcome = run_job(api.base_url, "edit", tmp_path)
    (result,) = outcome.events.results
    assert outcome.entry.record.region is not None
    *_, w, h = outcome.entry.record.region
    assert result.history_path is None and result.placed.pixels.shape[:2] == (h, w)
    assert isinstance(outcome.error, OSError)
    assert outcome.message.title == "The disk is full" and "Free some disk space" in outcome.line


def test_the_key_is_never_in_any_failure(api: RecordedServer, tmp_path: Path) -> None:
    # A relay that echoes the Authorization header back in its error message.
    api.faults.add(Fault("status", status=401, message=f"Incorrect API key provided: Bearer {KEY}"))
    outcome = run_job(api.base_url, "edit", tmp_path)
    assert isinstance(outcome.error, APIStatusError)
    assert KEY not in outcome.line and KEY not in str(outcome.error)
    for path in (tmp_path / "history").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes()


def test_fault_free_run_is_the_baseline(api: RecordedServer, tmp_path: Path) -> None:
    """The same driver with no fault: one result, placed, in history, nothing left behind."""
    outcome = run_job(api.base_url, "edit", tmp_path)
    assert outcome.error is None
    (result,) = outcome.results
    assert outcome.entry.status == "done"
    assert np.asarray(result.placed.pixels).dtype == np.uint8
