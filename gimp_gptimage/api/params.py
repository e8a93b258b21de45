"""Request parameters and the per-model rules they must obey.

One rule table serves both sides of the wire: the client refuses a bad request before any network call
(raising `ValidationError`), and the local server answers the same request with the real API's status,
message, type, param and code. Messages copy the real API's wording where it is known
(see shared/reference/api-contract.md).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .errors import ValidationError

Kind = Literal["edit", "generate"]
# The API's fixed values, as types (the tuples below are the same values for checks at run time).
Quality = Literal["low", "medium", "high", "auto"]
Background = Literal["transparent", "opaque", "auto"]
OutputFormat = Literal["png", "jpeg", "webp"]
Moderation = Literal["low", "auto"]
InputFidelity = Literal["high", "low"]

FIXED_SIZES = ("1024x1024", "1024x1536", "1536x1024")
QUALITIES = ("low", "medium", "high", "auto")
BACKGROUNDS = ("transparent", "opaque", "auto")
OUTPUT_FORMATS = ("png", "jpeg", "webp")
MODERATIONS = ("low", "auto")
INPUT_FIDELITIES = ("high", "low")

MAX_PROMPT_CHARS = 32_000
MAX_IMAGES = 16
MAX_N = 10
MAX_PARTIAL_IMAGES = 3

# gpt-image-2 free-size rules.
GRID = 16
MAX_EDGE = 3840
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
EXPERIMENTAL_PIXELS = 3_686_400
MAX_RATIO = 3.0

_SIZE_RE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


@dataclass(frozen=True)
class ModelSpec:
    """What a model family accepts."""

    name: str
    free_sizes: bool
    transparent: bool
    input_fidelity: bool


MODELS: dict[str, ModelSpec] = {
    "gpt-image-2": ModelSpec("gpt-image-2", free_sizes=True, transparent=False, input_fidelity=False),
    "gpt-image-1.5": ModelSpec("gpt-image-1.5", free_sizes=False, transparent=True, input_fidelity=True),
    "gpt-image-1": ModelSpec("gpt-image-1", free_sizes=False, transparent=True, input_fidelity=True),
    "gpt-image-1-mini": ModelSpec("gpt-image-1-mini", free_sizes=False, transparent=True, input_fidelity=False),
}
DEFAULT_MODEL = "gpt-image-2"


def model_spec(model: str) -> ModelSpec | None:
    """The family of a model name, dated snapshots included (`gpt-image-2-2026-04-21`); None if unknown."""
    for name in sorted(MODELS, key=len, reverse=True):
        if model == name or re.fullmatch(re.escape(name) + r"-\d{4}-\d{2}-\d{2}", model):
            return MODELS[name]
    return None


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

    def to_error(self) -> ValidationError:
        return ValidationError(
            f"{self.message} [rule: {self.rule}]", param=self.param, value=self.value, rule=self.rule
        )


def parse_size(size: str) -> tuple[int, int] | None:
    match = _SIZE_RE.match(size.strip().lower())
    return (int(match[1]), int(match[2])) if match else None


def _supported(value: object, allowed: Iterable[str]) -> str:
    quoted = [f"'{a}'" for a in allowed]
    listed = ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1]
    return f"Invalid value: '{value}'. Supported values are: {listed}."


def free_size_violation(width: int, height: int, label: str | None = None) -> str | None:
    """Why a WxH is not a valid gpt-image-2 size, or None if it is."""
    label = label or f"{width}x{height}"
    if width % GRID or height % GRID:
        return f"Invalid size '{label}'. Width and height must both be divisible by {GRID}."
    if max(width, height) > MAX_EDGE:
        return f"Invalid size '{label}'. Width and height must both be at most {MAX_EDGE} pixels."
    if not MIN_PIXELS <= width * height <= MAX_PIXELS:
        return (
            f"Invalid size '{label}'. The total number of pixels must be between {MIN_PIXELS:,} and "
            f"{MAX_PIXELS:,}, but got {width * height:,}."
        )
    if max(width, height) > MAX_RATIO * min(width, height):
        return f"Invalid size '{label}'. The long edge must be at most 3 times the short edge."
    return None


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
    if value < low:
        return Violation(
            param,
            f"Invalid '{param}': integer below minimum value. Expected a value >= {low}, but got {value} instead.",
            f"{param} {low}–{high}",
            value,
            "integer_below_min_value",
        )
    if value > high:
        return Violation(
            param,
            f"Invalid '{param}': integer above maximum value. Expected a value <= {high}, but got {value} instead.",
            f"{param} {low}–{high}",
            value,
            "integer_above_max_value",
        )
    return None


def normalise(params: ImageParams) -> ImageParams:
    """Provider-independent spelling fixes applied before validation: `hd` is the relays' name for `high`."""
    quality = params.quality.strip().lower() if isinstance(params.quality, str) else params.quality
    if quality == "hd":
        quality = "high"
    size = params.size.strip().lower() if isinstance(params.size, str) else params.size
    return params.replace(quality=quality, size=size, model=params.model.strip())


def check_params(params: ImageParams, *, kind: Kind, image_count: int = 0) -> list[Violation]:
    """Every rule the request breaks, in the order the real API would report them (first is the answer)."""
    found: list[Violation] = []
    spec = model_spec(params.model)

    def add(v: Violation | None) -> None:
        if v is not None:
            found.append(v)

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
    if params.quality not in QUALITIES:
        add(Violation("quality", _supported(params.quality, QUALITIES), "quality values", params.quality))
    if params.output_format is not None and params.output_format not in OUTPUT_FORMATS:
        add(
            Violation(
                "output_format",
                _supported(params.output_format, OUTPUT_FORMATS),
                "output formats",
                params.output_format,
            )
        )
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
        if params.output_format not in ("jpeg", "webp"):
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
        elif params.input_fidelity not in INPUT_FIDELITIES:
            add(
                Violation(
                    "input_fidelity",
                    _supported(params.input_fidelity, INPUT_FIDELITIES),
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


def validate(params: ImageParams, *, kind: Kind, image_count: int = 0) -> ImageParams:
    """Normalise and check; raise the first violation as `ValidationError`, else return what to send."""
    params = normalise(params)
    violations = check_params(params, kind=kind, image_count=image_count)
    if violations:
        raise violations[0].to_error()
    return params
