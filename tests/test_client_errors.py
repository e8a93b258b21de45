"""Error mapping, retries with backoff and Retry-After, timeouts, key redaction and cancellation."""

from __future__ import annotations

import asyncio
import calendar

import httpx
import pytest
from conftest_api import API, KEY, PNG_ANSWER_IMAGE, Script, Sleeps, images_answer, json_answer

from gimp_gptimage.api import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ImageInput,
    ImageParams,
    ImagesClient,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    Timeouts,
    explain,
)
from gimp_gptimage.api.error_mapping import parse_error_body
from gimp_gptimage.api.retry import parse_retry_after, retry_delay


def api_error(status: int, message: str = "boom", **extra) -> httpx.Response:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None, **extra}
    return json_answer({"error": error}, status, headers={"x-request-id": f"req_{status}"})


async def run(script: Script, sleeps: Sleeps | None = None, **kwargs):
    async with ImagesClient(
        base_url=API, api_key=KEY, transport=script.transport, sleep=sleeps or Sleeps(), **kwargs
    ) as client:
        return await client.generate(params=ImageParams("x"))


# -- status errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIStatusError),
        (422, APIStatusError),
        (500, InternalServerError),
    ],
)
async def test_status_errors_map_to_typed_exceptions_without_retry(status: int, cls: type) -> None:
    sleeps = Sleeps()
    script = Script(api_error(status, "Invalid value: 'standard'.", param="quality", code="invalid_value"))
    with pytest.raises(cls) as info:
        await run(script, sleeps)
    error = info.value
    assert type(error) is cls
    assert (error.status_code, error.message, error.param, error.code, error.error_type, error.request_id) == (
        status,
        "Invalid value: 'standard'.",
        "quality",
        "invalid_value",
        "invalid_request_error",
        f"req_{status}",
    )
    assert len(script.requests) == 1 and sleeps.delays == []


async def test_retry_on_503_then_success_with_capped_jittered_backoff() -> None:
    sleeps = Sleeps()
    script = Script(api_error(503), api_error(502), images_answer(PNG_ANSWER_IMAGE))
    result = await run(script, sleeps)
    assert len(result.images) == 1 and len(script.requests) == 3
    first, second = sleeps.delays
    assert 0.375 <= first <= 0.5 and 0.75 <= second <= 1.0


def test_backoff_is_capped() -> None:
    delays = [retry_delay(attempt) for attempt in range(12)]
    assert max(delays) <= 8.0 and delays[-1] >= 6.0


async def test_504_exhausts_retries_and_raises_the_last_error() -> None:
    sleeps = Sleeps()
    script = Script(api_error(504, "a"), api_error(504, "b"), api_error(504, "c"))
    with pytest.raises(InternalServerError, match=r"^c$"):
        await run(script, sleeps)
    assert len(script.requests) == 3 and len(sleeps.delays) == 2


async def test_max_retries_zero_means_one_attempt() -> None:
    script = Script(api_error(503))
    with pytest.raises(InternalServerError):
        await run(script, max_retries=0)
    assert len(script.requests) == 1


async def test_429_honours_retry_after_and_caps_it_at_60_seconds() -> None:
    sleeps = Sleeps()
    limited = json_answer(
        {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}},
        429,
        {"Retry-After": "7"},
    )
    very_limited = json_answer({"error": {"message": "slow down"}}, 429, {"Retry-After": "3600"})
    script = Script(limited, very_limited, images_answer(PNG_ANSWER_IMAGE))
    await run(script, sleeps)
    assert sleeps.delays == [7.0, 60.0]


async def test_the_providers_x_should_retry_overrides_the_status_rule() -> None:
    """As openai-python: `true` retries even a 500, `false` stops even a 503."""

    def flagged(status: int, word: str) -> httpx.Response:
        error = {"message": "boom", "type": "server_error", "param": None, "code": None}
        return json_answer({"error": error}, status, headers={"x-should-retry": word})

    sleeps = Sleeps()
    script = Script(flagged(500, "true"), images_answer(PNG_ANSWER_IMAGE))
    assert len((await run(script, sleeps)).images) == 1
    assert len(script.requests) == 2 and len(sleeps.delays) == 1

    script = Script(flagged(503, "False"), images_answer(PNG_ANSWER_IMAGE))
    with pytest.raises(InternalServerError):
        await run(script)
    assert len(script.requests) == 1

    script = Script(flagged(503, "maybe"), images_answer(PNG_ANSWER_IMAGE))  # an unknown word: the status rule
    await run(script, Sleeps())
    assert len(script.requests) == 2


async def test_429_after_the_last_retry_carries_retry_after() -> None:
    script = Script(*[json_answer({"error": {"message": "quota"}}, 429, {"Retry-After": "12"})] * 3)
    with pytest.raises(RateLimitError) as info:
        await run(script)
    assert info.value.retry_after == 12.0 and info.value.code is None


def test_retry_after_formats() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "2.5"})) == 2.5
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert parse_retry_after(httpx.Headers({"retry-after": "-4"})) == 0.0
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers({})) is None
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    moment = calendar.timegm((2026, 10, 21, 7, 28, 0))
    assert parse_retry_after(httpx.Headers({"retry-after": date}), now=moment - 20) == 20.0
    assert parse_retry_after(httpx.Headers({"retry-after": date}), now=moment + 5) == 0.0


# -- non-JSON error bodies ----------------------------------------------------------------------------------------


HTML_PAGE = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>502 Bad Gateway &amp; friends</title>
<style>body{color:red}</style></head><body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body></html>"""


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (502, HTML_PAGE, "text/html", "HTTP 502 from the provider: 502 Bad Gateway & friends"),
        (
            504,
            b"<html><body><script>var x=1;</script><p>Gateway   <b>timed</b>\n out</p></body></html>",
            "text/html",
            "HTTP 504 from the provider: Gateway timed out",
        ),
        (
            500,
            b"upstream connect error or disconnect/reset before headers",
            "text/plain",
            "HTTP 500 from the provider: upstream connect error or disconnect/reset before headers",
        ),
        (503, b"", "", "HTTP 503 Service Unavailable from the provider, with no explanation."),
        (
            502,
            b"<html><title> </title><h1>Bad&nbsp;gateway</h1></html>",
            "text/html",
            "HTTP 502 from the provider: Bad gateway",
        ),
        (418, b"x" * 1000, "text/plain", "HTTP 418 from the provider: " + "x" * 200),
        (400, b'{"error": "model not allowed"}', "application/json", "model not allowed"),
        (400, b'{"detail": "Not authenticated"}', "application/json", "Not authenticated"),
        (400, b'{"message": "bad things"}', "application/json", "bad things"),
        (400, b'{"unrelated": true}', "application/json", 'HTTP 400 from the provider: {"unrelated": true}'),
    ],
)
async def test_non_json_error_bodies_still_read_well(status: int, body: bytes, content_type: str, message: str) -> None:
    script = Script(*[httpx.Response(status, content=body, headers={"content-type": content_type})] * 3)
    with pytest.raises(APIStatusError) as info:
        await run(script, max_retries=0)
    assert info.value.message == message and info.value.status_code == status


def test_parse_error_body_reads_type_param_and_code() -> None:
    body = b'{"error": {"message": "m", "type": "t", "param": "p", "code": 42}}'
    assert parse_error_body(body, "application/json", 400) == ("m", "t", "p", "42")


async def test_the_key_never_appears_in_an_error_even_when_the_server_echoes_it() -> None:
    echo = api_error(401, f"Incorrect API key provided: {KEY}. Header was 'Bearer {KEY}'")
    with pytest.raises(AuthenticationError) as info:
        await run(Script(echo))
    assert KEY not in str(info.value) and "[redacted]" in str(info.value)
    assert KEY not in explain(info.value).one_line()
    html_echo = httpx.Response(
        502, content=f"<p>Authorization: Bearer {KEY}</p>".encode(), headers={"content-type": "text/html"}
    )
    with pytest.raises(APIStatusError) as info2:
        await run(Script(html_echo), max_retries=0)
    assert KEY not in str(info2.value)


# -- transport failures -------------------------------------------------------------------------------------------


async def test_connection_failures_are_retried_then_raised() -> None:
    sleeps = Sleeps()
    script = Script(*[httpx.ConnectError("[Errno 111] Connection refused")] * 3)
    with pytest.raises(APIConnectionError) as info:
        await run(script, sleeps)
    assert str(info.value) == "Could not connect to api.test: [Errno 111] Connection refused."
    assert not isinstance(info.value, APITimeoutError)
    assert len(script.requests) == 3 and len(sleeps.delays) == 2


async def test_a_dropped_connection_before_any_answer_is_retried() -> None:
    script = Script(
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        images_answer(PNG_ANSWER_IMAGE),
    )
    result = await run(script)
    assert len(result.images) == 1 and len(script.requests) == 3


async def test_read_timeout_is_not_retried_and_names_the_timeout() -> None:
    sleeps = Sleeps()
    script = Script(httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError) as info:
        await run(script, sleeps, timeouts=Timeouts(read=240))
    assert str(info.value) == "api.test sent nothing within the read timeout of 240 s."
    assert len(script.requests) == 1 and sleeps.delays == []


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (httpx.ConnectTimeout("t"), "Could not connect to api.test within the connect timeout of 10 s."),
        (httpx.WriteTimeout("t"), "Could not send the request to api.test within the write timeout of 120 s."),
        (httpx.PoolTimeout("t"), "No free connection within the pool timeout of 10 s."),
    ],
)
async def test_timeouts_before_the_request_arrived_are_retried(exc: Exception, message: str) -> None:
    script = Script(exc, exc, exc)
    with pytest.raises(APITimeoutError) as info:
        await run(script)
    assert str(info.value) == message and len(script.requests) == 3


async def test_a_body_cut_off_mid_transfer_is_a_connection_error_without_retry() -> None:
    async def cut():
        yield b'{"data": [{"b64_json": "iVBOR'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    script = Script(httpx.Response(200, content=cut(), headers={"x-request-id": "req_cut"}))
    with pytest.raises(APIConnectionError) as info:
        await run(script)
    assert "broke while receiving the result" in str(info.value) and "billed" in str(info.value)
    assert info.value.request_id == "req_cut" and len(script.requests) == 1


async def test_read_timeout_while_receiving_is_a_timeout_error() -> None:
    async def stall():
        yield b"{"
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(APITimeoutError, match="read timeout of 600 s"):
        await run(Script(httpx.Response(200, content=stall())))


async def test_the_key_is_not_in_connection_error_messages() -> None:
    script = Script(httpx.ConnectError(f"proxy said Authorization: Bearer {KEY}"))
    with pytest.raises(APIConnectionError) as info:
        await run(script, max_retries=0)
    assert KEY not in str(info.value)


# -- cancellation against a real slow server --------------------------------------------------------------------


async def test_cancelling_the_task_aborts_the_request_at_once() -> None:
    request_seen = asyncio.Event()
    closed = asyncio.Event()

    async def slow_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        request_seen.set()
        await reader.read()  # never answers; returns at EOF, i.e. when the client hangs up
        closed.set()
        writer.close()

    server = await asyncio.start_server(slow_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with ImagesClient(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY) as client:
            task = asyncio.create_task(
                client.edit(params=ImageParams("x"), images=[ImageInput("a.png", PNG_ANSWER_IMAGE, "image/png")])
            )
            await asyncio.wait_for(request_seen.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The proof of "at once": the server, which never answers, sees the client hang up.
            await asyncio.wait_for(closed.wait(), 30)
    finally:
        server.close()
        await server.wait_closed()


async def test_a_redirect_is_reported_not_followed() -> None:
    script = Script(httpx.Response(308, headers={"location": "https://new.api.test/v1/images/generations"}))
    with pytest.raises(APIStatusError) as info:
        await run(script)
    assert info.value.status_code == 308 and len(script.requests) == 1
    assert str(info.value) == (
        "The provider redirected the request to https://new.api.test/v1/images/generations. "
        "Check the base URL (use the final address)."
    )
