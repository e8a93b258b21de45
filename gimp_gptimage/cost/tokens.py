"""Built-in token figures: what a request is expected to use before the user's own history says better.

Every figure here is an estimate and is shown as one. Where they come from:
- Output tokens of one image at 1024x1024: low 272, medium 1056, high 4160 — OpenAI's image-generation
  guide (gpt-image-1 table; its 1024x1536 figures 408/1584/6240 are the same per pixel, so other sizes are
  scaled by pixel area). gpt-image-1.5's per-image prices divided by its $32 output price agree
  (281/1062/4156).
- gpt-image-1-mini: its per-image prices at 1024x1024 ($0.005/$0.011/$0.036, OpenAI) divided by its $8
  output price.
- gpt-image-2 and 2.5: OpenAI publishes no per-image figures; the gpt-image-1 counts are assumed.
- gpt-image-2.6: one relay reports low and medium using 3-4x the output tokens of 2.5 [T]; 3.5x is used.
- xhigh and max: no figures anywhere, so no estimate until the user's own results supply one.
- `auto` is estimated as `high`; a size of `auto` as 1024x1024.
- Input: ~4 characters of prompt per text token; an input image is counted like vision input (fit in
  2048x2048, short side to 768, 170 tokens per 512-px tile plus 85).
The local server reports usage from these same figures, so what it charges is what is estimated here.
"""

from __future__ import annotations

import math

from ..api.params import parse_size
from .prices import model_family

_PER_1024 = {"low": 272, "medium": 1056, "high": 4160}
_FAMILY_PER_1024: dict[str, dict[str, int]] = {
    "gpt-image-1-mini": {"low": 625, "medium": 1375, "high": 4500},
    "gpt-image-2.6": {"low": round(272 * 3.5), "medium": round(1056 * 3.5), "high": 4160},
}
AUTO_QUALITY = "high"
AUTO_SIZE = (1024, 1024)


def output_tokens(model: str, quality: str, size: tuple[int, int]) -> int | None:
    """Estimated output tokens of one image; None where there is no figure (xhigh, max)."""
    family = model_family(model) or ""
    table = _FAMILY_PER_1024.get(family, _PER_1024)
    per_1024 = table.get(AUTO_QUALITY if quality == "auto" else quality)
    if per_1024 is None:
        return None
    return max(1, round(per_1024 * size[0] * size[1] / 1024**2))


def size_of(size: str | None) -> tuple[int, int]:
    """A request's WxH, or the size `auto` is estimated as."""
    return parse_size(size or "") or AUTO_SIZE


def text_tokens(prompt: str) -> int:
    return max(1, math.ceil(len(prompt) / 4))


def image_input_tokens(width: int, height: int) -> int:
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)
