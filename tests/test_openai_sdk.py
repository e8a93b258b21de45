"""The official `openai` SDK as a client of the local server: it must parse every answer we give."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import numpy as np
import openai
import pytest
from PIL import Image
from server_fixtures import TEST_KEY, mask_png, png_bytes, resource_bytes

from gimp_gptimage.api.params import ImageParams, check_params
from gimp_gptimage.server import LocalServer, OpenCVEngine


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(api_key=TEST_KEY) as running:
        yield running


@pytest.fixture
def client(server: LocalServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0, timeout=60) as sdk:
        yield sdk


def image_of(b64: str | None) -> Image.Image:
    assert b64
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def coffee() -> tuple[str, bytes, str]:
    return ("coffee.png", resource_bytes("coffee.png"), "image/png")


def test_edit_with_one_image_and_mask(client: openai.OpenAI) -> None:
    mask = ("mask.png", mask_png((600, 400), (320, 220, 420, 330)), "image/png")
    result = client.images.edit(
        model="gpt-image-2", image=coffee(), mask=mask, prompt="remove the spoon", size="1536x1024", quality="low"
    )
    assert result.created > 0 and result.size == "1536x1024" and result.quality == "low"
    assert result.output_format == "png" and result.background == "opaque"
    assert result.usage is not None and result.usage.total_tokens > 0
    assert result.usage.input_tokens_details.image_tokens > 0
    assert result.data is not None and len(result.data) == 1
    assert result.data[0].revised_prompt == "[offline engine, MI-GAN inpainting model] remove the spoon"
    assert image_of(result.data[0].b64_json).size == (1536, 1024)


def test_edit_with_several_images(client: openai.OpenAI) -> None:
    images = [
        coffee(),
        ("cat.png", resource_bytes("chelsea.png"), "image/png"),
        ("rocket.jpg", resource_bytes("rocket.jpg"), "image/jpeg"),
    ]
    result = client.images.edit(
        model="gpt-image-1.5",
        image=images,
        prompt="put the cat on the saucer",
        n=2,
        output_format="webp",
        output_compression=60,
        input_fidelity="high",
    )
    assert result.data is not None and len(result.data) == 2
    assert result.output_format == "webp" and result.size == "1536x1024"
    assert all(image_of(d.b64_json).format == "WEBP" for d in result.data)


def test_streamed_edit_with_partial_images(client: openai.OpenAI) -> None:
    stream = client.images.edit(image=coffee(), prompt="warmer light", stream=True, partial_images=2, size="1024x1024")
    events = list(stream)
    assert [e.type for e in events] == ["image_edit.partial_image"] * 2 + ["image_edit.completed"]
    partials = [e for e in events if isinstance(e, openai.types.ImageEditPartialImageEvent)]
    assert [e.partial_image_index for e in partials] == [0, 1]
    completed = events[-1]
    assert isinstance(completed, openai.types.ImageEditCompletedEvent)
    assert completed.usage.output_tokens > 0 and completed.size == "1024x1024"
    previews = [np.asarray(image_of(e.b64_json).convert("L"), dtype=np.float32) for e in events]
    assert all(p.shape == (1024, 1024) for p in previews)
    assert not np.array_equal(previews[0], previews[-1])


def test_streamed_generation(client: openai.OpenAI) -> None:
    stream = client.images.generate(prompt="a red kite", stream=True, partial_images=1, model="gpt-image-1-mini")
    types = [event.type for event in stream]
    assert types == ["image_generation.partial_image", "image_generation.completed"]


def test_generate(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="gpt-image-1.5",
        prompt="a lighthouse",
        n=2,
        size="1024x1536",
        background="transparent",
        moderation="low",
        quality="medium",
    )
    assert result.background == "transparent" and result.data is not None and len(result.data) == 2
    assert all(image_of(d.b64_json).size == (1024, 1536) for d in result.data)
    assert image_of(result.data[0].b64_json).mode == "RGBA"


def test_generate_with_raw_response_keeps_request_id(client: openai.OpenAI) -> None:
    raw = client.images.with_raw_response.generate(prompt="x")
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["x-gptimage-engine"] == "offline-migan"
    assert raw.parse().data is not None


def error_body(error: openai.APIStatusError) -> dict:
    """The error object of the answer (the SDK types `body` as object)."""
    assert isinstance(error.body, dict)
    return error.body


@pytest.mark.parametrize(
    ("kwargs", "params"),
    [
        ({"size": "1792x936"}, {"size": "1792x936"}),
        ({"quality": "standard"}, {"quality": "standard"}),
        ({"partial_images": 2}, {"partial_images": 2}),
        ({"output_compression": 50}, {"output_compression": 50}),
        ({"model": "gpt-image-1.5", "size": "1254x836"}, {"model": "gpt-image-1.5", "size": "1254x836"}),
    ],
)
def test_invalid_parameters_are_bad_request_errors(client: openai.OpenAI, kwargs: dict, params: dict) -> None:
    expected = check_params(ImageParams("x", **params), kind="generate")[0]
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(prompt="x", **kwargs)
    assert raised.value.status_code == 400
    assert error_body(raised.value)["message"] == expected.message
    assert raised.value.code == expected.code and raised.value.param == expected.param
    assert raised.value.request_id and raised.value.request_id.startswith("req_")


def test_edit_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.edit(image=coffee(), prompt="x", response_format="b64_json")
    assert error_body(raised.value)["message"] == "Unknown parameter: 'response_format'."
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.edit(image=("x.bin", png_bytes(), "application/octet-stream"), prompt="x")
    assert raised.value.code == "unsupported_file_mimetype" and raised.value.param == "image"
    with pytest.raises(openai.BadRequestError) as raised:  # a list is sent as image[] parts
        client.images.edit(image=[coffee(), ("x.bin", png_bytes(), "application/octet-stream")], prompt="x")
    assert raised.value.param == "image[1]"
    assert error_body(raised.value)["message"].startswith("Invalid file 'image[1]': unsupported mimetype")
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.edit(image=coffee(), prompt="x", mask=("m.png", png_bytes((600, 400)), "image/png"))
    assert error_body(raised.value)["message"] == "Invalid mask image format - mask image missing alpha channel"
    with pytest.raises(openai.NotFoundError):
        client.images.generate(prompt="x", model="dall-e-7")


def test_wrong_key_is_authentication_error(server: LocalServer) -> None:
    sdk = openai.OpenAI(base_url=server.base_url, api_key="sk-not-the-right-one-0000", max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError) as raised:
        sdk.images.generate(prompt="x")
    assert raised.value.code == "invalid_api_key"
    assert "not-the-right-one" not in str(raised.value)


async def test_async_sdk(server: LocalServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0) as sdk:
        result = await sdk.images.generate(prompt="an async kite", size="1024x1024")
        assert result.data is not None and image_of(result.data[0].b64_json).size == (1024, 1024)
        stream = await sdk.images.edit(image=coffee(), prompt="x", stream=True, partial_images=1)
        assert [e.type async for e in stream] == ["image_edit.partial_image", "image_edit.completed"]


def test_failure_inside_a_stream_is_an_api_error() -> None:
    class BrokenEngine(OpenCVEngine):
        def generate(
            self, prompt: str, size: tuple[int, int], index: int = 0, transparent: bool = False
        ) -> Image.Image:
            raise RuntimeError("broken")

    with (
        LocalServer(engine=BrokenEngine()) as broken,
        openai.OpenAI(base_url=broken.base_url, api_key=TEST_KEY, max_retries=0) as sdk,
    ):
        with pytest.raises(openai.APIError) as raised:
            list(sdk.images.generate(prompt="x", stream=True))
        assert "error while processing your request" in str(raised.value)
        with pytest.raises(openai.InternalServerError):
            sdk.images.generate(prompt="x")


# -- 2.6 models: complexity, the quality ladder, markup ------------------------------------------------------


def markup_file(size: tuple[int, int] = (600, 400)) -> tuple[str, bytes, str]:
    sheet = Image.new("RGBA", size, (0, 0, 0, 0))
    sheet.paste((255, 0, 0, 255), (300, 200, 420, 210))  # one red stroke
    buffer = io.BytesIO()
    sheet.save(buffer, "PNG")
    return ("markup.png", buffer.getvalue(), "image/png")


def test_2_6_edit_with_markup_complexity_and_xhigh(client: openai.OpenAI) -> None:
    # complexity goes through extra_body, as it must with an SDK that does not know the field; the markup
    # file needs the SDK's own `markup` argument (extra_body cannot carry a file).
    result = client.images.edit(
        model="gpt-image-2.6-sunburst",
        image=coffee(),
        markup=markup_file(),
        prompt="make what I marked red",
        quality="xhigh",
        extra_body={"complexity": "low"},
    )
    assert result.quality == "xhigh" and result.data is not None
    assert (result.data[0].revised_prompt or "").endswith(
        "] (markup read as the area to change) make what I marked red"
    )


def test_2_6_generation_with_complexity_and_max(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="gpt-image-2.6-flare", prompt="a kite", quality="max", size="2048x1152", extra_body={"complexity": "high"}
    )
    assert result.quality == "max" and image_of(result.data[0].b64_json).size == (2048, 1152)  # type: ignore[index]


@pytest.mark.parametrize(
    ("call", "param", "message"),
    [
        (
            {"model": "gpt-image-2.5-flare", "extra_body": {"complexity": "low"}},
            "complexity",
            "The model 'gpt-image-2.5-flare' does not support the 'complexity' parameter.",
        ),
        (
            {"model": "gpt-image-2", "quality": "xhigh"},
            "quality",
            "Invalid value: 'xhigh'. Supported values are: 'low', 'medium', 'high', and 'auto'.",
        ),
        (
            {"model": "gpt-image-2.5-sunburst", "markup": markup_file()},
            "markup",
            "The model 'gpt-image-2.5-sunburst' does not support the 'markup' parameter.",
        ),
        (
            {"model": "gpt-image-2.6-sunburst", "markup": markup_file((300, 200))},
            "markup",
            "Invalid markup image format - markup size does not match image size",
        ),
        (
            {"model": "gpt-image-2.6-flare", "markup": markup_file(), "output_format": "gif"},
            "markup",
            "Invalid 'markup': markup is not supported with output_format 'gif'.",
        ),
        (
            {
                "model": "gpt-image-2.6-flare",
                "markup": markup_file(),
                "mask": ("m.png", mask_png((600, 400), (0, 0, 9, 9)), "image/png"),
            },
            "markup",
            "Invalid 'markup': markup cannot be combined with mask.",
        ),
    ],
    ids=["complexity-2.5", "xhigh-2", "markup-2.5", "markup-size", "markup-gif", "markup-mask"],
)
def test_2_6_rules_are_bad_request_errors(client: openai.OpenAI, call: dict, param: str, message: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.edit(image=coffee(), prompt="x", **call)
    assert raised.value.status_code == 400 and raised.value.param == param
    assert raised.value.body["message"] == message  # type: ignore[index]


def test_gpt_image_1_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.images.generate(prompt="x", model="gpt-image-1")
    assert "shut gpt-image-1 down on 2026-10-23" in raised.value.body["message"]  # type: ignore[index]
