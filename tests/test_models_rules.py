"""The model table, model by model: what each takes, and for every rule the client's refusal equals the local
server's answer (all three server profiles), markup included."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from server_fixtures import png_bytes

from gimp_gptimage.api import CRAZYROUTER, OPENAI, QUICKROUTER, ImageInput, ImageParams, ImagesClient
from gimp_gptimage.api.errors import NotFoundError, ValidationError
from gimp_gptimage.api.models import MODELS, migrate_model, model_spec, shut_down_message
from gimp_gptimage.api.multipart import FilePart, MultipartBody
from gimp_gptimage.api.params import check_params, validate
from gimp_gptimage.server import create_app

KEY = "sk-test-models-0123456789"
BASE = "http://127.0.0.1/v1"
SIZE = (64, 48)
IMAGE = ImageInput("photo.png", png_bytes(SIZE), "image/png")
PROFILES = {"openai": OPENAI, "crazyrouter": CRAZYROUTER, "quickrouter": QUICKROUTER}
V26 = ("gpt-image-2.6-sunburst", "gpt-image-2.6-flare")
V25 = ("gpt-image-2.5-sunburst", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst-2026-09-08")
FIXED = ("gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest")


def markup_png(size: tuple[int, int] = SIZE, fmt: str = "PNG") -> bytes:
    rgba = np.zeros((size[1], size[0], 4), np.uint8)
    rgba[10:14, 5:40] = (255, 0, 0, 255)  # a red stroke
    buffer = io.BytesIO()
    Image.fromarray(rgba if fmt == "PNG" else rgba[..., :3]).save(buffer, fmt)
    return buffer.getvalue()


def mask_png(size: tuple[int, int] = SIZE) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (0, 0, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


# -- what each model takes -----------------------------------------------------------------------------------


def ok(params: ImageParams, **kw: Any) -> bool:
    return check_params(params, kind=kw.pop("kind", "edit"), image_count=1, **kw) == []


@pytest.mark.parametrize("model", [*V26, *V25])
def test_the_quality_ladder_of_2_5_and_2_6(model: str) -> None:
    for quality in ("low", "medium", "high", "xhigh", "max", "auto"):
        assert ok(ImageParams("x", model=model, quality=quality))
    assert not ok(ImageParams("x", model=model, quality="ultra"))  # pyright: ignore[reportArgumentType]  # outside the Literal, on purpose


@pytest.mark.parametrize("model", ["gpt-image-2", *FIXED])
def test_older_models_stop_at_high(model: str) -> None:
    (v,) = check_params(ImageParams("x", model=model, quality="xhigh"), kind="edit", image_count=1)
    assert v.message == "Invalid value: 'xhigh'. Supported values are: 'low', 'medium', 'high', and 'auto'."


@pytest.mark.parametrize("model", [*V25, "gpt-image-2", *FIXED])
def test_complexity_is_2_6_only(model: str) -> None:
    (v,) = check_params(ImageParams("x", model=model, complexity="low"), kind="edit", image_count=1)
    assert v.param == "complexity" and v.message == f"The model '{model}' does not support the 'complexity' parameter."
    for m in V26:
        assert all(ok(ImageParams("x", model=m, complexity=c)) for c in ("low", "medium", "high"))
        assert not ok(ImageParams("x", model=m, complexity="deep"))  # pyright: ignore[reportArgumentType]  # outside the Literal, on purpose


@pytest.mark.parametrize("model", [*V25, "gpt-image-2", *FIXED])
def test_markup_is_2_6_only(model: str) -> None:
    (v,) = check_params(ImageParams("x", model=model), kind="edit", image_count=1, markup=True)
    assert v.param == "markup" and "does not support the 'markup' parameter" in v.message
    assert all(ok(ImageParams("x", model=m), markup=True) for m in V26)
    (both,) = check_params(ImageParams("x", model=V26[0]), kind="edit", image_count=1, markup=True, mask=True)
    assert both.message == "Invalid 'markup': markup cannot be combined with mask."


def test_transparency_formats_and_sizes_follow_the_table() -> None:
    for model in (*V26, *V25, *FIXED):
        assert ok(ImageParams("x", model=model, background="transparent", output_format="png")), model
    assert not ok(ImageParams("x", model="gpt-image-2", background="transparent"))
    for model in (*V26, *V25, "gpt-image-2"):
        assert ok(ImageParams("x", model=model, size="2048x1152")), model
    for model in FIXED:
        assert not ok(ImageParams("x", model=model, size="2048x1152")), model
    assert model_spec("gpt-image-2.6-sunburst-2026-11-04") is None  # 2.6 has no dated snapshots
    assert model_spec("gpt-image-2.5-flare-2026-09-08") is MODELS["gpt-image-2.5-flare"]


def test_gif_and_svg_are_refused_clearly_before_sending() -> None:
    for fmt in ("gif", "svg"):
        with pytest.raises(ValidationError, match=f"'{fmt}' output is not for a raster editor"):
            validate(ImageParams("x", model="gpt-image-2.6-flare", output_format=fmt), kind="generate")  # pyright: ignore[reportArgumentType]  # outside the Literal, on purpose
    # The API's own rules for them are in the table too (the local server answers them).
    gif = ImageParams("x", model="gpt-image-2.6-flare", output_format="gif")  # pyright: ignore[reportArgumentType]  # outside the Literal, on purpose
    assert [v.param for v in check_params(gif, kind="edit", image_count=1, markup=True, mask=True)] == [
        "mask",
        "markup",
        "markup",  # and not with a mask either
    ]
    svg = check_params(gif.replace(output_format="svg"), kind="generate")
    assert svg[0].message == "SVG generation requires 'svg.model'."


def test_gpt_image_1_is_shut_down_with_a_way_out() -> None:
    for model in ("gpt-image-1", "gpt-image-1-2025-04-15"):
        with pytest.raises(ValidationError) as raised:
            validate(ImageParams("x", model=model), kind="generate")
        assert "shut gpt-image-1 down on 2026-10-23" in str(raised.value) and "Use gpt-image-2.5-sunburst" in str(
            raised.value
        )
    assert migrate_model("gpt-image-1")[0] == "gpt-image-2.5-sunburst" and migrate_model("gpt-image-2") == (
        "gpt-image-2",
        None,
    )
    assert shut_down_message("gpt-image-1-mini") is None


def test_unknown_models_go_without_local_rules() -> None:
    params = ImageParams("x", model="relay-image-9", quality="ultra", complexity="deep", size="1000x1000")  # pyright: ignore[reportArgumentType]  # outside the Literal, on purpose
    assert validate(params, kind="edit", image_count=1, markup=True).model == "relay-image-9"


# -- client refusal == server answer, per model and profile --------------------------------------------------

RULES: list[tuple[str, str, dict[str, Any], dict[str, bytes]]] = [
    *[(m, "xhigh", {"quality": "xhigh"}, {}) for m in ("gpt-image-2", "gpt-image-1.5", "chatgpt-image-latest")],
    *[(m, "quality", {"quality": "ultra"}, {}) for m in (*V26, *V25)],
    *[(m, "complexity", {"complexity": "high"}, {}) for m in (*V25, "gpt-image-2", "gpt-image-1-mini")],
    *[(m, "complexity value", {"complexity": "deep"}, {}) for m in V26],
    *[(m, "markup model", {}, {"markup": markup_png()}) for m in (*V25, "gpt-image-2", "gpt-image-1.5")],
    ("gpt-image-2.6-sunburst", "markup size", {}, {"markup": markup_png((32, 32))}),
    ("gpt-image-2.6-flare", "markup not png", {}, {"markup": markup_png(fmt="JPEG")}),
    ("gpt-image-2.6-flare", "markup broken", {}, {"markup": b"\x89PNG\r\n\x1a\nbroken"}),
    ("gpt-image-2.6-flare", "markup opaque", {}, {"markup": png_bytes(SIZE, (9, 9, 9, 255), "RGBA")}),
    ("gpt-image-2.6-flare", "markup with mask", {}, {"markup": markup_png(), "mask": mask_png()}),
    ("gpt-image-2.5-flare", "transparent jpeg", {"background": "transparent", "output_format": "jpeg"}, {}),
    ("gpt-image-2.6-sunburst", "fixed size ok, ratio not", {"size": "3840x1024"}, {}),
    ("chatgpt-image-latest", "fixed sizes", {"size": "2048x1152"}, {}),
    ("gpt-image-2.5-sunburst", "input fidelity", {"input_fidelity": "high"}, {}),
    ("gpt-image-2.5-sunburst", "gif not in 2.5", {"output_format": "gif"}, {}),
]


def _raw(params: ImageParams, provider: Any, files: dict[str, bytes]) -> dict[str, Any]:
    parts = [FilePart("image[]", "photo.png", "image/png", IMAGE.data)]
    parts += [FilePart(name, f"{name}.png", "image/png", data) for name, data in files.items()]
    body = MultipartBody(provider.rename_fields(params.to_fields()), parts)
    return {"content": body.to_bytes(), "headers": {"Content-Type": body.content_type}}


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize(("model", "name", "changes", "files"), RULES, ids=[f"{r[0]}-{r[1]}" for r in RULES])
async def test_client_refusal_equals_server_answer(profile: str, model: str, name: str, changes: dict, files: dict):
    transport = httpx.ASGITransport(app=create_app(profile=profile))
    params = ImageParams("a prompt", model=model, **changes)
    provider = PROFILES[profile]
    async with ImagesClient(
        base_url=BASE, api_key=KEY, provider=provider, transport=transport, max_retries=0
    ) as client:
        with pytest.raises(ValidationError) as refused:
            await client.edit(params=params, images=[IMAGE], mask=files.get("mask"), markup=files.get("markup"))
    async with httpx.AsyncClient(transport=transport, headers={"Authorization": f"Bearer {KEY}"}) as raw:
        answer = await raw.post(f"{BASE}/images/edits", **_raw(params, provider, files))
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert str(refused.value) == f"{error['message']} [rule: {refused.value.rule}]"
    assert refused.value.param == error["param"]


async def test_shut_down_model_refused_alike_by_client_and_server() -> None:
    transport = httpx.ASGITransport(app=create_app())
    params = ImageParams("x", model="gpt-image-1")
    async with ImagesClient(base_url=BASE, api_key=KEY, transport=transport, max_retries=0) as client:
        with pytest.raises(ValidationError) as refused:
            await client.generate(params=params)
    async with httpx.AsyncClient(transport=transport, headers={"Authorization": f"Bearer {KEY}"}) as raw:
        answer = await raw.post(f"{BASE}/images/generations", json=params.to_fields())
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "model_not_found"
    assert str(refused.value).startswith(answer.json()["error"]["message"])


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_2_6_markup_edit_runs_on_every_profile(profile: str) -> None:
    transport = httpx.ASGITransport(app=create_app(profile=profile))
    params = ImageParams("circle the cup", model="gpt-image-2.6-sunburst", quality="xhigh", complexity="low")
    async with ImagesClient(
        base_url=BASE, api_key=KEY, provider=PROFILES[profile], transport=transport, max_retries=0
    ) as client:
        result = await client.edit(params=params, images=[IMAGE], markup=markup_png())
    assert len(result.images) == 1 and result.quality == "xhigh"


async def test_unknown_model_goes_to_the_provider_unchecked() -> None:
    transport = httpx.ASGITransport(app=create_app())
    async with ImagesClient(base_url=BASE, api_key=KEY, transport=transport, max_retries=0) as client:
        with pytest.raises(NotFoundError, match="relay-image-9"):  # the provider's answer, not a local rule
            await client.edit(params=ImageParams("x", model="relay-image-9", quality="ultra"), images=[IMAGE])  # pyright: ignore[reportArgumentType]  # outside the Literal, on purpose


# -- GET /models -------------------------------------------------------------------------------------------


def test_model_lists_are_read_against_the_table() -> None:
    from gimp_gptimage.api.catalog import image_models, usable

    body = {
        "object": "list",
        "data": [
            {"id": "gpt-4o", "object": "model"},
            {"id": "gpt-image-1", "object": "model", "shutdown_date": "2026-10-23"},
            {"id": "openai/gpt-image-3-preview", "object": "model"},
            {"id": "gpt-image-2.6-flare", "object": "model"},
            {"id": "gpt-image-2", "object": "model"},
            "junk",
        ],
    }
    listed = image_models(body)
    assert [(m.id, m.status) for m in listed] == [
        ("gpt-image-2", "known"),
        ("gpt-image-2.6-flare", "known"),
        ("openai/gpt-image-3-preview", "unknown"),
        ("gpt-image-1", "shut down"),
    ]
    assert [m.label for m in usable(listed)][-1] == "openai/gpt-image-3-preview (unknown)"
    assert image_models({"error": "nope"}) == [] and image_models(None) == []


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_every_server_profile_lists_the_table(profile: str) -> None:
    transport = httpx.ASGITransport(app=create_app(profile=profile))
    async with ImagesClient(
        base_url=BASE, api_key=KEY, provider=PROFILES[profile], transport=transport, max_retries=0
    ) as client:
        listed = await client.models()
    assert [m.id for m in listed] == sorted(MODELS) and all(m.status == "known" for m in listed)


def test_presets_carry_a_default_model_from_the_table() -> None:
    from gimp_gptimage.api.providers import PRESETS
    from gimp_gptimage.settings import default_providers

    assert all(model_spec(p.default_model) is not None for p in PRESETS.values())
    assert PRESETS["openai"].default_model == "gpt-image-2.6-sunburst"
    assert PRESETS["local"].default_model == "gpt-image-2.6-sunburst"  # offline: every field of the table, markup too
    assert {c.name: c.model for c in default_providers()} == {
        name: p.default_model for name, p in PRESETS.items() if name != "local"
    }
