"""The local server's HTTP contract: every route, rule and message, over loopback HTTP and in-process."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncIterator, Callable

import httpx
import numpy as np
import pytest
from PIL import Image
from server_fixtures import (
    ASGI_BASE,
    AUTH,
    TEST_KEY,
    decode,
    mask_png,
    png_bytes,
    resource_bytes,
)

from gimp_gptimage.api.params import ImageParams, check_params, normalise
from gimp_gptimage.server import Fault, FaultPlan, LocalServer, OpenCVEngine, create_app
from gimp_gptimage.server.errors import ApiError
from gimp_gptimage.server.imaging import decompression_bomb_png
from gimp_gptimage.server.results import ResultStore

ApiFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture(params=["in-process", "loopback"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[ApiFactory]:
    """Make clients of a server with given create_app arguments, in-process or over real loopback HTTP."""
    servers: list[LocalServer] = []
    clients: list[httpx.AsyncClient] = []

    def make(**kwargs: object) -> httpx.AsyncClient:
        if request.param == "in-process":
            transport = httpx.ASGITransport(app=create_app(**kwargs))  # type: ignore[arg-type]
            client = httpx.AsyncClient(transport=transport, base_url=ASGI_BASE, headers=AUTH)
        else:
            server = LocalServer(**kwargs).start()  # type: ignore[arg-type]
            servers.append(server)
            client = httpx.AsyncClient(base_url=server.base_url, headers=AUTH, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
    for server in servers:
        server.stop()


def image_part(name: str = "image", data: bytes | None = None, content_type: str = "image/png") -> tuple:
    return (name, ("image.png", data if data is not None else png_bytes(), content_type))


async def edit(client: httpx.AsyncClient, fields: dict | None = None, files: list | None = None) -> httpx.Response:
    data = {"prompt": "make it nicer", **(fields or {})}
    return await client.post("/images/edits", data=data, files=files if files is not None else [image_part()])


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


# --- routes, auth, headers -------------------------------------------------------------------------------


async def test_health_and_models(api: ApiFactory) -> None:
    client = api()
    root = str(client.base_url).removesuffix("/v1/")
    health = await client.get(root + "/healthz")
    assert health.json() == {"status": "ok", "profile": "openai", "engine": "offline-migan"}
    models = await client.get("/models")
    assert models.status_code == 200
    ids = [m["id"] for m in models.json()["data"]]
    assert {"gpt-image-2.6-sunburst", "gpt-image-2.5-flare", "gpt-image-2", "gpt-image-1.5", "gpt-image-1-mini"} <= set(
        ids
    )
    unauthorised = await client.get("/models", headers={"Authorization": ""})
    assert unauthorised.status_code == 401


async def test_missing_key_is_401_with_openai_message(api: ApiFactory) -> None:
    client = api()
    for headers in ({"Authorization": ""}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
        response = await client.post("/images/generations", json={"prompt": "x"}, headers=headers)
        assert response.status_code == 401
        error = error_of(response)
        assert error["message"].startswith("You didn't provide an API key.")
        assert error["type"] == "invalid_request_error"
        assert response.headers["x-request-id"].startswith("req_")


async def test_wrong_key_is_401_and_never_echoed(api: ApiFactory) -> None:
    client = api(api_key=TEST_KEY)
    wrong = "sk-wrong-key-that-is-secret-9876"
    response = await client.post(
        "/images/generations", json={"prompt": "x"}, headers={"Authorization": f"Bearer {wrong}"}
    )
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "invalid_api_key"
    assert error["message"].startswith("Incorrect API key provided: sk-")
    assert "wrong-key-that-is-secret" not in response.text
    assert (await client.post("/images/generations", json={"prompt": "x"})).status_code == 200


async def test_edit_answer_has_every_field(api: ApiFactory) -> None:
    client = api()
    response = await edit(client, files=[image_part(data=resource_bytes("coffee.png"))])
    assert response.status_code == 200, response.text
    assert re.fullmatch(r"req_[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.headers["x-gptimage-engine"] == "offline-migan"
    body = response.json()
    assert set(body) == {"created", "data", "background", "output_format", "size", "quality", "usage"}
    assert body["output_format"] == "png" and body["background"] == "opaque" and body["quality"] == "high"
    # size=auto keeps the 600x400 input's 3:2 aspect with a valid gpt-image-2 size
    width, height = map(int, body["size"].split("x"))
    assert width % 16 == 0 and height % 16 == 0 and abs(width / height - 1.5) < 0.02
    [item] = body["data"]
    assert item["revised_prompt"] == "[offline engine] make it nicer"
    image = decode(base64.b64decode(item["b64_json"]))
    assert image.format == "PNG" and image.size == (width, height)
    usage = body["usage"]
    details = usage["input_tokens_details"]
    assert usage["input_tokens"] == details["text_tokens"] + details["image_tokens"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert details["image_tokens"] > 0 and usage["output_tokens"] > 0


async def test_several_images_and_n_results_differ(api: ApiFactory) -> None:
    client = api()
    files = [
        image_part("image[]", resource_bytes("coffee.png")),
        image_part("image[]", resource_bytes("chelsea.png")),
        image_part("image[]", resource_bytes("rocket.jpg"), "image/jpeg"),
    ]
    response = await edit(client, {"n": "3", "size": "1024x1024", "quality": "low"}, files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["size"] == "1024x1024" and body["quality"] == "low"
    results = [np.asarray(decode(base64.b64decode(d["b64_json"]))) for d in body["data"]]
    assert len(results) == 3 and all(r.shape == (1024, 1024, 3) for r in results)
    assert not np.array_equal(results[0], results[1]) and not np.array_equal(results[1], results[2])
    assert body["usage"]["input_tokens_details"]["image_tokens"] > 3 * 85


async def test_same_request_gives_same_result(api: ApiFactory) -> None:
    client = api()
    first, second = [(await edit(client, {"size": "1024x1024"})).json()["data"][0]["b64_json"] for _ in range(2)]
    assert first == second


@pytest.mark.parametrize(("fmt", "magic"), [("jpeg", b"\xff\xd8\xff"), ("webp", b"RIFF"), ("png", b"\x89PNG")])
async def test_output_formats(api: ApiFactory, fmt: str, magic: bytes) -> None:
    client = api()
    fields = {"output_format": fmt, "size": "1024x1024"}
    if fmt != "png":
        fields["output_compression"] = "20"
    response = await edit(client, fields, [image_part(data=resource_bytes("astronaut.png"))])
    assert response.status_code == 200, response.text
    assert response.json()["output_format"] == fmt
    data = base64.b64decode(response.json()["data"][0]["b64_json"])
    assert data.startswith(magic)
    if fmt != "png":
        fields["output_compression"] = "95"
        better = await edit(client, fields, [image_part(data=resource_bytes("astronaut.png"))])
        assert len(base64.b64decode(better.json()["data"][0]["b64_json"])) > len(data)


async def test_transparent_background_keeps_alpha_where_allowed(api: ApiFactory) -> None:
    client = api()
    rgba = png_bytes((64, 64), (10, 200, 10, 0), "RGBA")
    fields = {"model": "gpt-image-1.5", "background": "transparent", "size": "1024x1024"}
    response = await edit(client, fields, [image_part(data=rgba)])
    assert response.status_code == 200, response.text
    assert response.json()["background"] == "transparent"
    image = decode(base64.b64decode(response.json()["data"][0]["b64_json"]))
    assert image.mode == "RGBA" and image.getchannel("A").getextrema() == (0, 0)
    opaque = await edit(client, {**fields, "background": "opaque"}, [image_part(data=rgba)])
    assert decode(base64.b64decode(opaque.json()["data"][0]["b64_json"])).mode == "RGB"
    generated = await client.post(
        "/images/generations", json={"prompt": "a logo", "model": "gpt-image-1.5", "background": "transparent"}
    )
    picture = decode(base64.b64decode(generated.json()["data"][0]["b64_json"]))
    assert picture.mode == "RGBA" and picture.getchannel("A").getextrema()[0] == 0


async def test_generation_answer(api: ApiFactory) -> None:
    client = api()
    body = {"prompt": "a lighthouse at dusk", "n": 2, "size": "1536x1024", "quality": "medium"}
    response = await client.post("/images/generations", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["size"] == "1536x1024" and answer["quality"] == "medium"
    images = [decode(base64.b64decode(d["b64_json"])) for d in answer["data"]]
    assert [im.size for im in images] == [(1536, 1024)] * 2
    assert images[0].tobytes() != images[1].tobytes()
    assert answer["usage"]["input_tokens_details"]["image_tokens"] == 0
    assert answer["usage"]["output_tokens"] == 2 * round(1056 * 1.5)


# --- validation: the server answers with the same rule table the client uses ---------------------------

RULE_CASES: list[tuple[str, dict, int]] = [
    ("no prompt", {"prompt": ""}, 1),
    ("prompt too long", {"prompt": "x" * 32_001}, 1),
    ("n too small", {"n": 0}, 1),
    ("n too large", {"n": 11}, 1),
    ("size off grid", {"size": "1792x936"}, 1),
    ("edge too long", {"size": "3856x1024"}, 1),
    ("too few pixels", {"size": "512x512"}, 1),
    ("ratio", {"size": "3200x1024"}, 1),
    ("fixed sizes", {"model": "gpt-image-1.5", "size": "1254x836"}, 1),
    ("quality standard", {"quality": "standard"}, 1),
    ("output format", {"output_format": "gif"}, 1),
    ("background value", {"background": "black"}, 1),
    ("transparent on gpt-image-2", {"background": "transparent"}, 1),
    ("transparent with jpeg", {"model": "gpt-image-1.5", "background": "transparent", "output_format": "jpeg"}, 1),
    ("compression range", {"output_format": "jpeg", "output_compression": 101}, 1),
    ("compression with png", {"output_compression": 50}, 1),
    ("input_fidelity on gpt-image-2", {"input_fidelity": "high"}, 1),
    ("input_fidelity value", {"model": "gpt-image-1.5", "input_fidelity": "max"}, 1),
    ("moderation", {"moderation": "none"}, 1),
    ("partial_images without stream", {"partial_images": 2}, 1),
    ("partial_images range", {"stream": True, "partial_images": 4}, 1),
    ("too many images", {}, 17),
    ("no image", {}, 0),
]


@pytest.mark.parametrize(("name", "changes", "image_count"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
async def test_edit_rules_match_check_params(api: ApiFactory, name: str, changes: dict, image_count: int) -> None:
    client = api()
    params = ImageParams(**{"prompt": "make it nicer", **changes})
    expected = check_params(params, kind="edit", image_count=image_count)[0]
    fields = {"prompt": "make it nicer"} | {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in changes.items()
    }
    # Fields as file-less parts, so the body is multipart even without any image.
    parts = [image_part("image[]") for _ in range(image_count)] + [(k, (None, v)) for k, v in fields.items()]
    response = await client.post("/images/edits", files=parts)
    assert response.status_code == 400, response.text
    assert error_of(response) == {
        "message": expected.message,
        "type": expected.error_type,
        "param": expected.param,
        "code": expected.code,
    }


GENERATION_CASES = [c for c in RULE_CASES if c[2] == 1] + [
    ("input_fidelity is unknown on generations", {"model": "gpt-image-1.5", "input_fidelity": "high"}, 0)
]


@pytest.mark.parametrize(("name", "changes", "_"), GENERATION_CASES, ids=[c[0] for c in GENERATION_CASES])
async def test_generation_rules_match_check_params(api: ApiFactory, name: str, changes: dict, _: int) -> None:
    client = api()
    params = ImageParams(**{"prompt": "a cat", **changes})
    expected = check_params(params, kind="generate")[0]
    response = await client.post("/images/generations", json={"prompt": "a cat", **changes})
    assert response.status_code == 400, response.text
    assert error_of(response) == {
        "message": expected.message,
        "type": expected.error_type,
        "param": expected.param,
        "code": expected.code,
    }


async def test_exact_messages_from_the_contract(api: ApiFactory) -> None:
    client = api()
    cases = {
        "quality": (
            "standard",
            "Invalid value: 'standard'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
        ),
        "size": ("1792x936", "Invalid size '1792x936'. Width and height must both be divisible by 16."),
    }
    for field, (value, message) in cases.items():
        response = await client.post("/images/generations", json={"prompt": "x", field: value})
        assert error_of(response)["message"] == message
    fixed = await client.post("/images/generations", json={"prompt": "x", "model": "gpt-image-1.5", "size": "1254x836"})
    assert error_of(fixed)["message"] == (
        "Invalid value: '1254x836'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'."
    )
    fidelity = await edit(client, {"input_fidelity": "high"})
    assert error_of(fidelity) == {
        "message": "The model 'gpt-image-2' does not support the 'input_fidelity' parameter.",
        "type": "image_generation_user_error",
        "param": "input_fidelity",
        "code": "invalid_input_fidelity_model",
    }
    transparent = await client.post("/images/generations", json={"prompt": "x", "background": "transparent"})
    assert error_of(transparent)["message"] == "Transparent background is not supported for this model."


@pytest.mark.parametrize("field", ["response_format", "style", "format"])
async def test_unknown_parameters(api: ApiFactory, field: str) -> None:
    client = api()
    for response in (
        await edit(client, {field: "url"}),
        await client.post("/images/generations", json={"prompt": "x", field: "url"}),
    ):
        assert response.status_code == 400
        assert error_of(response) == {
            "message": f"Unknown parameter: '{field}'.",
            "type": "invalid_request_error",
            "param": field,
            "code": "unknown_parameter",
        }


async def test_unknown_model_is_404(api: ApiFactory) -> None:
    client = api()
    for response in (
        await edit(client, {"model": "dall-e-9"}),
        await client.post("/images/generations", json={"prompt": "x", "model": "dall-e-9"}),
    ):
        assert response.status_code == 404
        error = error_of(response)
        assert error["code"] == "model_not_found"
        assert error["message"] == "The model `dall-e-9` does not exist or you do not have access to it."
    dated = await client.post("/images/generations", json={"prompt": "x", "model": "gpt-image-2-2026-04-21"})
    assert dated.status_code == 200


async def test_wrong_value_types(api: ApiFactory) -> None:
    client = api()
    response = await edit(client, {"n": "two"})
    assert error_of(response) == {
        "message": "Invalid type for 'n': expected an integer, but got a string instead.",
        "type": "invalid_request_error",
        "param": "n",
        "code": "invalid_type",
    }
    response = await client.post("/images/generations", json={"prompt": "x", "n": "2"})
    assert error_of(response)["code"] == "invalid_type"
    response = await client.post("/images/generations", json={"prompt": "x", "stream": "yes"})
    assert error_of(response)["param"] == "stream"
    response = await client.post("/images/generations", json={"prompt": ["x"]})
    assert error_of(response)["message"] == "Invalid type for 'prompt': expected a string, but got an array instead."


async def test_bad_json_and_bad_content_type(api: ApiFactory) -> None:
    client = api()
    response = await client.post(
        "/images/generations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("We could not parse the JSON body of your request.")
    response = await client.post("/images/edits", json={"prompt": "x"})
    assert response.status_code == 400
    assert "expected multipart/form-data" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("files", "param"),
    [
        ([image_part("image", content_type="application/octet-stream")], "image"),
        ([image_part("image[]", content_type="application/octet-stream")], "image[0]"),
        ([image_part("image[]"), image_part("image[]", content_type="application/octet-stream")], "image[1]"),
    ],
)
async def test_octet_stream_parts_are_rejected(api: ApiFactory, files: list, param: str) -> None:
    response = await edit(api(), files=files)
    assert response.status_code == 400
    assert error_of(response) == {
        "message": f"Invalid file '{param}': unsupported mimetype ('application/octet-stream'). Supported file "
        "formats are 'image/jpeg', 'image/png', and 'image/webp'.",
        "type": "invalid_request_error",
        "param": param,
        "code": "unsupported_file_mimetype",
    }


async def test_undecodable_images_are_rejected(api: ApiFactory) -> None:
    client = api()
    response = await edit(client, files=[image_part("image[]"), image_part("image[]", b"\x89PNG\r\n\x1a\nbroken")])
    assert response.status_code == 400
    assert error_of(response) == {
        "message": "Invalid image file or mode for image 2, please check your image file.",
        "type": "invalid_request_error",
        "param": "image[1]",
        "code": "invalid_image_file",
    }
    gif = png_bytes(fmt="GIF")
    assert error_of(await edit(client, files=[image_part(data=gif)]))["code"] == "invalid_image_file"


async def test_mask_rules(api: ApiFactory) -> None:
    client = api()
    image = png_bytes((64, 48))

    async def with_mask(mask: bytes, content_type: str = "image/png") -> dict:
        response = await edit(client, files=[image_part(data=image), ("mask", ("mask.png", mask, content_type))])
        assert response.status_code == 400, response.text
        return error_of(response)

    no_alpha = await with_mask(png_bytes((64, 48), (0, 0, 0)))
    assert no_alpha == {
        "message": "Invalid mask image format - mask image missing alpha channel",
        "type": "invalid_request_error",
        "param": "mask",
        "code": "invalid_mask_image_format",
    }
    wrong_size = await with_mask(mask_png((32, 48), (0, 0, 8, 8)))
    assert wrong_size["message"] == "Invalid mask image format - mask size does not match image size"
    jpeg = await with_mask(png_bytes((64, 48), fmt="JPEG"), "image/jpeg")
    assert jpeg["code"] == "invalid_mask_image_format"
    octet = await with_mask(mask_png((64, 48), (0, 0, 8, 8)), "application/octet-stream")
    assert octet["code"] == "unsupported_file_mimetype" and octet["param"] == "mask"
    good = await edit(
        client, files=[image_part(data=image), ("mask", ("m.png", mask_png((64, 48), (0, 0, 8, 8)), "image/png"))]
    )
    assert good.status_code == 200


# --- profiles --------------------------------------------------------------------------------------------


async def test_openai_rejects_hd_relays_accept_it(api: ApiFactory) -> None:
    openai = api()
    response = await openai.post("/images/generations", json={"prompt": "x", "quality": "hd"})
    expected = check_params(ImageParams("x", quality="hd"), kind="generate")[0]  # pyright: ignore[reportArgumentType]  # an alias the Literal leaves out, on purpose
    assert error_of(response)["message"] == expected.message
    relay = api(profile="crazyrouter")
    response = await relay.post("/images/generations", json={"prompt": "x", "quality": "hd"})
    assert response.status_code == 200 and response.json()["quality"] == "high"
    assert normalise(ImageParams("x", quality="hd")).quality == "high"  # pyright: ignore[reportArgumentType]  # an alias the Literal leaves out, on purpose


async def test_relay_answers_with_links_it_serves(api: ApiFactory) -> None:
    client = api(profile="crazyrouter")
    response = await edit(client, {"output_format": "webp", "size": "1024x1024"})
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    assert set(item) == {"url", "revised_prompt"}
    url = item["url"]
    assert url.startswith(str(client.base_url).rstrip("/") + "/files/results/") and url.endswith(".webp")
    download = await client.get(url, headers={"Authorization": ""})
    assert download.status_code == 200 and download.headers["content-type"] == "image/webp"
    assert decode(download.content).size == (1024, 1024)
    assert (await client.get(url.removesuffix(".webp") + ".png")).status_code == 404
    assert (await client.get(url.rsplit("/", 1)[0] + "/unknown.webp")).status_code == 404


async def test_expired_links_are_gone() -> None:
    app = create_app(profile="crazyrouter", results=ResultStore(ttl=-1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ASGI_BASE, headers=AUTH) as client:
        response = await client.post("/images/generations", json={"prompt": "x"})
        download = await client.get(response.json()["data"][0]["url"])
        assert download.status_code == 404
        assert download.json()["error"]["message"] == "File not found or link expired."


async def test_result_store_drops_the_oldest() -> None:
    store = ResultStore(capacity=2)
    names = [store.put(bytes([i]), "png") for i in range(3)]
    assert store.get(names[0]) is None
    assert store.get(names[2]) == (b"\x02", "image/png")


async def test_quickrouter_accepts_format_alias(api: ApiFactory) -> None:
    client = api(profile="quickrouter")
    response = await client.post("/images/generations", json={"prompt": "x", "format": "jpeg"})
    assert response.status_code == 200, response.text
    assert response.json()["output_format"] == "jpeg"
    assert (await client.get(response.json()["data"][0]["url"])).content.startswith(b"\xff\xd8\xff")
    both = await edit(client, {"format": "jpeg", "output_format": "webp"})
    assert both.json()["output_format"] == "webp"


# --- streaming -------------------------------------------------------------------------------------------


def parse_sse(text: str) -> tuple[list[tuple[str, dict]], list[str]]:
    """(events as (name, data), other lines such as comments and [DONE])."""
    events, others = [], []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines if not line.startswith(":"))
        others += [line for line in lines if line.startswith(":")]
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
        elif "data" in fields:
            others.append(fields["data"])
    return events, others


def sharpness(data: bytes) -> float:
    pixels = np.asarray(decode(data).convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(pixels, axis=1)).mean())


async def test_streamed_edit_sends_partials_then_completed(api: ApiFactory) -> None:
    client = api()
    fields = {"stream": "true", "partial_images": "2", "size": "1024x1024", "n": "2"}
    response = await edit(client, fields, [image_part(data=resource_bytes("coffee.png"))])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events, others = parse_sse(response.text)
    names = [name for name, _ in events]
    per_image = ["image_edit.partial_image", "image_edit.partial_image", "image_edit.completed"]
    assert names == per_image * 2
    assert others[-1] == "[DONE]"
    for name, data in events:
        assert data["type"] == name and data["size"] == "1024x1024" and data["output_format"] == "png"
        assert {"created_at", "quality", "background", "b64_json"} <= set(data)
    assert [d["partial_image_index"] for n, d in events if n.endswith("partial_image")] == [0, 1, 0, 1]
    completed = [d for n, d in events if n.endswith("completed")]
    assert all(d["usage"]["output_tokens"] > 0 for d in completed)
    images = [base64.b64decode(d["b64_json"]) for _, d in events[:3]]
    assert all(decode(i).size == (1024, 1024) for i in images)
    assert sharpness(images[0]) < sharpness(images[1]) < sharpness(images[2])


async def test_streamed_generation_with_latency_sends_keep_alives(api: ApiFactory) -> None:
    client = api(latency=1.2)
    body = {"prompt": "a fox", "stream": True, "partial_images": 1, "size": "1024x1024"}
    response = await client.post("/images/generations", json=body)
    events, others = parse_sse(response.text)
    assert [n for n, _ in events] == ["image_generation.partial_image", "image_generation.completed"]
    assert ": keep-alive" in others and others[-1] == "[DONE]"


async def test_per_request_latency_header(api: ApiFactory) -> None:
    client = api()
    started = time.monotonic()
    response = await client.post("/images/generations", json={"prompt": "x"}, headers={"x-gptimage-latency": "0.4"})
    assert response.status_code == 200 and time.monotonic() - started >= 0.4
    bad = await client.post("/images/generations", json={"prompt": "x"}, headers={"x-gptimage-latency": "soon"})
    assert bad.status_code == 400


# --- control endpoint ------------------------------------------------------------------------------------


async def test_control_endpoint_queues_and_clears_faults(api: ApiFactory) -> None:
    client = api(faults=FaultPlan())
    root = str(client.base_url).removesuffix("/v1/")
    queued = await client.post(root + "/_control/faults", json=[{"kind": "status", "status": 503, "times": 2}])
    assert queued.status_code == 200 and queued.json()["pending"][0]["status"] == 503
    assert (await client.post("/images/generations", json={"prompt": "x"})).status_code == 503
    assert (await client.delete(root + "/_control/faults")).json() == {"pending": []}
    assert (await client.post("/images/generations", json={"prompt": "x"})).status_code == 200
    bad = await client.post(root + "/_control/faults", json=[{"kind": "explode"}])
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]


async def test_control_endpoint_refuses_remote_clients_and_their_requests_trigger_no_fault() -> None:
    plan = FaultPlan([Fault("status", status=503)])
    transport = httpx.ASGITransport(app=create_app(faults=plan), client=("192.0.2.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1/v1", headers=AUTH) as client:
        response = await client.post("http://127.0.0.1/_control/faults", json=[{"kind": "reset"}])
        assert response.status_code == 403
        assert (await client.post("/images/generations", json={"prompt": "x"})).status_code == 200
    assert len(plan) == 1  # still waiting for a loopback client


async def test_the_product_app_has_no_fault_machinery(api: ApiFactory) -> None:
    """Without a fault plan (the CLI's and the dialog's server) there is no control endpoint to find."""
    client = api()
    root = str(client.base_url).removesuffix("/v1/")
    response = await client.post(root + "/_control/faults", json=[{"kind": "status", "status": 503}])
    assert response.status_code == 404
    assert (await client.post("/images/generations", json={"prompt": "x"})).status_code == 200


async def test_file_parts_under_other_names(api: ApiFactory) -> None:
    client = api()
    unknown = await client.post("/images/edits", data={"prompt": "x"}, files=[image_part(), image_part("sketch")])
    assert error_of(unknown)["code"] == "unknown_parameter" and error_of(unknown)["param"] == "sketch"
    as_file = await client.post("/images/edits", data={"prompt": "x"}, files=[image_part(), image_part("size")])
    assert error_of(as_file) == {
        "message": "Invalid type for 'size': expected a string, but got a file instead.",
        "type": "invalid_request_error",
        "param": "size",
        "code": "invalid_type",
    }
    text_image = await client.post("/images/edits", files=[("prompt", (None, "x")), ("image", (None, "not a file"))])
    assert error_of(text_image)["message"] == "Invalid type for 'image': expected a file, but got a string instead."


async def test_oversized_upload_is_refused() -> None:
    huge = png_bytes() + bytes(50 * 1024 * 1024)
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url=ASGI_BASE, headers=AUTH) as client:
        response = await edit(client, files=[image_part(data=huge)])
    assert response.status_code == 400
    assert error_of(response)["code"] == "file_too_large" and error_of(response)["param"] == "image"


async def test_unknown_urls_get_a_json_error(api: ApiFactory) -> None:
    client = api()
    response = await client.post("/images/variations-of-nothing", json={})
    assert response.status_code == 404
    assert error_of(response)["message"] == "Invalid URL (POST /v1/images/variations-of-nothing)"
    wrong_method = await client.get("/images/edits")
    assert wrong_method.status_code == 405
    assert error_of(wrong_method)["message"] == "Invalid URL (GET /v1/images/edits)"


class BrokenEngine(OpenCVEngine):
    def generate(self, prompt: str, size: tuple[int, int], index: int = 0, transparent: bool = False) -> Image.Image:
        raise RuntimeError("the engine broke")


async def test_engine_failures_are_server_errors(api: ApiFactory) -> None:
    client = api(engine=BrokenEngine())
    response = await client.post("/images/generations", json={"prompt": "x"})
    assert response.status_code == 500
    assert error_of(response)["type"] == "server_error" and "engine broke" not in response.text
    streamed = await client.post("/images/generations", json={"prompt": "x", "stream": True})
    assert streamed.status_code == 200
    events, others = parse_sse(streamed.text)
    assert events == [("error", ApiError.for_status(500).body())] and others == ["[DONE]"]


async def test_images_declaring_huge_dimensions_are_refused_unread(api: ApiFactory) -> None:
    response = await edit(api(), files=[image_part(data=decompression_bomb_png(9000, 9000))])
    assert error_of(response)["code"] == "invalid_image_file"
