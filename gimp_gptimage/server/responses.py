"""Response bodies and stream events in the real API's shape, with plausible token usage."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from ..cost import tokens
from .errors import ApiError

RESOLVED_AUTO_QUALITY = "high"


def revised_prompt(label: str, prompt: str) -> str:
    """The `revised_prompt` of an offline result: the prompt, marked with what really made the image."""
    return f"[{label}] {prompt}"


def usage(
    model: str, prompt: str, inputs: list[tuple[int, int]], output: tuple[int, int], quality: str, n: int
) -> dict:
    """Deterministic usage from the program's own built-in token figures (cost/tokens.py), so that what the
    offline engine "charges" is exactly what the price estimate predicts. For a quality without a figure
    (xhigh, max) it charges twice the high figure: more than high, as those settings are."""
    text = tokens.text_tokens(prompt)
    image = sum(tokens.image_input_tokens(w, h) for w, h in inputs)
    per_image = tokens.output_tokens(model, quality, output) or 2 * (tokens.output_tokens(model, "high", output) or 1)
    return {
        "input_tokens": text + image,
        "input_tokens_details": {"text_tokens": text, "image_tokens": image},
        "output_tokens": per_image * n,
        "total_tokens": text + image + per_image * n,
    }


@dataclass(frozen=True)
class ResultInfo:
    """What every answer to one request says about its images."""

    created: int
    size: str
    quality: str
    background: str
    output_format: str

    def body(self, data: list[dict], usage: dict) -> dict:
        return {
            "created": self.created,
            "data": data,
            "background": self.background,
            "output_format": self.output_format,
            "size": self.size,
            "quality": self.quality,
            "usage": usage,
        }

    def event(self, kind: str, image: bytes, *, partial_index: int | None = None, usage: dict | None = None) -> bytes:
        """One SSE event: `kind` is e.g. `image_edit.partial_image` or `image_generation.completed`."""
        payload: dict[str, object] = {
            "type": kind,
            "b64_json": base64.b64encode(image).decode("ascii"),
            "created_at": self.created,
            "size": self.size,
            "quality": self.quality,
            "background": self.background,
            "output_format": self.output_format,
        }
        if partial_index is not None:
            payload["partial_image_index"] = partial_index
        if usage is not None:
            payload["usage"] = usage
        return f"event: {kind}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def error_event(error: ApiError) -> bytes:
    """A failure after the stream has started, as the API reports it: an `error` event."""
    return f"event: error\ndata: {json.dumps(error.body(), separators=(',', ':'))}\n\n".encode()


KEEP_ALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"
