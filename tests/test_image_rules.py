"""The image rules hold the same on every side: the 50 MB limit, the one decoder's pixel limit, the mask
rules and the nearest fixed size are each one rule that the client, the local server and the readers share."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from conftest_api import API, KEY, Script
from PIL import Image
from server_fixtures import ASGI_BASE, AUTH

from gimp_gptimage.api import ImageInput, ImageParams, ImagesClient, ResultError, ValidationError
from gimp_gptimage.api.download import decode_result
from gimp_gptimage.api.image_rules import (
    MAX_DECODE_PIXELS,
    MAX_IMAGE_BYTES,
    UnreadableImage,
    mask_problem,
    nearest_fixed_size,
    open_image,
)
from gimp_gptimage.image_files import InputFileError
from gimp_gptimage.image_files import open_image as open_input_file
from gimp_gptimage.pipeline.sizes import choose_size
from gimp_gptimage.server import create_app
from gimp_gptimage.server.imaging import decode_image, decompression_bomb_png, resolve_size
from qt_ui.images import bytes_thumbnail


def png(size: tuple[int, int] = (32, 24), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 20, 30, 0)[: len(mode)]).save(buffer, "PNG")
    return buffer.getvalue()


# -- 50 MB: "each image must be smaller than 50 MB", on both sides ------------------------------------------


def padded(total: int) -> bytes:
    start = png()
    return start + bytes(total - len(start))


async def test_the_client_refuses_exactly_50_mb_and_sends_one_byte_less() -> None:
    script = Script()  # no answer queued: a request that is sent fails the test with "unexpected request"
    async with ImagesClient(base_url=API, api_key=KEY, transport=script.transport) as client:
        with pytest.raises(ValidationError, match=r"\[rule: image size\]"):
            await client.edit(params=ImageParams("x"), images=[ImageInput("a.png", padded(MAX_IMAGE_BYTES), "")])
    assert script.requests == []


@pytest.mark.parametrize(("size", "refused"), [(MAX_IMAGE_BYTES, True), (MAX_IMAGE_BYTES - 1, False)])
async def test_the_server_draws_the_line_at_the_same_byte(size: int, refused: bool) -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url=ASGI_BASE, headers=AUTH, timeout=60) as client:
        files = [("image", ("a.png", padded(size), "image/png"))]
        response = await client.post("/images/edits", data={"prompt": "x", "model": "gpt-image-2"}, files=files)
    code = response.json()["error"]["code"] if response.status_code != 200 else None
    assert (code == "file_too_large") is refused, response.text[:300]


# -- one decoder, one pixel limit ---------------------------------------------------------------------------


def test_every_reader_refuses_the_same_bomb_and_accepts_the_limit_itself(tmp_path: Path) -> None:
    over = decompression_bomb_png(8193, 8192)
    assert 8193 * 8192 > MAX_DECODE_PIXELS >= 8192 * 8192
    with pytest.raises(ResultError, match="decompression bomb"):
        decode_result(over, "Image 1")
    with pytest.raises(UnreadableImage, match="decompression bomb"):
        decode_image(over)  # the local server's uploads
    with pytest.raises(ValueError, match="decompression bomb"):
        bytes_thumbnail(over)  # the dialog's previews
    path = tmp_path / "big.png"
    path.write_bytes(over)
    with pytest.raises(InputFileError, match="too large to open safely"):
        open_input_file(path, "image")  # files a person picked
    with open_image(decompression_bomb_png(8192, 8192), load=False) as at_limit:
        assert at_limit.size == (8192, 8192)


def test_a_web_page_is_named_with_its_title() -> None:
    with pytest.raises(UnreadableImage, match=r"it is a web page \('Sign in'\)"):
        open_image(b"<!doctype html><html><head><title>Sign in</title></head></html>")


def test_formats_can_be_limited_to_the_apis() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    with pytest.raises(UnreadableImage, match="GIF image; only PNG, JPEG, WEBP"):
        decode_image(buffer.getvalue())


# -- masks and fixed sizes -----------------------------------------------------------------------------------


def test_mask_rules() -> None:
    with open_image(png((32, 24), "RGBA")) as mask:
        assert mask_problem(mask, (32, 24)) is None
        assert mask_problem(mask, (32, 25)) == ("mask size", "mask size does not match image size")
    with open_image(png((32, 24), "RGB")) as opaque:
        assert mask_problem(opaque, (32, 24)) == ("mask needs alpha", "mask image missing alpha channel")


@pytest.mark.parametrize("region", [(1000, 1000), (1600, 900), (900, 1600), (1300, 1000), (1000, 1300), (5, 1)])
def test_the_pipeline_and_the_server_pick_the_same_fixed_size(region: tuple[int, int]) -> None:
    expected = nearest_fixed_size(*region)
    assert choose_size(*region, model="gpt-image-1.5") == expected
    assert resolve_size("auto", "gpt-image-1.5", region) == expected
