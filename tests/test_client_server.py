"""ImagesClient against the real local server: over loopback HTTP (uvicorn) and in-process (ASGI).

Covers every request field, several images, the mask, streaming with partial images, b64 and url results,
every validation rule (the client's message must equal the server's) and every fault the server can inject.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from conftest_api import Sleeps, encoded, mask_png
from PIL import Image
from starlette.types import Message, Receive, Scope, Send

from gimp_gptimage.api import (
    CRAZYROUTER,
    QUICKROUTER,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ImageEvent,
    ImageInput,
    ImageParams,
    ImagesClient,
    InternalServerError,
    NotFoundError,
    Provider,
    RateLimitError,
    ResultError,
    Timeouts,
    ValidationError,
)
from gimp_gptimage.api.multipart import FilePart, MultipartBody
from gimp_gptimage.server import Fault, FaultPlan, LocalServer, create_app

SERVER_KEY = "sk-test-local-0123456789abcdef"
IMG = ImageInput("photo.png", encoded((64, 48), "PNG"), "image/png")
MASK = mask_png((64, 48))


class RecordingApp:
    """ASGI wrapper remembering every request's method, path and headers, and how many answers began."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.answers_started = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append((scope["method"], scope["path"], headers))

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.answers_started += 1
            await send(message)

        await self.app(scope, receive, counting_send)


@dataclass
class Backend:
    mode: str
    client: ImagesClient
    faults: FaultPlan
    recorder: RecordingApp
    sleeps: Sleeps
    base_url: str
    transport: httpx.AsyncBaseTransport | None = None
    servers: list[LocalServer] = field(default_factory=list)

    @property
    def image_posts(self) -> list[tuple[str, str, dict[str, str]]]:
        return [r for r in self.recorder.requests if r[0] == "POST"]


Make = Callable[..., Backend]


def _backend_factory(mode: str, made: list[Backend]) -> Make:
    def make(
        profile: str = "openai",
        *,
        provider: Provider | None = None,
        latency: float = 0.0,
        timeouts: Timeouts | None = None,
        max_retries: int = 2,
        api_key: str = SERVER_KEY,
    ) -> Backend:
        sleeps = Sleeps()
        servers: list[LocalServer] = []
        if mode == "loopback":
            server = LocalServer(profile=profile, api_key=SERVER_KEY, latency=latency, faults=())
            recorder = RecordingApp(server.app)
            server.app = recorder  # type: ignore[assignment]
            server.start()
            servers.append(server)
            faults, base_url, transport = server.faults, server.base_url, None
        else:
            faults = FaultPlan()
            recorder = RecordingApp(create_app(profile=profile, api_key=SERVER_KEY, latency=latency, faults=faults))
            base_url, transport = "http://127.0.0.1/v1", httpx.ASGITransport(app=recorder)
        client = ImagesClient(
            base_url=base_url,
            api_key=api_key,
            provider=provider,
            timeouts=timeouts or Timeouts(),
            max_retries=max_retries,
            transport=transport,
            sleep=sleeps,
        )
        backend = Backend(mode, client, faults, recorder, sleeps, base_url, transport, servers)
        made.append(backend)
        return backend

    return make


async def _close(made: list[Backend]) -> None:
    for b in made:
        await b.client.aclose()
        for server in b.servers:
            await asyncio.to_thread(server.stop)


@pytest.fixture(params=["loopback", "inprocess"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """The local server over real loopback HTTP, and the same app in-process through httpx.ASGITransport."""
    made: list[Backend] = []
    yield _backend_factory(request.param, made)
    await _close(made)


@pytest.fixture
async def loopback() -> AsyncIterator[Make]:
    """Real sockets only: in-process ASGI buffers whole answers, so it has no read timeouts, no mid-answer
    resets and no partly received streams."""
    made: list[Backend] = []
    yield _backend_factory("loopback", made)
    await _close(made)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- requests and results ------------------------------------------------------------------------------------


async def test_edit_with_every_field_several_images_and_a_mask(backend: Make) -> None:
    b = backend()
    params = ImageParams(
        "replace the red square with a window",
        model="gpt-image-1.5",
        n=2,
        size="1536x1024",
        quality="hd",  # pyright: ignore[reportArgumentType]  # an alias the Literal leaves out, on purpose
        background="opaque",
        output_format="webp",
        output_compression=80,
        input_fidelity="high",
        moderation="low",
        user="tester-1",
    )
    refs = [
        IMG,
        ImageInput("ref.jpg", encoded((40, 40), "JPEG"), "image/jpeg"),
        ImageInput("r.webp", encoded((30, 20), "WEBP"), "image/webp"),
    ]
    stages: list[str] = []
    result = await b.client.edit(params=params, images=refs, mask=MASK, on_progress=lambda s, f: stages.append(s))
    assert len(result.images) == 2
    for index, image in enumerate(result.images):
        assert image.index == index and image.source_url is None
        assert image.revised_prompt and image.revised_prompt.startswith("[offline engine, MI-GAN inpainting model] ")
        picture = decoded(image.data)
        assert picture.format == "WEBP" and picture.size == (1536, 1024)
    assert (result.size, result.quality, result.background, result.output_format) == (
        "1536x1024",
        "high",
        "opaque",
        "webp",
    )
    assert result.usage is not None and result.usage.input_image_tokens and result.usage.output_tokens
    assert result.request_id and result.request_id.startswith("req_")
    assert stages[0] == "uploading" and "generating" in stages
    (post,) = b.image_posts
    assert post[1] == "/v1/images/edits" and post[2]["authorization"] == f"Bearer {SERVER_KEY}"


async def test_gpt_image_2_free_size_edit_and_generation(backend: Make) -> None:
    b = backend()
    edited = await b.client.edit(
        params=ImageParams("extend", size="1024x640", output_format="jpeg"), images=[IMG], mask=MASK
    )
    assert decoded(edited.images[0].data).size == (1024, 640) and decoded(edited.images[0].data).format == "JPEG"
    generated = await b.client.generate(params=ImageParams("a lighthouse at dusk", size="1280x720", moderation="low"))
    assert decoded(generated.images[0].data).size == (1280, 720)
    assert generated.size == "1280x720" and generated.created


async def test_transparent_background_on_a_model_that_has_it(backend: Make) -> None:
    b = backend()
    result = await b.client.generate(
        params=ImageParams(
            "a sticker", model="gpt-image-1.5", size="1024x1024", background="transparent", output_format="png"
        )
    )
    assert decoded(result.images[0].data).mode == "RGBA" and result.background == "transparent"


@pytest.mark.parametrize("kind", ["edit", "generate"])
async def test_streaming_delivers_partials_then_the_final_image(backend: Make, kind: str) -> None:
    b = backend(latency=0.3)  # keep-alive comments arrive between events
    events: list[ImageEvent] = []
    params = ImageParams("a fox", size="1024x640", stream=True, partial_images=2)
    if kind == "edit":
        result = await b.client.edit(params=params, images=[IMG], mask=MASK, on_event=events.append)
    else:
        result = await b.client.generate(params=params, on_event=events.append)
    assert [(e.kind, e.partial_index) for e in events] == [("partial", 0), ("partial", 1), ("completed", None)]
    for event in events:
        assert decoded(event.data).size == (1024, 640) and event.index == 0
    assert events[-1].data == result.images[0].data and events[-1].usage is not None
    assert result.usage is not None and result.size == "1024x640" and result.request_id


async def test_streaming_several_images(backend: Make) -> None:
    b = backend()
    events: list[ImageEvent] = []
    result = await b.client.generate(
        params=ImageParams("x", n=2, size="1024x640", stream=True, partial_images=1), on_event=events.append
    )
    assert [(e.kind, e.index) for e in events] == [("partial", 0), ("completed", 0), ("partial", 1), ("completed", 1)]
    assert [i.index for i in result.images] == [0, 1]


async def test_relay_url_results_are_downloaded_without_the_key(backend: Make) -> None:
    b = backend("crazyrouter", provider=CRAZYROUTER)
    stages: list[tuple[str, float | None]] = []
    result = await b.client.edit(
        params=ImageParams("x", n=2, quality="hd", size="1024x1024"),  # pyright: ignore[reportArgumentType]  # an alias the Literal leaves out, on purpose
        images=[IMG],
        mask=MASK,
        on_progress=lambda s, f: stages.append((s, f)),
    )
    assert len(result.images) == 2
    for image in result.images:
        assert image.source_url and "/v1/files/results/" in image.source_url
        assert decoded(image.data).size == (1024, 1024)
    downloads = [r for r in b.recorder.requests if r[0] == "GET"]
    assert len(downloads) == 2
    for _, path, headers in downloads:
        assert path.startswith("/v1/files/results/") and "authorization" not in headers
        assert SERVER_KEY not in str(headers)
    assert stages[-1] == ("downloading", 1.0)


async def test_quickrouter_format_field(backend: Make) -> None:
    b = backend("quickrouter", provider=QUICKROUTER)
    result = await b.client.generate(params=ImageParams("x", size="1024x1024", output_format="jpeg"))
    assert decoded(result.images[0].data).format == "JPEG"
    # The same renamed field sent to a server that does not know it is refused, as OpenAI would.
    wrong = backend("openai", provider=QUICKROUTER)
    with pytest.raises(BadRequestError, match=r"Unknown parameter: 'format'\."):
        await wrong.client.generate(params=ImageParams("x", output_format="jpeg"))


# -- errors the server gives -----------------------------------------------------------------------------------


async def test_wrong_key_is_an_authentication_error_without_the_key(backend: Make) -> None:
    b = backend(api_key="sk-wrong-key-abcdefghijklmnop")
    with pytest.raises(AuthenticationError) as info:
        await b.client.generate(params=ImageParams("x"))
    assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    assert "sk-wrong-key-abcdefghijklmnop" not in str(info.value) and info.value.request_id
    assert len(b.image_posts) == 1  # 401 is never retried


async def test_unknown_model_is_not_found(backend: Make) -> None:
    b = backend()
    with pytest.raises(NotFoundError, match="The model `gpt-image-9` does not exist"):
        await b.client.generate(params=ImageParams("x", model="gpt-image-9"))


# -- every validation rule: refused locally, with the server's own words ---------------------------------------

CASES: list[tuple[str, dict[str, Any], int]] = [
    ("prompt missing", {"prompt": ""}, 1),
    ("prompt too long", {"prompt": "x" * 32_001}, 1),
    ("no image", {}, 0),
    ("17 images", {}, 17),
    ("n 0", {"n": 0}, 1),
    ("n 11", {"n": 11}, 1),
    ("fixed sizes", {"model": "gpt-image-1.5", "size": "1254x836"}, 1),
    ("size format", {"size": "large"}, 1),
    ("grid", {"size": "1792x936"}, 1),
    ("edge", {"size": "3856x1024"}, 1),
    ("pixels", {"size": "800x800"}, 1),
    ("ratio", {"size": "2320x768"}, 1),
    ("quality", {"quality": "standard"}, 1),
    ("output format", {"output_format": "gif"}, 1),
    ("background value", {"background": "clear"}, 1),
    ("transparent on v2", {"background": "transparent"}, 1),
    ("transparent jpeg", {"model": "gpt-image-1.5", "background": "transparent", "output_format": "jpeg"}, 1),
    ("compression range", {"output_format": "jpeg", "output_compression": 101}, 1),
    ("compression png", {"output_format": "png", "output_compression": 50}, 1),
    ("fidelity v2", {"input_fidelity": "high"}, 1),
    ("fidelity mini", {"model": "gpt-image-1-mini", "input_fidelity": "high"}, 1),
    ("fidelity value", {"model": "gpt-image-1.5", "input_fidelity": "max"}, 1),
    ("moderation", {"moderation": "none"}, 1),
    ("partials without stream", {"partial_images": 2}, 1),
    ("partials range", {"stream": True, "partial_images": 4}, 1),
]


def _raw_edit_request(params: ImageParams, image_count: int) -> dict[str, Any]:
    """The request the client would have sent (multipart even without files), built without its checks."""
    files = [FilePart("image[]", f"i{i}.png", "image/png", IMG.data) for i in range(image_count)]
    body = MultipartBody(params.to_fields(), files)
    return {"content": body.to_bytes(), "headers": {"Content-Type": body.content_type}}


@pytest.mark.parametrize(("name", "changes", "image_count"), CASES, ids=[c[0] for c in CASES])
async def test_validation_rules_match_the_servers_answer(
    backend: Make, name: str, changes: dict, image_count: int
) -> None:
    b = backend()
    params = ImageParams("a prompt").replace(**changes)
    with pytest.raises(ValidationError) as info:
        await b.client.edit(params=params, images=[IMG] * image_count)
    assert b.recorder.requests == []  # refused before any network call

    # What the server says when the same request is sent anyway, bypassing the client's check.
    async with httpx.AsyncClient(transport=b.transport, headers={"Authorization": f"Bearer {SERVER_KEY}"}) as raw:
        answer = await raw.post(f"{b.base_url}/images/edits", **_raw_edit_request(params, image_count))
    assert answer.status_code == 400
    server_error = answer.json()["error"]
    assert str(info.value) == f"{server_error['message']} [rule: {info.value.rule}]"
    assert info.value.param == server_error["param"]


async def test_generation_only_rule_matches_the_server(backend: Make) -> None:
    b = backend()
    params = ImageParams("x", model="gpt-image-1.5", input_fidelity="high")
    with pytest.raises(ValidationError) as info:
        await b.client.generate(params=params)
    async with httpx.AsyncClient(transport=b.transport, headers={"Authorization": f"Bearer {SERVER_KEY}"}) as raw:
        answer = await raw.post(f"{b.base_url}/images/generations", json=params.to_fields())
    assert str(info.value).startswith(answer.json()["error"]["message"])


# -- every injected fault -----------------------------------------------------------------------------------------


async def test_fault_429_is_retried_after_retry_after(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("status", status=429, retry_after=2))
    result = await b.client.generate(params=ImageParams("x"))
    assert len(result.images) == 1 and b.sleeps.delays == [2.0] and len(b.image_posts) == 2


async def test_fault_429_every_time_gives_a_rate_limit_error(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("status", status=429, retry_after=1, times=3))
    with pytest.raises(RateLimitError) as info:
        await b.client.generate(params=ImageParams("x"))
    assert info.value.retry_after == 1.0 and info.value.code == "rate_limit_exceeded"
    assert "Rate limit reached" in str(info.value) and len(b.image_posts) == 3


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_fault_gateway_statuses_are_retried(backend: Make, status: int) -> None:
    b = backend()
    b.faults.add(Fault("status", status=status, times=2))
    result = await b.client.edit(params=ImageParams("x"), images=[IMG])
    assert len(result.images) == 1 and len(b.sleeps.delays) == 2


@pytest.mark.parametrize(("status", "cls"), [(500, InternalServerError), (400, BadRequestError)])
async def test_fault_other_statuses_are_not_retried(backend: Make, status: int, cls: type) -> None:
    b = backend()
    b.faults.add(Fault("status", status=status, message="Injected failure.", code="injected"))
    with pytest.raises(cls) as info:
        await b.client.generate(params=ImageParams("x"))
    assert (info.value.message, info.value.code, info.value.status_code) == ("Injected failure.", "injected", status)
    assert len(b.image_posts) == 1 and b.sleeps.delays == []


async def test_fault_html_error_page(backend: Make) -> None:
    b = backend(max_retries=0)
    b.faults.add(Fault("html", status=502))
    with pytest.raises(InternalServerError) as info:
        await b.client.generate(params=ImageParams("x"))
    assert info.value.message == "HTTP 502 from the provider: 502 Bad Gateway" and info.value.status_code == 502


async def test_fault_html_page_then_success(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("html", status=504))
    assert len((await b.client.generate(params=ImageParams("x"))).images) == 1


async def test_fault_plain_text_error(backend: Make) -> None:
    b = backend(max_retries=0)
    b.faults.add(Fault("text", status=503))
    with pytest.raises(InternalServerError) as info:
        await b.client.generate(params=ImageParams("x"))
    assert info.value.message.startswith("HTTP 503 from the provider: upstream connect error or disconnect/reset")


async def test_fault_reset_before_answer_is_retried(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("reset"))
    result = await b.client.edit(params=ImageParams("x"), images=[IMG], mask=MASK)
    assert len(result.images) == 1 and len(b.image_posts) == 2


async def test_fault_reset_every_time_is_a_connection_error(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("reset", times=3))
    with pytest.raises(APIConnectionError) as info:
        await b.client.generate(params=ImageParams("x"))
    assert "broke before any answer arrived" in str(info.value) and len(b.image_posts) == 3


async def test_fault_reset_after_streamed_events_keeps_what_arrived(loopback: Make) -> None:
    b = loopback()
    b.faults.add(Fault("reset_after", events=2))
    events: list[ImageEvent] = []
    with pytest.raises(APIConnectionError) as info:
        await b.client.edit(
            params=ImageParams("x", n=2, size="1024x640", stream=True, partial_images=1),
            images=[IMG],
            on_event=events.append,
        )
    assert [e.kind for e in events] == ["partial", "completed"]  # the first finished image is not lost
    assert info.value.partial is not None and info.value.partial.images[0].data == events[1].data
    assert info.value.request_id and "billed" in str(info.value)
    assert len(b.image_posts) == 1  # an answer that started is never retried


async def test_fault_reset_halfway_through_a_plain_answer(loopback: Make) -> None:
    b = loopback()
    b.faults.add(Fault("reset_after"))
    with pytest.raises(APIConnectionError, match="broke while receiving the result"):
        await b.client.generate(params=ImageParams("x"))
    assert len(b.image_posts) == 1


async def test_fault_drip_still_delivers(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("drip", bytes_per_second=400_000))
    result = await b.client.generate(params=ImageParams("x", size="1024x640"))
    assert decoded(result.images[0].data).size == (1024, 640)


async def test_fault_truncated_body_is_a_result_error(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("truncate"))
    with pytest.raises(ResultError, match="not valid JSON"):
        await b.client.generate(params=ImageParams("x"))
    assert len(b.image_posts) == 1


async def test_fault_empty_data_is_a_result_error(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("empty_data"))
    with pytest.raises(ResultError, match="contains no images"):
        await b.client.edit(params=ImageParams("x"), images=[IMG])


async def test_fault_wrong_size_results_are_passed_through_for_the_pipeline(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("wrong_size", size="512x512"))
    result = await b.client.generate(params=ImageParams("x", size="1024x1024"))
    # The client delivers what was paid for; fitting it to the requested region is the pipeline's job.
    assert result.size == "1024x1024" and decoded(result.images[0].data).size == (512, 512)


async def test_fault_delay_then_success(backend: Make) -> None:
    b = backend()
    b.faults.add(Fault("delay", seconds=0.2))
    assert len((await b.client.generate(params=ImageParams("x"))).images) == 1


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault("result_missing"), "failed with HTTP 404"),
        (Fault("result_html"), "is not a readable image"),
        (Fault("result_bomb"), "decompression bomb"),
    ],
)
async def test_fault_bad_result_links(backend: Make, fault: Fault, message: str) -> None:
    b = backend("crazyrouter")
    b.faults.add(fault)
    with pytest.raises(ResultError) as info:
        await b.client.generate(params=ImageParams("x"))
    assert message in str(info.value) and info.value.request_id
    assert "/v1/files/results/" in str(info.value) or fault.kind != "result_missing"


async def test_fault_result_link_failing_once_is_retried(backend: Make) -> None:
    b = backend("crazyrouter")
    b.faults.add(Fault("status", status=503, endpoint="results"))
    result = await b.client.generate(params=ImageParams("x"))
    assert len(result.images) == 1 and len(b.sleeps.delays) == 1


# -- real sockets only: timeouts and cancellation ---------------------------------------------------------------


async def test_fault_delay_beyond_the_read_timeout_is_a_timeout_error_without_retry(loopback: Make) -> None:
    b = loopback(timeouts=Timeouts(read=0.3))
    b.faults.add(Fault("delay", seconds=1.0))
    with pytest.raises(APITimeoutError, match=r"within the read timeout of 0\.3 s"):
        await b.client.generate(params=ImageParams("x"))
    assert len(b.image_posts) == 1


async def test_fault_slow_drip_trips_the_read_timeout(loopback: Make) -> None:
    b = loopback(timeouts=Timeouts(read=0.05))
    b.faults.add(Fault("drip", bytes_per_second=100))
    with pytest.raises(APITimeoutError):
        await b.client.generate(params=ImageParams("x"))


async def test_cancel_aborts_a_slow_request_at_once(loopback: Make) -> None:
    b = loopback(latency=20.0)
    generating = asyncio.Event()
    task = asyncio.create_task(
        b.client.edit(
            params=ImageParams("x"),
            images=[IMG],
            on_progress=lambda s, f: generating.set() if s == "generating" else None,
        )
    )
    await asyncio.wait_for(generating.wait(), 10)

    async def server_has_it() -> None:  # the server thread may not have read the request yet
        while not b.image_posts:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(server_has_it(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Dropped, not waited out: the task ended before the server (20 s of latency) began its answer.
    assert b.recorder.answers_started == 0


async def test_a_proxy_in_the_environment_does_not_capture_loopback_traffic(
    loopback: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing listens there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    b = loopback("crazyrouter")
    result = await b.client.generate(params=ImageParams("x"))
    assert result.images[0].source_url and decoded(result.images[0].data)
