"""The price before the click: what a request will cost, from the user's own past results where there
are some, else from the built-in figures (`tokens.py`), and always saying which."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..api.params import ImageParams
from ..api.providers import is_billed
from ..history.record import HistoryRecord
from . import tokens
from .prices import PER_TOKENS, model_variant, prices_for

LEARN_FROM = 5  # the newest results per model, quality and size: old ones may predate a price change
Key = tuple[str, str, str]  # model variant, quality asked for, size sent


def _key(model: str, quality: str, size: str | None) -> Key:
    return model_variant(model), quality or "auto", (size or "auto").lower()


@dataclass(frozen=True)
class LearnedTokens:
    """Output tokens per image seen in the user's own finished requests (kept with the history)."""

    samples: dict[Key, tuple[int, ...]] = field(default_factory=dict)  # newest first

    @classmethod
    def from_records(cls, records: Iterable[HistoryRecord]) -> LearnedTokens:
        """From history records, newest first (as `HistoryStore.list()` gives them)."""
        samples: dict[Key, list[int]] = {}
        for record in records:
            usage, images = record.usage, len(record.results)
            # The offline engine's usage imitates the API's figures: nothing to learn real token use from.
            if (
                not is_billed(record.provider)
                or record.status != "done"
                or usage is None
                or usage.output_tokens is None
                or images == 0
            ):
                continue
            quality = record.params.quality if record.params is not None else "auto"
            size = record.request_size or (record.params.size if record.params is not None else None)
            found = samples.setdefault(_key(record.model, quality, size), [])
            if len(found) < LEARN_FROM:
                output = usage.output_image_tokens if usage.output_image_tokens is not None else usage.output_tokens
                found.append(round(output / images))
        return cls({k: tuple(v) for k, v in samples.items()})

    def per_image(self, model: str, quality: str, size: str | None) -> int | None:
        found = self.samples.get(_key(model, quality, size))
        return round(statistics.median(found)) if found else None


@dataclass(frozen=True)
class Estimate:
    images: int
    output_tokens_per_image: int | None  # None: no figure for this quality yet
    input_tokens: int
    dollars: float | None  # None: the model's prices or its token use are unknown
    source: Literal["history", "estimate", "unknown", "free"]  # where the output tokens come from ("free": none
    # are billed, the offline engine)

    def exceeds(self, max_images: int, max_dollars: float | None) -> bool:
        """More than the user lets go without asking: too many images, or (when known) too much money."""
        if self.source == "free":
            return False
        too_dear = max_dollars is not None and self.dollars is not None and self.dollars > max_dollars
        return self.images > max_images or too_dear


def estimate(
    params: ImageParams,
    *,
    provider: str,
    sent_sizes: Sequence[tuple[int, int]] = (),
    result_size: str | None = None,
    learned: LearnedTokens | None = None,
) -> Estimate:
    """The cost of sending `params` to `provider` (its name). `sent_sizes`: each input image's WxH as
    uploaded (none for a generation); `result_size`: the size asked for, when the pipeline picks it (edits
    with size auto)."""
    if not is_billed(provider):
        return Estimate(params.n, None, 0, 0.0, "free")
    size = result_size or params.size
    per_image = learned.per_image(params.model, params.quality, size) if learned is not None else None
    source: Literal["history", "estimate", "unknown", "free"] = "history"
    if per_image is None:
        per_image = tokens.output_tokens(params.model, params.quality, tokens.size_of(size))
        source = "estimate" if per_image is not None else "unknown"
    text_in = tokens.text_tokens(params.prompt)
    image_in = sum(tokens.image_input_tokens(w, h) for w, h in sent_sizes)
    prices = prices_for(params.model)
    dollars = None
    if prices is not None and per_image is not None:
        dollars = (
            text_in * prices.text_input + image_in * prices.image_input + per_image * params.n * prices.image_output
        ) / PER_TOKENS
    return Estimate(params.n, per_image, text_in + image_in, dollars, source)
