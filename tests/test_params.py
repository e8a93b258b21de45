"""Every rule of the shared parameter table (api/params.py) and the exact message each one gives."""

from __future__ import annotations

import pytest

from gimp_gptimage.api import ValidationError
from gimp_gptimage.api.params import (
    FIXED_SIZES,
    MAX_PIXELS,
    MIN_PIXELS,
    ImageParams,
    Violation,
    check_params,
    free_size_violation,
    model_spec,
    normalise,
    parse_size,
    validate,
)


def only(params: ImageParams, kind: str = "generate", image_count: int = 0) -> Violation:
    found = check_params(params, kind=kind, image_count=image_count)  # type: ignore[arg-type]
    assert len(found) == 1, found
    return found[0]


def ok(params: ImageParams, kind: str = "generate", image_count: int = 0) -> None:
    assert check_params(params, kind=kind, image_count=image_count) == []  # type: ignore[arg-type]


P = ImageParams("a red fox")


# -- prompt -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_prompt_required(prompt: str) -> None:
    v = only(P.replace(prompt=prompt))
    assert (v.param, v.message, v.rule, v.code) == (
        "prompt",
        "Missing required parameter: 'prompt'.",
        "prompt required",
        "missing_required_parameter",
    )
    assert v.error_type == "invalid_request_error"


def test_prompt_length_limit() -> None:
    ok(P.replace(prompt="x" * 32_000))
    v = only(P.replace(prompt="x" * 32_001))
    assert v.message == (
        "Invalid 'prompt': string too long. Expected a string with maximum length 32000, "
        "but got a string with length 32001 instead."
    )
    assert (v.param, v.rule, v.value, v.code) == (
        "prompt",
        "prompt 1–32,000 characters",
        32_001,
        "string_above_max_length",
    )


# -- images (edits only) ----------------------------------------------------------------------------------


def test_edit_needs_an_image() -> None:
    v = only(P, kind="edit", image_count=0)
    assert (v.param, v.message, v.rule, v.code) == (
        "image",
        "Missing required parameter: 'image'.",
        "image required",
        "missing_required_parameter",
    )


def test_at_most_sixteen_images() -> None:
    ok(P, kind="edit", image_count=1)
    ok(P, kind="edit", image_count=16)
    v = only(P, kind="edit", image_count=17)
    assert v.message == (
        "Invalid 'image': array too long. Expected an array with maximum length 16, "
        "but got an array with length 17 instead."
    )
    assert (v.param, v.rule, v.value, v.code) == ("image", "at most 16 images", 17, "array_above_max_length")


def test_generations_do_not_count_images() -> None:
    ok(P, kind="generate", image_count=0)


# -- n ----------------------------------------------------------------------------------------------------


def test_n_range() -> None:
    ok(P.replace(n=1))
    ok(P.replace(n=10))
    low = only(P.replace(n=0))
    assert low.message == "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead."
    assert (low.param, low.rule, low.code, low.value) == ("n", "n 1–10", "integer_below_min_value", 0)
    high = only(P.replace(n=11))
    assert high.message == "Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead."
    assert (high.rule, high.code) == ("n 1–10", "integer_above_max_value")


# -- sizes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"])
def test_fixed_size_models(model: str) -> None:
    for size in (*FIXED_SIZES, "auto"):
        ok(P.replace(model=model, size=size))
    v = only(P.replace(model=model, size="1254x836"))
    assert v.message == (
        "Invalid value: '1254x836'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'."
    )
    assert (v.param, v.rule, v.value, v.code) == ("size", "fixed sizes", "1254x836", "invalid_value")
    assert only(P.replace(model=model, size="2048x2048")).rule == "fixed sizes"


@pytest.mark.parametrize(
    "size", ["auto", "1024x1024", "1536x1024", "1024x1536", "2048x2048", "2048x1152", "3840x2160", "2160x3840"]
)
def test_gpt_image_2_popular_sizes(size: str) -> None:
    ok(P.replace(size=size))


def test_gpt_image_2_grid() -> None:
    v = only(P.replace(size="1792x936"))
    assert v.message == "Invalid size '1792x936'. Width and height must both be divisible by 16."
    assert (v.param, v.rule, v.value) == ("size", "gpt-image-2 size", "1792x936")


def test_gpt_image_2_max_edge() -> None:
    v = only(P.replace(size="3856x1024"))
    assert v.message == "Invalid size '3856x1024'. Width and height must both be at most 3840 pixels."
    ok(P.replace(size="3840x1280"))


def test_gpt_image_2_pixel_range() -> None:
    low = only(P.replace(size="800x800"))
    assert low.message == (
        "Invalid size '800x800'. The total number of pixels must be between 655,360 and 8,294,400, but got 640,000."
    )
    high = only(P.replace(size="3840x2176"))
    assert high.message.endswith("but got 8,355,840.")
    # The exact bounds are allowed.
    assert free_size_violation(1024, 640) is None and MIN_PIXELS == 1024 * 640
    assert free_size_violation(3840, 2160) is None and MAX_PIXELS == 3840 * 2160
    assert free_size_violation(1024, 624) is not None


def test_gpt_image_2_ratio() -> None:
    ok(P.replace(size="2304x768"))  # exactly 3:1
    v = only(P.replace(size="2320x768"))
    assert v.message == "Invalid size '2320x768'. The long edge must be at most 3 times the short edge."
    assert only(P.replace(size="768x2320")).rule == "gpt-image-2 size"


def test_size_format() -> None:
    v = only(P.replace(size="big"))
    assert v.message == "Invalid size 'big'. Expected 'auto' or WIDTHxHEIGHT."
    assert (v.param, v.rule) == ("size", "size format")
    assert only(P.replace(model="some-other-model", size="1024*1024")).rule == "size format"


def test_unknown_models_accept_any_well_formed_size() -> None:
    ok(P.replace(model="vendor-image-x", size="1000x1001"))
    assert only(P.replace(model="vendor-image-x", size="huge")).rule == "size format"


def test_dated_gpt_image_2_snapshot_uses_the_same_rules() -> None:
    assert only(P.replace(model="gpt-image-2-2026-04-21", size="1000x1000")).rule == "gpt-image-2 size"


def test_parse_size() -> None:
    assert parse_size("1024x768") == (1024, 768)
    assert parse_size(" 1024X768 ") == (1024, 768)
    assert parse_size("1024x") is None and parse_size("auto") is None and parse_size("123456x1") is None


# -- quality, output format, background ---------------------------------------------------------------------


def test_quality_values() -> None:
    for quality in ("low", "medium", "high", "auto"):
        ok(P.replace(quality=quality))
    v = only(P.replace(quality="standard"))
    assert v.message == "Invalid value: 'standard'. Supported values are: 'low', 'medium', 'high', and 'auto'."
    assert (v.param, v.rule, v.value, v.code) == ("quality", "quality values", "standard", "invalid_value")


def test_hd_is_high_after_normalising() -> None:
    assert only(P.replace(quality="hd")).param == "quality"  # the raw table does not know 'hd'
    assert validate(P.replace(quality="HD"), kind="generate").quality == "high"


def test_output_format_values() -> None:
    for fmt in ("png", "jpeg", "webp"):
        ok(P.replace(output_format=fmt))
    v = only(P.replace(output_format="gif"))
    assert v.message == "Invalid value: 'gif'. Supported values are: 'png', 'jpeg', and 'webp'."
    assert (v.param, v.rule) == ("output_format", "output formats")


def test_background_values() -> None:
    ok(P.replace(background="auto"))
    ok(P.replace(background="opaque"))
    v = only(P.replace(background="clear"))
    assert v.message == "Invalid value: 'clear'. Supported values are: 'transparent', 'opaque', and 'auto'."
    assert (v.param, v.rule) == ("background", "background values")


def test_transparent_not_on_gpt_image_2() -> None:
    v = only(P.replace(background="transparent", output_format="png"))
    assert v.message == "Transparent background is not supported for this model."
    assert (v.param, v.rule, v.value) == ("background", "transparent background support", "gpt-image-2")


def test_transparent_needs_png_or_webp() -> None:
    base = P.replace(model="gpt-image-1.5", background="transparent")
    ok(base)
    ok(base.replace(output_format="png"))
    ok(base.replace(output_format="webp"))
    v = only(base.replace(output_format="jpeg"))
    assert v.message == "Transparent background requires output_format 'png' or 'webp', got 'jpeg'."
    assert (v.param, v.rule, v.value) == ("background", "transparent needs png or webp", "jpeg")


# -- output_compression -------------------------------------------------------------------------------------


def test_output_compression_only_with_jpeg_or_webp() -> None:
    ok(P.replace(output_format="jpeg", output_compression=0))
    ok(P.replace(output_format="webp", output_compression=100))
    v = only(P.replace(output_format="png", output_compression=50))
    assert v.message == (
        "Invalid 'output_compression': compression is only supported with output_format 'jpeg' or 'webp', got 'png'."
    )
    assert (v.param, v.rule, v.value) == ("output_compression", "output_compression only with jpeg/webp", 50)
    assert only(P.replace(output_compression=50)).message.endswith("got 'png'.")  # png is the default


def test_output_compression_range() -> None:
    v = only(P.replace(output_format="jpeg", output_compression=101))
    assert v.message == (
        "Invalid 'output_compression': integer above maximum value. Expected a value <= 100, but got 101 instead."
    )
    assert v.rule == "output_compression 0–100"
    assert only(P.replace(output_format="webp", output_compression=-1)).code == "integer_below_min_value"


# -- input_fidelity -----------------------------------------------------------------------------------------


def test_input_fidelity_not_for_gpt_image_2() -> None:
    v = only(P.replace(input_fidelity="high"), kind="edit", image_count=1)
    assert v.message == "The model 'gpt-image-2' does not support the 'input_fidelity' parameter."
    assert (v.param, v.code, v.error_type, v.rule) == (
        "input_fidelity",
        "invalid_input_fidelity_model",
        "image_generation_user_error",
        "input_fidelity not for this model",
    )


def test_input_fidelity_on_mini_is_low_only() -> None:
    ok(P.replace(model="gpt-image-1-mini", input_fidelity="low"), kind="edit", image_count=1)
    v = only(P.replace(model="gpt-image-1-mini", input_fidelity="high"), kind="edit", image_count=1)
    assert v.message == "Invalid value: 'high'. Supported values are: 'low'."


@pytest.mark.parametrize("model", ["gpt-image-1.5", "gpt-image-1.5-2025-12-16"])
def test_input_fidelity_on_models_that_have_it(model: str) -> None:
    ok(P.replace(model=model, input_fidelity="high"), kind="edit", image_count=1)
    ok(P.replace(model=model, input_fidelity="low"), kind="edit", image_count=1)
    v = only(P.replace(model=model, input_fidelity="max"), kind="edit", image_count=1)
    assert v.message == "Invalid value: 'max'. Supported values are: 'high' and 'low'."
    assert v.rule == "input_fidelity values"


def test_input_fidelity_is_unknown_on_generations() -> None:
    v = only(P.replace(model="gpt-image-1.5", input_fidelity="high"))
    assert v.message == "Unknown parameter: 'input_fidelity'."
    assert (v.code, v.rule) == ("unknown_parameter", "input_fidelity only on edits")


# -- moderation, streaming ------------------------------------------------------------------------------------


def test_moderation_values() -> None:
    ok(P.replace(moderation="low"))
    ok(P.replace(moderation="auto"))
    v = only(P.replace(moderation="none"))
    assert v.message == "Invalid value: 'none'. Supported values are: 'low' and 'auto'."
    assert (v.param, v.rule) == ("moderation", "moderation values")


def test_partial_images_only_when_streaming() -> None:
    v = only(P.replace(partial_images=2))
    assert v.message == "Invalid 'partial_images': partial_images is only supported when stream is true."
    assert (v.param, v.rule, v.value) == ("partial_images", "partial_images only when streaming", 2)
    for k in (0, 1, 2, 3):
        ok(P.replace(stream=True, partial_images=k))


def test_partial_images_range() -> None:
    v = only(P.replace(stream=True, partial_images=4))
    assert v.message == (
        "Invalid 'partial_images': integer above maximum value. Expected a value <= 3, but got 4 instead."
    )
    assert v.rule == "partial_images 0–3"
    assert only(P.replace(stream=True, partial_images=-1)).code == "integer_below_min_value"


# -- several rules, validate(), wire fields ------------------------------------------------------------------


def test_violations_come_in_the_apis_order() -> None:
    params = ImageParams("", n=0, size="17x17", quality="standard", partial_images=9)  # pyright: ignore[reportArgumentType]  # an alias the Literal leaves out, on purpose
    params_found = [v.param for v in check_params(params, kind="edit", image_count=0)]
    assert params_found == ["prompt", "image", "n", "size", "quality", "partial_images"]


def test_validate_raises_the_first_violation_naming_rule_and_value() -> None:
    with pytest.raises(ValidationError) as info:
        validate(P.replace(n=11, quality="standard"), kind="generate")
    error = info.value
    assert str(error) == (
        "Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead. [rule: n 1–10]"
    )
    assert (error.param, error.value, error.rule) == ("n", 11, "n 1–10")


def test_validate_returns_the_normalised_params() -> None:
    params = validate(ImageParams("p", model=" gpt-image-2 ", size=" 1536X1024 ", quality=" Hd "), kind="generate")  # pyright: ignore[reportArgumentType]  # an alias the Literal leaves out, on purpose
    assert (params.model, params.size, params.quality) == ("gpt-image-2", "1536x1024", "high")


def test_normalise_leaves_other_values_alone() -> None:
    params = normalise(ImageParams("p", quality="low", size="auto"))
    assert (params.quality, params.size) == ("low", "auto")


def test_to_fields_leaves_out_unset_values_and_never_has_response_format() -> None:
    assert ImageParams("p").to_fields() == {
        "prompt": "p",
        "model": "gpt-image-2",
        "n": 1,
        "size": "auto",
        "quality": "auto",
    }
    full = ImageParams(
        "p",
        model="gpt-image-1.5",
        n=2,
        size="1024x1024",
        quality="high",
        background="transparent",
        output_format="webp",
        output_compression=80,
        input_fidelity="high",
        moderation="low",
        stream=True,
        partial_images=2,
        user="u-1",
    ).to_fields()
    assert full["stream"] is True and full["partial_images"] == 2 and full["user"] == "u-1"
    assert len(full) == 13 and "response_format" not in full


def test_model_spec_resolution() -> None:
    assert model_spec("gpt-image-1-mini").name == "gpt-image-1-mini"  # type: ignore[union-attr]
    assert model_spec("gpt-image-1.5").name == "gpt-image-1.5"  # type: ignore[union-attr]
    assert model_spec("gpt-image-1.5").name == "gpt-image-1.5"  # type: ignore[union-attr]
    assert model_spec("gpt-image-2-2026-04-21").name == "gpt-image-2"  # type: ignore[union-attr]
    assert model_spec("gpt-image-2-preview") is None
    assert model_spec("dall-e-3") is None
