"""Request parameters and the per-model rules they must obey.

One rule table serves both sides of the wire: the client refuses a bad request before any network call
(raising `ValidationError`), and the local server answers the same request with the real API's status,
message, type, param and code. Messages copy the real API's wording where it is known
(see shared/reference/api-contract.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .errors import ValidationError
from .models import (
    COMPLEXITIES,
    DEFAULT_MODEL,
    LADDER_QUALITIES,
    MARKUP_WITH_MASK,
    MODELS,  # noqa: F401  (re-exported: the table's users import it from here)
    NON_RASTER_FORMATS,
    RASTER_FORMATS,
    STANDARD_QUALITIES,
    ModelSpec,
    model_spec,
    shut_down_message,
)
from .sizes import (  # noqa: F401  (re-exported: the rules' users import them from here)
    EXPERIMENTAL_PIXELS,
    FIXED_SIZES,
    GRID,
    MAX_EDGE,
    MAX_PIXELS,
    MAX_RATIO,
    MIN_PIXELS,
    free_size_violation,
    parse_size,
)

Kind = Literal["edit", "generate"]
# The API's fixed values, as types (the tuples below are the same values for checks at run time).
Quality = Literal["low", "medium", "high", "xhigh", "max", "auto"]  # xhigh and max: 2.5 and 2.6 only
Complexity = Literal["low", "medium", "high"]  # 2.6 only
Background = Literal["transparent", "opaque", "auto"]
OutputFormat = Literal["png", "jpeg", "webp"]  # the API's gif and svg are refused here (raster_only)
Moderation = Literal["low", "auto"]
InputFidelity = Literal["high", "low"]

QUALITIES = STANDARD_QUALITIES  # every known model takes these; 2.5 and 2.6 add xhigh and max
ALL_QUALITIES = LADDER_QUALITIES
BACKGROUNDS = ("transparent", "opaque", "auto")
OUTPUT_FORMATS = RASTER_FORMATS
MODERATIONS = ("low", "auto")
INPUT_FIDELITIES = ("high", "low")

MAX_PROMPT_CHARS = 32_000
MAX_IMAGES = 16
MAX_N = 10
MAX_PARTIAL_IMAGES = 3


@dataclass(frozen=True)
class ImageParams:
    """Every field of an edit or generation request except the images themselves."""

    prompt: str
    model: str = DEFAULT_MODEL
    n: int = 1
    size: str = "auto"
    quality: Quality = "auto"
    background: Background | None = None
    output_format: OutputFormat | None = None
    output_compression: int | None = None
    input_fidelity: InputFidelity | None = None
    complexity: Complexity | None = None
    moderation: Moderation | None = None
    stream: bool = False
    partial_images: int | None = None
    user: str | None = None

    def replace(self, **changes: object) -> ImageParams:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_fields(self) -> dict[str, str | int | bool]:
        """The wire fields, leaving out what is unset (never `response_format`)."""
        fields: dict[str, str | int | bool] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name == "stream" and not value):
                continue
            fields[f.name] = value
        return fields


@dataclass(frozen=True)
class Violation:
    """One broken rule, in the shape the real API reports it."""

    param: str
    message: str
    rule: str
    value: object = None
    code: str | None = "invalid_value"
    error_type: str = "invalid_request_error"
    status: int = 400

    def to_error(self) -> ValidationError:
        return ValidationError(
            f"{self.message} [rule: {self.rule}]", param=self.param, value=self.value, rule=self.rule
        )


def _supported(value: object, allowed: Iterable[str]) -> str:
    quoted = [f"'{a}'" for a in allowed]
    if len(quoted) == 1:
        return f"Invalid value: '{value}'. Supported values are: {quoted[0]}."
    listed = ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1]
    return f"Invalid value: '{value}'. Supported values are: {listed}."


def _size_violations(size: str, spec: ModelSpec | None) -> list[Violation]:
    if size == "auto":
        return []
    wh = parse_size(size)
    if spec is not None and not spec.free_sizes:
        if size not in FIXED_SIZES:
            return [Violation("size", _supported(size, (*FIXED_SIZES, "auto")), "fixed sizes", size)]
        return []
    if wh is None:
        return [Violation("size", f"Invalid size '{size}'. Expected 'auto' or WIDTHxHEIGHT.", "size format", size)]
    if spec is None:
        return []
    message = free_size_violation(*wh, label=size)
    return [Violation("size", message, "gpt-image-2 size", size)] if message else []


def _int_range(param: str, value: int, low: int, high: int) -> Violation | None:
    if low <= value <= high:
        return None
    below = value < low
    word, sign, limit = ("below minimum", ">=", low) if below else ("above maximum", "<=", high)
    return Violation(
        param,
        f"Invalid '{param}': integer {word} value. Expected a value {sign} {limit}, but got {value} instead.",
        f"{param} {low}–{high}",
        value,
        f"integer_{'below_min' if below else 'above_max'}_value",
    )


def normalise(params: ImageParams) -> ImageParams:
    """Provider-independent spelling fixes applied before validation: `hd` is the relays' name for `high`."""
    quality = params.quality.strip().lower() if isinstance(params.quality, str) else params.quality
    if quality == "hd":
        quality = "high"
    size = params.size.strip().lower() if isinstance(params.size, str) else params.size
    return params.replace(quality=quality, size=size, model=params.model.strip())


def model_violation(model: str) -> Violation | None:
    """A model the provider no longer serves (status 404, like an unknown model)."""
    message = shut_down_message(model)
    if message is None:
        return None
    return Violation("model", message, "model shut down", model, "model_not_found", status=404)


def _not_for_model(param: str, model: str, rule: str) -> Violation:
    # Our wording, after the API's input_fidelity answer: no source quotes the API's message for complexity
    # on 2.5, or for markup on a model without it.
    return Violation(
        param, f"The model '{model}' does not support the '{param}' parameter.", rule, model, "unsupported_parameter"
    )


def _gif_violations(params: ImageParams, *, mask: bool, markup: bool) -> list[Violation]:
    """What 2.6 does not combine with gif output [O*]; the wording is ours (no source quotes the API's)."""
    found = []
    for present, param in (
        (mask, "mask"),
        (markup, "markup"),
        (params.output_compression is not None, "output_compression"),
        (params.stream, "stream"),
    ):
        if present:
            found.append(
                Violation(
                    param,
                    f"Invalid '{param}': {param} is not supported with output_format 'gif'.",
                    f"{param} not with gif",
                    "gif",
                )
            )
    return found


def _model_violations(params: ImageParams, spec: ModelSpec, *, kind: Kind, mask: bool, markup: bool) -> list[Violation]:
    """The rules that depend on the model: quality ladder, formats, complexity, markup, gif combinations."""
    found: list[Violation] = []
    if params.quality not in spec.qualities:
        found.append(Violation("quality", _supported(params.quality, spec.qualities), "quality values", params.quality))
    fmt = params.output_format
    if fmt is not None and fmt not in spec.output_formats:
        found.append(Violation("output_format", _supported(fmt, spec.output_formats), "output formats", fmt))
    elif fmt == "svg":
        # [T] the API's answer when the `svg` object naming a text model is missing; we never send one.
        found.append(
            Violation(
                "svg.model",
                "SVG generation requires 'svg.model'.",
                "svg needs svg.model",
                fmt,
                "missing_required_parameter",
            )
        )
    elif fmt == "gif":
        found += _gif_violations(params, mask=mask, markup=markup)
    if params.complexity is not None:
        if not spec.complexity:
            found.append(_not_for_model("complexity", params.model, "complexity not for this model"))
        elif params.complexity not in COMPLEXITIES:
            found.append(
                Violation(
                    "complexity", _supported(params.complexity, COMPLEXITIES), "complexity values", params.complexity
                )
            )
    if markup and kind == "edit" and not spec.markup:
        found.append(_not_for_model("markup", params.model, "markup only on 2.6 models"))
    elif markup and mask and not MARKUP_WITH_MASK:
        # Our wording, after openai-python's docstring ("Cannot be combined with mask.").
        found.append(
            Violation(
                "markup", "Invalid 'markup': markup cannot be combined with mask.", "markup not with mask", "mask"
            )
        )
    return found


def check_params(
    params: ImageParams, *, kind: Kind, image_count: int = 0, mask: bool = False, markup: bool = False
) -> list[Violation]:
    """Every rule the request breaks, in the order the real API would report them (first is the answer).

    A model the table does not know gets only the rules every model shares (prompt, images, n, size format,
    the value lists of background, moderation and the like): it is sent as given."""
    found: list[Violation] = []
    spec = model_spec(params.model)

    def add(v: Violation | None) -> None:
        if v is not None:
            found.append(v)

    add(model_violation(params.model))
    prompt = params.prompt
    if not isinstance(prompt, str) or not prompt.strip():
        add(
            Violation(
                "prompt",
                "Missing required parameter: 'prompt'.",
                "prompt required",
                prompt,
                "missing_required_parameter",
            )
        )
    elif len(prompt) > MAX_PROMPT_CHARS:
        add(
            Violation(
                "prompt",
                f"Invalid 'prompt': string too long. Expected a string with maximum length {MAX_PROMPT_CHARS}, "
                f"but got a string with length {len(prompt)} instead.",
                f"prompt 1–{MAX_PROMPT_CHARS:,} characters",
                len(prompt),
                "string_above_max_length",
            )
        )
    if kind == "edit":
        if image_count < 1:
            add(
                Violation(
                    "image",
                    "Missing required parameter: 'image'.",
                    "image required",
                    image_count,
                    "missing_required_parameter",
                )
            )
        elif image_count > MAX_IMAGES:
            add(
                Violation(
                    "image",
                    f"Invalid 'image': array too long. Expected an array with maximum length {MAX_IMAGES}, "
                    f"but got an array with length {image_count} instead.",
                    f"at most {MAX_IMAGES} images",
                    image_count,
                    "array_above_max_length",
                )
            )
    add(_int_range("n", params.n, 1, MAX_N))
    found.extend(_size_violations(params.size, spec))
    if spec is not None:
        found.extend(_model_violations(params, spec, kind=kind, mask=mask, markup=markup))
    if params.background is not None:
        if params.background not in BACKGROUNDS:
            add(
                Violation(
                    "background",
                    _supported(params.background, BACKGROUNDS),
                    "background values",
                    params.background,
                )
            )
        elif params.background == "transparent":
            if spec is not None and not spec.transparent:
                add(
                    Violation(
                        "background",
                        "Transparent background is not supported for this model.",
                        "transparent background support",
                        params.model,
                    )
                )
            elif params.output_format == "jpeg":
                add(
                    Violation(
                        "background",
                        "Transparent background requires output_format 'png' or 'webp', got 'jpeg'.",
                        "transparent needs png or webp",
                        params.output_format,
                    )
                )
    if params.output_compression is not None:
        add(_int_range("output_compression", params.output_compression, 0, 100))
        if params.output_format not in ("jpeg", "webp", "gif"):  # gif: its own rule above
            add(
                Violation(
                    "output_compression",
                    "Invalid 'output_compression': compression is only supported with output_format 'jpeg' or "
                    f"'webp', got '{params.output_format or 'png'}'.",
                    "output_compression only with jpeg/webp",
                    params.output_compression,
                )
            )
    if params.input_fidelity is not None:
        if kind == "generate":
            add(
                Violation(
                    "input_fidelity",
                    "Unknown parameter: 'input_fidelity'.",
                    "input_fidelity only on edits",
                    params.input_fidelity,
                    "unknown_parameter",
                )
            )
        elif spec is not None and not spec.input_fidelity:
            add(
                Violation(
                    "input_fidelity",
                    f"The model '{params.model}' does not support the 'input_fidelity' parameter.",
                    "input_fidelity not for this model",
                    params.model,
                    "invalid_input_fidelity_model",
                    "image_generation_user_error",
                )
            )
        elif params.input_fidelity not in (spec.input_fidelity if spec else INPUT_FIDELITIES):
            add(
                Violation(
                    "input_fidelity",
                    _supported(params.input_fidelity, spec.input_fidelity if spec else INPUT_FIDELITIES),
                    "input_fidelity values",
                    params.input_fidelity,
                )
            )
    if params.moderation is not None and params.moderation not in MODERATIONS:
        add(
            Violation(
                "moderation",
                _supported(params.moderation, MODERATIONS),
                "moderation values",
                params.moderation,
            )
        )
    if params.partial_images is not None:
        if not params.stream:
            add(
                Violation(
                    "partial_images",
                    "Invalid 'partial_images': partial_images is only supported when stream is true.",
                    "partial_images only when streaming",
                    params.partial_images,
                )
            )
        else:
            add(_int_range("partial_images", params.partial_images, 0, MAX_PARTIAL_IMAGES))
    return found


def raster_only(params: ImageParams) -> Violation | None:
    """The project's own rule, not the API's: GIF (animation) and SVG (vector) results have no place in a
    raster layer, so they are refused before anything is sent."""
    if params.output_format not in NON_RASTER_FORMATS:
        return None
    spec = model_spec(params.model)
    if spec is not None and params.output_format not in spec.output_formats:
        return None  # the API's own answer already refuses it, in its words
    return Violation(
        "output_format",
        f"'{params.output_format}' output is not for a raster editor: choose png, jpeg or webp.",
        "raster output only",
        params.output_format,
    )


def validate(
    params: ImageParams, *, kind: Kind, image_count: int = 0, mask: bool = False, markup: bool = False
) -> ImageParams:
    """Normalise and check; raise the first violation as `ValidationError`, else return what to send."""
    params = normalise(params)
    refused = raster_only(params)
    if refused is not None and model_violation(params.model) is None:
        raise refused.to_error()
    violations = check_params(params, kind=kind, image_count=image_count, mask=mask, markup=markup)
    if violations:
        raise violations[0].to_error()
    return params


def markup_violation(
    image_format: str | None, size: tuple[int, int] | None, first_image_size: tuple[int, int], transparent: bool
) -> Violation | None:
    """What is wrong with a markup file (its decoded format and size, None for undecodable; whether it has
    transparent pixels), or None. It "must match that image's dimensions ... and contain transparent pixels"
    [openai-python's docstring]; the wording is ours, after the API's mask answers."""
    reason = None
    if image_format is None or size is None:
        reason = "markup image could not be decoded"
    elif image_format != "PNG":
        reason = "markup must be a PNG image"
    elif tuple(size) != tuple(first_image_size):
        reason = "markup size does not match image size"
    elif not transparent:
        reason = "markup must contain transparent pixels"
    if reason is None:
        return None
    return Violation(
        "markup", f"Invalid markup image format - {reason}", "markup file", image_format, "invalid_markup_image_format"
    )
