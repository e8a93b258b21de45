"""ImagesClient against httpx.MockTransport: wire format, results, downloads, progress, validation."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest_api import (
    API,
    KEY,
    Script,
    Sleeps,
    b64,
    encoded,
    form_fields,
    images_answer,
    json_answer,
    mask_png,
    multipart_parts,
)

from gimp_gptimage.api import (
    QUICKROUTER,
    ConfigError,
    ImageInput,
    ImageParams,
    ImagesClient,
    ResultError,
    Timeouts,
    ValidationError,
)
from gimp_gptimage.api.providers import LOCAL

PNG = encoded(fmt="PNG")
JPEG = encoded(fmt="JPEG")
WEBP = encoded(fmt="WEBP")


def client_for(script: Script, **kwargs) -> ImagesClient:
    kwargs.setdefault("sleep", Sleeps())
    return ImagesClient(base_url=API, api_key=KEY, transport=script.transport, **kwargs)


# -- edits: the multipart request --------------------------------------------------------------------------


async def test_edit_sends_every_field_and_all_images_as_repeated_image_parts() -> None:
    script = Script(images_answer(PNG))
    params = ImageParams(
        "replace the sky",
        model="gpt-image-1.5",
        n=2,
        size="1536x1024",
        quality="hd",  # pyright: ignore[reportArgumentType]  # an alias the Literal leaves out, on purpose
        background="opaque",
        output_format="webp",
        output_compression=70,
        input_fidelity="high",
        moderation="low",
        user="user-7",
    )
    images = [
        ImageInput("photo.png", PNG, "image/png"),
        ImageInput("ref.jpg", JPEG, "application/octet-stream"),  # a wrong label is corrected from the bytes
        ImageInput("ref2.webp", WEBP, "image/png"),
    ]
    async with client_for(script) as client:
        await client.edit(params=params, images=images, mask=mask_png())
    (request,) = script.requests
    assert request.method == "POST" and str(request.url) == f"{API}/images/edits"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert int(request.headers["content-length"]) == len(request.content)
    assert "transfer-encoding" not in request.headers
    assert request.headers["user-agent"].startswith("gimp-gptimage/")
    parts = multipart_parts(request)
    files = [(p.name, p.filename, p.content_type, p.data) for p in parts if p.filename is not None]
    assert files == [
        ("image[]", "photo.png", "image/png", PNG),
        ("image[]", "ref.jpg", "image/jpeg", JPEG),
        ("image[]", "ref2.webp", "image/webp", WEBP),
        ("mask", "mask.png", "image/png", mask_png()),
    ]
    assert form_fields(request) == {
        "prompt": "replace the sky",
        "model": "gpt-image-1.5",
        "n": "2",
        "size": "1536x1024",
        "quality": "high",  # 'hd' normalised before sending
        "background": "opaque",
        "output_format": "webp",
        "output_compression": "70",
        "input_fidelity": "high",
        "moderation": "low",
        "user": "user-7",
    }


async def test_a_single_image_is_also_sent_as_image_array_and_streaming_flags_are_text() -> None:
    from conftest_api import sse_answer

    script = Script(sse_answer([(None, {"type": "image_edit.completed", "b64_json": b64(PNG)})]))
    async with client_for(script) as client:
        await client.edit(
            params=ImageParams("x", stream=True, partial_images=0), images=[ImageInput("a.png", PNG, "image/png")]
        )
    parts = multipart_parts(script.requests[0])
    assert [p.name for p in parts if p.filename] == ["image[]"]
    fields = form_fields(script.requests[0])
    assert fields["stream"] == "true" and fields["partial_images"] == "0"
    assert "response_format" not in fields
    assert script.requests[0].headers["accept"] == "text/event-stream"


async def test_unicode_prompt_and_filename_survive_the_multipart_encoding() -> None:
    script = Script(images_answer(PNG))
    async with client_for(script) as client:
        await client.edit(
            params=ImageParams('Füge "Sonne" hinzu ☀\nzweite Zeile'), images=[ImageInput('bi"ld.png', PNG, "image/png")]
        )
    parts = multipart_parts(script.requests[0])
    assert form_fields(script.requests[0])["prompt"] == 'Füge "Sonne" hinzu ☀\nzweite Zeile'
    assert [p.data for p in parts if p.filename] == [PNG]


async def test_quickrouter_gets_its_format_field_name_in_edits_and_generations() -> None:
    script = Script(images_answer(JPEG), images_answer(JPEG))
    async with client_for(script, provider=QUICKROUTER) as client:
        await client.edit(params=ImageParams("x", output_format="jpeg"), images=[ImageInput("a.png", PNG, "image/png")])
        await client.generate(params=ImageParams("x", output_format="jpeg"))
    fields = form_fields(script.requests[0])
    assert fields["format"] == "jpeg" and "output_format" not in fields
    body = json.loads(script.requests[1].content)
    assert body["format"] == "jpeg" and "output_format" not in body


# -- generations: the JSON request ---------------------------------------------------------------------------


async def test_generate_posts_json_with_native_types() -> None:
    script = Script(images_answer(PNG))
    async with client_for(script) as client:
        await client.generate(params=ImageParams("a lighthouse", n=3, size="2048x1152", moderation="low", stream=False))
    (request,) = script.requests
    assert str(request.url) == f"{API}/images/generations"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "prompt": "a lighthouse",
        "model": "gpt-image-2",
        "n": 3,
        "size": "2048x1152",
        "quality": "auto",
        "moderation": "low",
    }


# -- validation happens before any network call ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "images", "mask", "message"),
    [
        (ImageParams("x", quality="standard"), [PNG], None, "Invalid value: 'standard'"),  # pyright: ignore[reportArgumentType]  # an alias the Literal leaves out, on purpose
        (ImageParams("x"), [], None, "Missing required parameter: 'image'."),
        (ImageParams("x"), [PNG] * 17, None, "array too long"),
        (ImageParams("x"), [b"GIF89a......"], None, "Image 1 (in.png) is not a PNG, JPEG or WebP image."),
        (ImageParams("x"), [PNG, b"%PDF-1.7"], None, "Image 2 (in.png) is not a PNG, JPEG or WebP image."),
        (ImageParams("x"), [PNG], JPEG, "The mask must be a PNG image with an alpha channel."),
        (ImageParams("x"), [PNG], encoded(fmt="PNG", mode="RGB"), "The mask has no alpha channel (PNG mode RGB)"),
        (ImageParams("x"), [PNG], mask_png((32, 32)), "The mask is 32x32 but the first image is 64x48"),
        (ImageParams("x"), [PNG], b"\x89PNG\r\n\x1a\nbroken", "cannot be read"),
    ],
)
async def test_edit_validation_errors_send_nothing(params, images, mask, message) -> None:
    script = Script()
    async with client_for(script) as client:
        with pytest.raises(ValidationError) as info:
            await client.edit(
                params=params, images=[ImageInput("in.png", data, "image/png") for data in images], mask=mask
            )
    assert message in str(info.value) and "[rule: " in str(info.value)
    assert script.requests == []


async def test_an_image_over_50_mb_is_refused_before_sending() -> None:
    script = Script()
    huge = PNG + bytes(50 * 1024 * 1024)
    async with client_for(script) as client:
        with pytest.raises(ValidationError, match=r"Image 1 \(big.png\) is 52\.\d MB; each image must be under 50 MB"):
            await client.edit(params=ImageParams("x"), images=[ImageInput("big.png", huge, "image/png")])
    assert script.requests == []


async def test_generate_validation_error_sends_nothing() -> None:
    script = Script()
    async with client_for(script) as client:
        with pytest.raises(ValidationError, match=r"Unknown parameter: 'input_fidelity'"):
            await client.generate(params=ImageParams("x", input_fidelity="high"))
    assert script.requests == []


# -- results ---------------------------------------------------------------------------------------------------


async def test_b64_results_with_metadata_usage_and_request_id() -> None:
    other = encoded(colour=(1, 2, 3))
    script = Script(
        json_answer(
            {
                "created": 1712345678,
                "data": [{"b64_json": b64(PNG), "revised_prompt": "a fox, detailed"}, {"b64_json": b64(other)}],
                "size": "1024x1024",
                "quality": "high",
                "background": "opaque",
                "output_format": "png",
                "usage": {
                    "input_tokens": 50,
                    "output_tokens": 4000,
                    "total_tokens": 4050,
                    "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
                },
            },
            headers={"x-request-id": "req_abc"},
        )
    )
    async with client_for(script) as client:
        result = await client.generate(params=ImageParams("a fox", n=2))
    assert [(i.index, i.data, i.revised_prompt, i.source_url) for i in result.images] == [
        (0, PNG, "a fox, detailed", None),
        (1, other, None, None),
    ]
    assert result.request_id == "req_abc" and result.created == 1712345678
    assert (result.size, result.quality, result.background, result.output_format) == (
        "1024x1024",
        "high",
        "opaque",
        "png",
    )
    assert result.usage is not None and result.usage.total_tokens == 4050 and result.usage.input_image_tokens == 40


async def test_url_results_are_downloaded_without_the_authorization_header() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return json_answer(
                {
                    "created": 1,
                    "data": [
                        {"url": "https://cdn.example.net/files/a.png?sig=1", "revised_prompt": "rp"},
                        {"url": "/v1/files/b.jpeg"},  # relative links resolve against the API address
                    ],
                }
            )
        return httpx.Response(200, content=PNG if request.url.path.endswith(".png") else JPEG)

    script = Script(route, route, route)
    async with client_for(script) as client:
        result = await client.generate(params=ImageParams("x", n=2))
    api_request, first, second = script.requests
    assert api_request.headers["authorization"] == f"Bearer {KEY}"
    assert str(first.url) == "https://cdn.example.net/files/a.png?sig=1"
    assert str(second.url) == "https://api.test/v1/files/b.jpeg"
    for download in (first, second):
        assert "authorization" not in download.headers and download.method == "GET"
        assert KEY not in str(download.headers)
    assert [(i.data, i.source_url, i.revised_prompt) for i in result.images] == [
        (PNG, "https://cdn.example.net/files/a.png?sig=1", "rp"),
        (JPEG, "https://api.test/v1/files/b.jpeg", None),
    ]


@pytest.mark.parametrize(
    ("download", "message"),
    [
        (httpx.Response(200, content=b"<html>not an image</html>"), "is not a readable image"),
        (httpx.Response(200, content=PNG[: len(PNG) // 2]), "is not a readable image"),
        (httpx.Response(200, content=PNG + bytes(2000)), "larger than the download limit (2,"),
        (httpx.Response(404, content=b"gone"), "failed with HTTP 404"),
    ],
)
async def test_bad_downloads_are_result_errors(download: httpx.Response, message: str) -> None:
    script = Script(json_answer({"data": [{"url": "https://cdn.example.net/x.png"}]}), download)
    async with client_for(script, download_limit_bytes=2000) as client:
        with pytest.raises(ResultError) as info:
            await client.generate(params=ImageParams("x"))
    assert message in str(info.value) and info.value.request_id == "req_123"


async def test_a_streamed_download_without_length_is_capped_while_reading() -> None:
    async def endless():
        yield PNG
        while True:
            yield bytes(65536)

    script = Script(
        json_answer({"data": [{"url": "https://cdn.example.net/x.png"}]}), httpx.Response(200, content=endless())
    )
    async with client_for(script, download_limit_bytes=1_000_000) as client:
        with pytest.raises(ResultError, match="larger than the download limit"):
            await client.generate(params=ImageParams("x"))


async def test_non_http_links_are_refused() -> None:
    script = Script(json_answer({"data": [{"url": "file:///etc/passwd"}]}))
    async with client_for(script) as client:
        with pytest.raises(ResultError, match="is not an http\\(s\\) address"):
            await client.generate(params=ImageParams("x"))
    assert len(script.requests) == 1


async def test_a_failing_download_is_retried_and_finally_names_the_link() -> None:
    link = "https://cdn.example.net/paid.png"
    ok_script = Script(
        json_answer({"data": [{"url": link}]}),
        httpx.Response(503),
        httpx.ConnectError("reset"),
        httpx.Response(200, content=PNG),
    )
    sleeps = Sleeps()
    async with client_for(ok_script, sleep=sleeps) as client:
        result = await client.generate(params=ImageParams("x"))
    assert result.images[0].data == PNG and len(sleeps.delays) == 2

    bad_script = Script(json_answer({"data": [{"url": link}]}), *[httpx.Response(502)] * 3)
    async with client_for(bad_script) as client:
        with pytest.raises(ResultError) as info:
            await client.generate(params=ImageParams("x"))
    assert "was generated but could not be downloaded" in str(info.value) and link in str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"created": 1, "data": []}', "contains no images"),
        (b'{"created": 1}', "contains no images"),
        (b'{"created": 1, "data": [{"b64_json": "iVBORw0KGgo', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (
            b"<html><head><title>Sign in &ndash; Portal</title></head><body>x</body></html>",
            "answered with a web page instead of a result ('Sign in – Portal'); check the base URL",
        ),
        (b'{"data": [{"revised_prompt": "only this"}]}', "has neither 'b64_json' nor 'url'"),
        (b'{"data": ["x"]}', "is not an object"),
        (b'{"data": [{"b64_json": "!!!not base64!!!"}]}', "not valid base64"),
        (('{"data": [{"b64_json": "' + b64(b"plain text, not an image") + '"}]}').encode(), "not a readable image"),
    ],
)
async def test_unusable_answers_are_result_errors(body: bytes, message: str) -> None:
    script = Script(
        httpx.Response(200, content=body, headers={"content-type": "application/json", "x-request-id": "r9"})
    )
    async with client_for(script) as client:
        with pytest.raises(ResultError) as info:
            await client.generate(params=ImageParams("x"))
    assert message in str(info.value) and info.value.request_id == "r9"


async def test_progress_stages_upload_fractions_then_generating_then_downloading() -> None:
    big = encoded(size=(1200, 1000), fmt="PNG", colour=(10, 20, 30)) + b""
    noisy = bytes(range(256)) * 4000  # about 1 MB appended after IEND still sniffs as PNG for the client
    image = ImageInput("big.png", big + noisy, "image/png")
    script = Script(json_answer({"data": [{"url": "https://cdn.example.net/r.png"}]}), httpx.Response(200, content=PNG))
    stages: list[tuple[str, float | None]] = []
    async with client_for(script) as client:
        await client.edit(params=ImageParams("x"), images=[image], on_progress=lambda s, f: stages.append((s, f)))
    uploads = [f for s, f in stages if s == "uploading"]
    assert None not in uploads  # an upload always knows how far it got
    uploads = [f for f in uploads if f is not None]
    assert uploads[0] == 0.0 and uploads[-1] == 1.0 and len(uploads) >= 4
    assert uploads == sorted(uploads)
    names = [s for s, _ in stages]
    assert names.index("generating") > max(i for i, s in enumerate(names) if s == "uploading")
    assert names[-1] == "downloading" and names.index("downloading") > names.index("generating")
    assert stages[-1] == ("downloading", 1.0)


async def test_non_streaming_requests_do_not_call_on_event() -> None:
    events = []
    script = Script(images_answer(PNG))
    async with client_for(script) as client:
        await client.generate(params=ImageParams("x"), on_event=events.append)
    assert events == []


# -- configuration -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "   ", "sk-abc\ndef", "sk-ab c", "sk-ünicode"])
def test_unusable_keys_are_config_errors_that_do_not_echo_the_key(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        ImagesClient(base_url=API, api_key=key)
    if key.strip():
        assert key.strip() not in str(info.value)


def test_key_is_stripped_and_never_in_repr() -> None:
    client = ImagesClient(base_url=API, api_key=f"  {KEY}\n")
    assert KEY not in repr(client) and "api.test" in repr(client)


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"Refusing plain http:// for relay\.example\.com"):
        ImagesClient(base_url="http://relay.example.com/v1", api_key=KEY)


def test_provider_supplies_the_base_url_when_none_is_given() -> None:
    client = ImagesClient(base_url=None, api_key=KEY, provider=LOCAL.with_base_url("http://127.0.0.1:9/v1"))
    assert client.base_url == "http://127.0.0.1:9/v1"
    assert ImagesClient(base_url="", api_key=KEY, provider=QUICKROUTER).base_url == "https://api.quickrouter.ai/v1"


def test_timeouts_are_explicit() -> None:
    timeouts = Timeouts()
    assert (timeouts.connect, timeouts.read, timeouts.write, timeouts.pool) == (10, 600, 120, 10)
    t = Timeouts(read=30).to_httpx()
    assert (t.connect, t.read, t.write, t.pool) == (10, 30, 120, 10)


async def test_an_endless_answer_is_refused_instead_of_filling_memory() -> None:
    async def endless():
        yield b'{"data": [{"b64_json": "'
        while True:
            yield b"A" * 65536

    script = Script(httpx.Response(200, content=endless(), headers={"content-type": "application/json"}))
    async with client_for(script, download_limit_bytes=100_000) as client:
        with pytest.raises(ResultError, match=r"The answer is larger than 1,181,909 bytes"):
            await client.generate(params=ImageParams("x"))


async def test_one_dead_link_does_not_cost_the_other_images() -> None:
    answer = json_answer(
        {
            "data": [
                {"url": "https://cdn.example.net/1.png"},
                {"url": "https://cdn.example.net/2.png"},
                {"b64_json": "%"},
            ]
        }
    )
    script = Script(answer, httpx.Response(200, content=PNG), httpx.Response(404))
    async with client_for(script) as client:
        with pytest.raises(ResultError) as info:
            await client.generate(params=ImageParams("x", n=3))
    message = str(info.value)
    assert (
        "Image 2 of 3 was generated but could not be downloaded" in message
        and "https://cdn.example.net/2.png" in message
    )
    assert "Image 3 of 3 in the answer is not valid base64" in message
    partial = info.value.partial
    assert partial is not None and [(i.index, i.data) for i in partial.images] == [(0, PNG)]
    assert partial.request_id == "req_123"


async def test_errors_without_any_image_carry_no_partial_result() -> None:
    script = Script(json_answer({"data": [{"url": "https://cdn.example.net/1.png"}]}), httpx.Response(404))
    async with client_for(script) as client:
        with pytest.raises(ResultError) as info:
            await client.generate(params=ImageParams("x"))
    assert info.value.partial is None


async def test_a_truncated_jpeg_result_is_refused() -> None:
    big_jpeg = encoded(size=(400, 300), fmt="JPEG")
    script = Script(images_answer(big_jpeg[: len(big_jpeg) // 2]))
    async with client_for(script) as client:
        with pytest.raises(ResultError, match="Image 1 of 1 is not a readable image"):
            await client.generate(params=ImageParams("x"))
