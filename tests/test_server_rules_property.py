"""Property: for any parameters, the server answers exactly what `check_params` says (one rule table)."""

from __future__ import annotations

import asyncio
import io

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from server_fixtures import ASGI_BASE, AUTH, png_bytes

from gimp_gptimage.api.params import ImageParams, check_params, normalise
from gimp_gptimage.server import OpenCVEngine, create_app


class FlatEngine(OpenCVEngine):
    """Validation is under test here, not pictures: answer valid requests with a cheap flat image."""

    def generate(self, prompt: str, size: tuple[int, int], index: int = 0, transparent: bool = False) -> Image.Image:
        return Image.new("RGBA" if transparent else "RGB", size)

    def edit(self, images, mask, prompt, size, index=0, keep_alpha=False) -> Image.Image:  # type: ignore[no-untyped-def]
        return Image.new("RGBA" if keep_alpha else "RGB", size)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


sizes = st.sampled_from(
    [
        "auto",
        "1024x1024",
        "1536x1024",
        "1024x1536",
        "2048x1152",
        "3840x2160",
        "1792x936",
        "512x512",
        "3856x1024",
        "3200x1024",
        "1254x836",
        "AUTO",
        " 1024x1024 ",
        "big",
    ]
) | st.builds(lambda w, h: f"{w}x{h}", st.integers(1, 4000), st.integers(1, 4000))
fields = st.fixed_dictionaries(
    {},
    optional={
        "prompt": st.sampled_from(["", "  ", "a cat", "x" * 32_001]),
        "model": st.sampled_from(
            [
                "gpt-image-2",
                "gpt-image-2-2026-04-21",
                "gpt-image-1.5",
                "gpt-image-1-mini",
                "chatgpt-image-latest",
                "gpt-image-2.5-flare",
                "gpt-image-2.5-sunburst-2026-09-08",
                "gpt-image-2.6-sunburst",
                "gpt-image-2.6-flare",
                "gpt-image-1",
            ]
        ),
        "n": st.integers(-1, 12),
        "size": sizes,
        "quality": st.sampled_from(["auto", "low", "medium", "high", "xhigh", "max", "hd", "HD", "standard"]),
        "complexity": st.sampled_from(["low", "high", "deep"]),
        "background": st.sampled_from(["auto", "opaque", "transparent", "black"]),
        "output_format": st.sampled_from(["png", "jpeg", "webp", "gif", "svg"]),
        "output_compression": st.integers(-5, 105),
        "input_fidelity": st.sampled_from(["high", "low", "max"]),
        "moderation": st.sampled_from(["auto", "low", "none"]),
        "stream": st.booleans(),
        "partial_images": st.integers(-1, 5),
    },
)


def expected_answer(
    body: dict, profile: str, kind: str, image_count: int, files: frozenset[str] = frozenset()
) -> tuple[int, dict] | None:
    params = ImageParams(**{"prompt": "", **body})
    if profile != "openai":
        params = normalise(params)
    violations = check_params(
        params,
        kind=kind,  # type: ignore[arg-type]
        image_count=image_count,
        mask="mask" in files,
        markup="markup" in files,
    )
    if not violations:
        if params.output_format in ("gif", "svg"):  # valid for the API; the offline engine draws rasters only
            return 400, {"param": "output_format", "code": "unsupported_output_format"}
        return None
    v = violations[0]
    return v.status, {"message": v.message, "type": v.error_type, "param": v.param, "code": v.code}


def rgba_png(alpha: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 48), (255, 0, 0, alpha)).save(buffer, "PNG")
    return buffer.getvalue()


FILES = {"mask": rgba_png(0), "markup": rgba_png(0)}  # both valid: the parameters' rules are under test


async def answer(profile: str, kind: str, body: dict, files: frozenset[str] = frozenset()) -> httpx.Response:
    app = create_app(profile=profile, engine=FlatEngine())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ASGI_BASE, headers=AUTH) as client:
        if kind == "generate":
            return await client.post("/images/generations", json=body)
        parts = [(k, (None, str(v).lower() if isinstance(v, bool) else str(v))) for k, v in body.items()]
        uploads = [(name, (f"{name}.png", FILES[name], "image/png")) for name in sorted(files)]
        image = ("image[]", ("a.png", png_bytes(), "image/png"))
        return await client.post("/images/edits", files=[image, *uploads, *parts])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=fields,
    profile=st.sampled_from(["openai", "crazyrouter", "quickrouter"]),
    kind=st.sampled_from(["generate", "edit"]),
    files=st.frozensets(st.sampled_from(["mask", "markup"])),
)
def test_server_and_rule_table_agree(body: dict, profile: str, kind: str, files: frozenset[str]) -> None:
    files = files if kind == "edit" else frozenset()
    response = asyncio.run(answer(profile, kind, body, files))
    expected = expected_answer(body, profile, kind, 1 if kind == "edit" else 0, files)
    if expected is None:
        assert response.status_code == 200, response.text
    else:
        status, error = expected
        assert response.status_code == status
        assert error.items() <= response.json()["error"].items()
