"""Turning request fields into `ImageParams`, the way each simulated provider reads them.

Multipart edits carry every value as text; JSON generations carry typed values. Both end up as one
`ImageParams` that `api.params.check_params` then judges, so the client and this server share one rule table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..api.params import DEFAULT_MODEL, ImageParams, Kind, normalise
from ..api.providers import IMITATED, Provider, ResultStyle
from .errors import ApiError, invalid_type, unknown_parameter


@dataclass(frozen=True)
class Profile:
    """What a simulated provider does differently from OpenAI's own API: read from its `Provider` preset."""

    name: str
    result_style: ResultStyle
    accepts_hd: bool  # relays take `hd` and turn it into `high`; OpenAI rejects it
    aliases: Mapping[str, str]  # wire name -> ImageParams field

    @classmethod
    def of(cls, provider: Provider) -> Profile:
        aliases = {wire: name for name, wire in provider.field_renames.items()}
        return cls(provider.name, provider.result_style, provider.accepts_hd_quality, aliases)


PROFILES: dict[str, Profile] = {p.name: Profile.of(p) for p in IMITATED}

_TEXT_FIELDS = ("prompt", "model", "size", "quality", "background", "output_format", "input_fidelity")
_TEXT_FIELDS += ("complexity", "moderation", "user")
_INT_FIELDS = ("n", "output_compression", "partial_images")
FILE_FIELDS = ("image", "image[]", "mask", "markup")
PARAM_FIELDS = (*_TEXT_FIELDS, *_INT_FIELDS, "stream")


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown server profile {name!r}; choose one of {', '.join(PROFILES)}") from None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _as_int(name: str, value: object, *, from_text: bool) -> int:
    if from_text and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise invalid_type(name, "an integer", "a string") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise invalid_type(name, "an integer", _json_type(value))


def _as_bool(name: str, value: object, *, from_text: bool) -> bool:
    if from_text and isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise invalid_type(name, "a boolean", "a string")
    if isinstance(value, bool):
        return value
    raise invalid_type(name, "a boolean", _json_type(value))


def parse_params(fields: Mapping[str, object], *, kind: Kind, profile: Profile, from_text: bool) -> ImageParams:
    """The request's parameters, or an `ApiError` for an unknown field or a value of the wrong type."""
    values: dict[str, object] = {}
    allowed_files = FILE_FIELDS if kind == "edit" else ()
    for name, value in fields.items():
        target = profile.aliases.get(name, name)
        if name in allowed_files:
            continue
        if target not in PARAM_FIELDS:
            raise unknown_parameter(name)
        if value is None:  # JSON null means "not given", as the SDK's Optional fields do
            continue
        if target in values and name != target:
            continue  # the canonical spelling wins over an alias
        if target in _INT_FIELDS:
            values[target] = _as_int(name, value, from_text=from_text)
        elif target == "stream":
            values[target] = _as_bool(name, value, from_text=from_text)
        elif isinstance(value, str):
            values[target] = value
        else:
            raise invalid_type(name, "a string", _json_type(value))
    params = ImageParams(
        prompt=str(values.pop("prompt", "")),
        model=str(values.pop("model", DEFAULT_MODEL)),
        **values,  # type: ignore[arg-type]
    )
    return normalise(params) if profile.accepts_hd else params


__all__ = ["FILE_FIELDS", "PROFILES", "ApiError", "Profile", "parse_params", "profile_named"]
