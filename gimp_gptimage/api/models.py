"""The one table of image models: what each accepts, with how sure we are of every fact.

Sources and confidence tags as in shared/reference/api-contract.md ("Models as of December 2026"):
[O] OpenAI's own reference or guide, [O*] official text seen only through a mirror or translation,
[T] third parties only (relays, blogs, node docs). [SDK] marks the docstrings of openai-python 3.57.0 (newer
than the reference's 3.3.1), generated from OpenAI's spec: official, but where it disagrees with the
reference the comment says so. A [T] fact is likely, not certain: each sits on its own
line here so a correction is one line, and the client, the local server, the CLI and the dialog all read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STANDARD_QUALITIES = ("low", "medium", "high", "auto")
LADDER_QUALITIES = ("low", "medium", "high", "xhigh", "max", "auto")  # 2.5 and 2.6 [T]
COMPLEXITIES = ("low", "medium", "high")  # [O]; omitted means "high" [O]
RASTER_FORMATS = ("png", "jpeg", "webp")
# Formats the API takes but a raster editor has no use for (2.6): refused by the client, see params.py.
NON_RASTER_FORMATS = ("gif", "svg")


@dataclass(frozen=True)
class ModelSpec:
    """What one model family accepts. `dated` families also answer to `<name>-YYYY-MM-DD` snapshots."""

    name: str
    qualities: tuple[str, ...] = STANDARD_QUALITIES
    free_sizes: bool = True  # any valid WxH on the 16-px grid; False: the three fixed sizes + auto
    transparent: bool = False
    input_fidelity: tuple[str, ...] = ()  # the values it takes; () = "does not support the parameter"
    complexity: bool = False
    markup: bool = False
    output_formats: tuple[str, ...] = RASTER_FORMATS  # what the API itself accepts
    dated: bool = True
    summary: str = ""  # one line for the model list and tooltips


def _sunburst_flare(version: str, **facts: object) -> list[ModelSpec]:
    speed = {
        "sunburst": "detailed: precise edits and dense text",
        "flare": "fast and cheaper: drafts",
    }
    return [
        ModelSpec(f"gpt-image-{version}-{kind}", summary=f"gpt-image-{version} {kind.title()}, {text}", **facts)  # type: ignore[arg-type]
        for kind, text in speed.items()
    ]


_TABLE: list[ModelSpec] = [
    *_sunburst_flare(
        "2.6",
        qualities=LADDER_QUALITIES,  # [T]
        complexity=True,  # [O]
        transparent=True,  # [T]
        markup=True,  # [O]; with a mask: see MARKUP_WITH_MASK
        output_formats=(*RASTER_FORMATS, *NON_RASTER_FORMATS),  # [T]
        dated=False,  # no dated snapshot [O]
        # sizes as gpt-image-2 [T]; input_fidelity: not documented for 2.x, gpt-image-2 rejects it [T]
    ),
    *_sunburst_flare(
        "2.5",
        qualities=LADDER_QUALITIES,  # [T]
        transparent=True,  # [O*]
        # complexity: none [T]; sizes as gpt-image-2 [T][SDK]; snapshots -2026-09-08 [O][SDK];
        # xhigh and max [SDK]. markup: no [T], but [SDK] says "Supports GPT Image 2.5": unresolved, add
        # markup=True here once confirmed.
    ),
    ModelSpec("gpt-image-2", summary="gpt-image-2 (April 2026)"),  # transparent: relays reject it
    ModelSpec(
        "gpt-image-1.5", free_sizes=False, transparent=True, input_fidelity=("high", "low"), summary="gpt-image-1.5"
    ),
    ModelSpec(
        "gpt-image-1-mini",
        free_sizes=False,
        transparent=True,
        input_fidelity=("low",),  # "supports only low" [SDK]
        summary="gpt-image-1-mini, the cheap one",
    ),
    ModelSpec(
        "chatgpt-image-latest",
        free_sizes=False,
        transparent=True,
        dated=False,
        summary="whatever ChatGPT uses today (an alias)",
    ),
]
MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in _TABLE}

# Markup and a mask in one request: "Cannot be combined with mask." [SDK]; the reference calls it unresolved.
# The job runner then sends the markup alone (the paste-back still keeps everything outside the selection)
# and the local server refuses the pair, as the API would.
MARKUP_WITH_MASK = False

# A sensible model for requests that name none (and for custom endpoints): every provider in the seeds has it.
DEFAULT_MODEL = "gpt-image-2"


@dataclass(frozen=True)
class ShutDown:
    date: str
    successor: str
    reason: str


# Models the provider no longer serves, and what to use instead [O].
SHUT_DOWN: dict[str, ShutDown] = {
    # "Use gpt-image-2.5-sunburst or gpt-image-2.5-flare instead." [SDK]
    "gpt-image-1": ShutDown("2026-10-23", "gpt-image-2.5-sunburst", "OpenAI's advice; gpt-image-2.5-flare is faster"),
}

_DATED = re.compile(r"^(?P<name>.+)-\d{4}-\d{2}-\d{2}$")


def model_spec(model: str) -> ModelSpec | None:
    """The family of a model name, dated snapshots included (`gpt-image-2-2026-04-21`); None if unknown.

    An unknown model is still usable: it is sent as given, without local rules."""
    spec = MODELS.get(model)
    if spec is not None:
        return spec
    match = _DATED.match(model)
    spec = MODELS.get(match["name"]) if match else None
    return spec if spec is not None and spec.dated else None


def shut_down(model: str) -> tuple[str, ShutDown] | None:
    """(family name, facts) when the model, or a dated snapshot of it, has been shut down."""
    match = _DATED.match(model)
    for name in (model, match["name"] if match else None):
        if name in SHUT_DOWN:
            return name, SHUT_DOWN[name]
    return None


def shut_down_message(model: str) -> str | None:
    """Why a shut-down model cannot be used and what to pick instead (our wording: no source quotes the
    API's answer for a shut-down image model)."""
    found = shut_down(model)
    if found is None:
        return None
    name, facts = found
    return (
        f"The model '{model}' is no longer available: OpenAI shut {name} down on {facts.date}. "
        f"Use {facts.successor} instead ({facts.reason})."
    )


def migrate_model(model: str) -> tuple[str, str | None]:
    """(model to use, notice) for a model name found in saved settings or a script."""
    found = shut_down(model)
    if found is None:
        return model, None
    _, facts = found
    return facts.successor, (
        f"Your settings named {model}, which OpenAI shut down on {facts.date}; they now use {facts.successor}."
    )
