"""Streaming (SSE) results: partial and final images delivered as they arrive, errors inside the stream."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from conftest_api import API, KEY, Script, Sleeps, b64, encoded, images_answer, sse_answer

from gimp_gptimage.api import (
    APIConnectionError,
    BadRequestError,
    ImageEvent,
    ImageInput,
    ImageParams,
    ImagesClient,
    InternalServerError,
    RateLimitError,
    ResultError,
)

P0, P1, FINAL = encoded(colour=(10, 0, 0)), encoded(colour=(20, 0, 0)), encoded(colour=(30, 0, 0))
USAGE = {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12, "input_tokens_details": {"image_tokens": 3}}
STREAM_PARAMS = ImageParams("x", stream=True, partial_images=2)


def partial(data: bytes, i: int, prefix: str = "image_edit") -> tuple[str, dict]:
    kind = f"{prefix}.partial_image"
    return kind, {
        "type": kind,
        "b64_json": b64(data),
        "created_at": 1700000001,
        "size": "1024x1024",
        "quality": "high",
        "background": "opaque",
        "output_format": "png",
        "partial_image_index": i,
    }


def completed(data: bytes, prefix: str = "image_edit", **extra) -> tuple[str, dict]:
    kind = f"{prefix}.completed"
    body = {
        "type": kind,
        "b64_json": b64(data),
        "created_at": 1700000002,
        "size": "1024x1024",
        "quality": "high",
        "background": "opaque",
        "output_format": "png",
        "usage": USAGE,
    }
    return kind, {**body, **extra}


async def edit(script: Script, params: ImageParams = STREAM_PARAMS, **kwargs):
    events: list[ImageEvent] = []
    async with ImagesClient(base_url=API, api_key=KEY, transport=script.transport, sleep=Sleeps()) as client:
        try:
            result = await client.edit(
                params=params, images=[ImageInput("a.png", FINAL, "image/png")], on_event=events.append, **kwargs
            )
        except Exception as exc:
            exc.events = events  # type: ignore[attr-defined]
            raise
    return result, events


@pytest.mark.parametrize("chunk", [1, 7, 64, None])
async def test_partials_and_final_image_arrive_in_order(chunk: int | None) -> None:
    script = Script(
        sse_answer([partial(P0, 0), partial(P1, 1), completed(FINAL)], chunk=chunk, tail=b"data: [DONE]\n\n")
    )
    result, events = await edit(script)
    assert [(e.kind, e.index, e.partial_index, e.data) for e in events] == [
        ("partial", 0, 0, P0),
        ("partial", 0, 1, P1),
        ("completed", 0, None, FINAL),
    ]
    assert events[0].size == "1024x1024" and events[0].output_format == "png" and events[0].usage is None
    assert events[2].usage is not None and events[2].usage.total_tokens == 12
    assert [(i.index, i.data) for i in result.images] == [(0, FINAL)]
    assert result.request_id == "req_sse" and result.created == 1700000002
    assert (result.size, result.quality, result.background, result.output_format) == (
        "1024x1024",
        "high",
        "opaque",
        "png",
    )
    assert result.usage is not None and result.usage.input_image_tokens == 3


async def test_generation_stream_with_crlf_comments_keepalives_and_plain_end() -> None:
    kind_p, body_p = partial(P0, 0, "image_generation")
    kind_c, body_c = completed(FINAL, "image_generation")
    raw = (
        b": connected\r\n\r\n"
        b"\r\n"
        + f"event: {kind_p}\r\ndata: {json.dumps(body_p)}\r\n\r\n".encode()
        + b": keep-alive\r\n\r\n"
        + f"event: {kind_c}\r\ndata: {json.dumps(body_c)}\r\n\r\n".encode()
    )

    async def body():
        for i in range(0, len(raw), 5):
            yield raw[i : i + 5]

    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=body()))
    events: list[ImageEvent] = []
    async with ImagesClient(base_url=API, api_key=KEY, transport=script.transport) as client:
        result = await client.generate(params=STREAM_PARAMS, on_event=events.append)
    assert [e.kind for e in events] == ["partial", "completed"]
    assert result.images[0].data == FINAL
    assert json.loads(script.requests[0].content)["stream"] is True


async def test_events_are_delivered_while_the_stream_is_still_open() -> None:
    first_seen = asyncio.Event()

    async def body():
        kind, data = partial(P0, 0)
        yield f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()
        await asyncio.wait_for(first_seen.wait(), 5)  # fails unless the partial was delivered already
        kind, data = completed(FINAL)
        yield f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()

    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body()))

    async def on_event(event: ImageEvent) -> None:  # async callbacks are awaited
        if event.kind == "partial":
            first_seen.set()

    async with ImagesClient(base_url=API, api_key=KEY, transport=script.transport) as client:
        result = await client.edit(
            params=STREAM_PARAMS, images=[ImageInput("a.png", FINAL, "image/png")], on_event=on_event
        )
    assert result.images[0].data == FINAL


async def test_final_image_may_come_before_all_partials_and_indexes_are_honoured() -> None:
    other = encoded(colour=(0, 99, 0))
    script = Script(
        sse_answer(
            [
                partial(P0, 0),
                completed(other, index=1),
                completed(FINAL, index=0),
                ("image_edit.something_new", {"type": "image_edit.something_new"}),
            ]
        )
    )
    result, events = await edit(script, ImageParams("x", n=2, stream=True, partial_images=3))
    assert [(i.index, i.data) for i in result.images] == [(1, other), (0, FINAL)]
    assert [(e.kind, e.index) for e in events] == [("partial", 0), ("completed", 1), ("completed", 0)]


async def test_without_index_images_are_numbered_by_completion_order() -> None:
    second = encoded(colour=(0, 0, 77))
    script = Script(sse_answer([completed(FINAL), partial(P0, 0), completed(second)]))
    result, events = await edit(script, ImageParams("x", n=2, stream=True))
    assert [(i.index, i.data) for i in result.images] == [(0, FINAL), (1, second)]
    assert [(e.kind, e.index) for e in events] == [("completed", 0), ("partial", 1), ("completed", 1)]


@pytest.mark.parametrize(
    ("event", "cls", "status", "code"),
    [
        (
            {
                "type": "error",
                "error": {
                    "message": "Your request was rejected by the safety system.",
                    "type": "image_generation_user_error",
                    "param": None,
                    "code": "moderation_blocked",
                },
            },
            BadRequestError,
            400,
            "moderation_blocked",
        ),
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "Too many"},
            RateLimitError,
            429,
            "rate_limit_exceeded",
        ),
        ({"error": {"message": "Upstream died", "status": 500}}, InternalServerError, 500, None),
        ({"type": "error", "message": "mystery"}, InternalServerError, 500, None),
    ],
)
async def test_an_error_event_raises_the_matching_status_error(event, cls, status, code) -> None:
    script = Script(sse_answer([partial(P0, 0), ("error", event)]))
    with pytest.raises(cls) as info:
        await edit(script)
    assert info.value.status_code == status and info.value.code == code
    assert info.value.request_id == "req_sse" and info.value.message
    assert [e.kind for e in info.value.events] == ["partial"]  # what arrived before is not lost
    assert info.value.partial is None  # no finished image had arrived


async def test_an_error_event_after_a_finished_image_keeps_that_image() -> None:
    script = Script(sse_answer([completed(FINAL), ("error", {"type": "error", "message": "second failed"})]))
    with pytest.raises(InternalServerError) as info:
        await edit(script, ImageParams("x", n=2, stream=True))
    assert info.value.partial is not None and info.value.partial.images[0].data == FINAL


async def test_a_stream_without_a_final_image_is_a_result_error() -> None:
    script = Script(sse_answer([partial(P0, 0), partial(P1, 1)], tail=b"data: [DONE]\n\n"))
    with pytest.raises(ResultError, match=r"ended before any finished image arrived \(2 partial image\(s\)"):
        await edit(script)


async def test_done_stops_reading_even_if_more_follows() -> None:
    script = Script(sse_answer([completed(FINAL), (None, "[DONE]"), (None, "garbage that is not json")]))
    result, _ = await edit(script)
    assert len(result.images) == 1


async def test_a_non_json_event_is_a_result_error() -> None:
    script = Script(sse_answer([(None, "{not json")]))
    with pytest.raises(ResultError, match="not JSON"):
        await edit(script)


async def test_a_truncated_event_at_the_end_is_a_result_error() -> None:
    kind, body = completed(FINAL)
    raw = f"event: {kind}\ndata: {json.dumps(body)}"[:-40].encode()

    async def cut():
        yield raw

    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=cut()))
    with pytest.raises(ResultError):
        await edit(script)


async def test_connection_reset_mid_stream_keeps_what_was_delivered() -> None:
    kind, body = completed(FINAL)

    async def reset():
        yield f"event: {kind}\ndata: {json.dumps(body)}\n\n".encode()
        yield b'event: image_edit.partial_image\ndata: {"b64'
        raise httpx.ReadError("Connection reset by peer")

    script = Script(
        httpx.Response(200, headers={"content-type": "text/event-stream", "x-request-id": "r1"}, content=reset())
    )
    with pytest.raises(APIConnectionError) as info:
        await edit(script, ImageParams("x", n=2, stream=True))
    assert "broke while receiving the result" in str(info.value) and info.value.request_id == "r1"
    assert [(e.kind, e.data) for e in info.value.events] == [("completed", FINAL)]  # type: ignore[attr-defined]
    assert info.value.partial is not None and [i.data for i in info.value.partial.images] == [FINAL]
    assert len(script.requests) == 1  # never retried once the answer started


async def test_a_streamed_final_image_given_as_a_link_is_downloaded() -> None:
    kind, body = completed(FINAL)
    del body["b64_json"]
    body["url"] = "https://cdn.example.net/final.png"
    script = Script(sse_answer([(kind, body)]), httpx.Response(200, content=FINAL))
    result, events = await edit(script)
    assert result.images[0].source_url == "https://cdn.example.net/final.png"
    assert events[0].data == FINAL and "authorization" not in script.requests[1].headers


async def test_a_relay_that_ignores_stream_still_delivers_the_final_image_as_an_event() -> None:
    script = Script(images_answer(FINAL))
    result, events = await edit(script)
    assert [(e.kind, e.index, e.data) for e in events] == [("completed", 0, FINAL)]
    assert result.images[0].data == FINAL


async def test_a_broken_partial_image_is_a_result_error() -> None:
    kind, body = partial(P0, 0)
    body["b64_json"] = "%%%"
    script = Script(sse_answer([(kind, body)]))
    with pytest.raises(ResultError, match="A partial image in the answer is not valid base64"):
        await edit(script)


async def test_an_endless_event_line_is_refused() -> None:
    async def endless():
        yield b'data: {"type": "image_edit.completed", "b64_json": "'
        while True:
            yield b"A" * 65536

    script = Script(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=endless()))
    async with ImagesClient(
        base_url=API, api_key=KEY, transport=script.transport, download_limit_bytes=10_000
    ) as client:
        with pytest.raises(ResultError, match="The stream is unusable: an event line is longer than"):
            await client.generate(params=STREAM_PARAMS)
