"""Token prices per model family: the one table every cost shown in the program comes from.

Prices are USD per 1M tokens at OpenAI's list prices; a relay bills by its own rules, so for a relay the
figures are what the same request would cost at OpenAI. Tags as in api-contract.md: [O] OpenAI's own
pages, [T] third parties quoting them. A family whose prices are not known here is listed as None: its
costs show as unknown rather than as a guess. Correcting a price is one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..api.providers import is_billed
from ..api.types import Usage

PER_TOKENS = 1_000_000


@dataclass(frozen=True)
class TokenPrices:
    text_input: float
    text_input_cached: float
    image_input: float
    image_input_cached: float
    image_output: float
    text_output: float | None  # None: not published; text output (rare) is then billed as image output
    source: str


_TWO = TokenPrices(5.00, 1.25, 8.00, 2.00, 30.00, None, "[O] OpenAI model pages for gpt-image-2, 2.5 and 2.6")

PRICES: dict[str, TokenPrices | None] = {
    "gpt-image-2.6": _TWO,
    "gpt-image-2.5": _TWO,
    "gpt-image-2": _TWO,
    "gpt-image-1.5": TokenPrices(
        5.00, 1.25, 8.00, 2.00, 32.00, 10.00, "[T] OpenAI's gpt-image-1.5 page as quoted by llmreference.com, 2026"
    ),
    "gpt-image-1-mini": TokenPrices(
        2.00, 0.20, 2.50, 0.25, 8.00, None, "[O] developers.openai.com/api/docs/models/gpt-image-1-mini"
    ),
    # Shut down 2026-10-23; kept so that old history entries still show what they cost.
    "gpt-image-1": TokenPrices(5.00, 1.25, 10.00, 2.50, 40.00, None, "[T] burncloud.com's gpt-image-1 page"),
    # An alias that moves with ChatGPT; no token prices are published for it.
    "chatgpt-image-latest": None,
}

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def model_family(model: str) -> str | None:
    """The family a model name belongs to: `gpt-image-2.6-flare`, `gpt-image-2.5-sunburst-2026-09-08` and
    any later variant or dated snapshot map to their family without a code change; None if none fits."""
    name = model.strip().lower().rsplit("/", 1)[-1]  # a relay's "openai/gpt-image-2" is the same model
    for family in sorted(PRICES, key=len, reverse=True):
        if name == family or name.startswith(family + "-"):
            return family
    return None


def model_variant(model: str) -> str:
    """A model name without its dated snapshot: the unit whose token use is learned (Flare and Sunburst
    share prices but not necessarily token counts)."""
    return _SNAPSHOT.sub("", model.strip().lower().rsplit("/", 1)[-1])


def prices_for(model: str) -> TokenPrices | None:
    family = model_family(model)
    return PRICES.get(family) if family is not None else None


def cost_of(usage: Usage | None, model: str, *, provider: str) -> float | None:
    """What a request to `provider` (its name) cost in USD, from the usage it reported; None when that is not
    known; 0 for a provider that does not bill (the offline engine).

    The Images API does not say which input tokens were served from cache, so every input token is billed
    uncached (at most a slight over-statement). Where usage gives no split of the input, all of it is billed
    at the image-input price (the higher one); likewise an unsplit output is image output.
    """
    if not is_billed(provider):
        return 0.0
    prices = prices_for(model)
    if prices is None or usage is None or usage.output_tokens is None:
        return None
    text_in, image_in = usage.input_text_tokens, usage.input_image_tokens
    if text_in is None or image_in is None:
        text_in, image_in = 0, usage.input_tokens or 0
    text_out, image_out = usage.output_text_tokens or 0, usage.output_image_tokens
    if image_out is None:
        text_out, image_out = 0, usage.output_tokens
    dollars = (
        text_in * prices.text_input
        + image_in * prices.image_input
        + image_out * prices.image_output
        + text_out * (prices.text_output if prices.text_output is not None else prices.image_output)
    )
    return dollars / PER_TOKENS


def format_dollars(amount: float) -> str:
    """$12.34, $0.84, $0.042; never "$0.00" for something that cost money."""
    if amount >= 0.1 or amount == 0:
        return f"${amount:,.2f}"
    if amount >= 0.001:
        return f"${amount:.3f}"
    return "<$0.001"
