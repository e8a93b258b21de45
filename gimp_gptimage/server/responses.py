"""Response bodies and stream events in the real API's shape, with plausible token usage."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

from .errors import ApiError

# Output tokens of one 1024x1024 image per quality, from OpenAI's published image pricing tables.
_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
RESOLVED_AUTO_QUALITY = "high"


def _image_input_tokens(width: int, height: int) -> int:
    """Vision-style tile count: fit in 2048x2048, shortest side down to 768, 170 tokens per 512 tile + 85."""
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def revised_prompt(label: str, prompt: str) -> str:
    """The `revised_prompt` of an offline result: the prompt, marked with what really made the image."""
    return f"[{label}] {prompt}"


def usage(prompt: str, inputs: list[tuple[int, int]], output: tuple[int, int], quality: str, n: int) -> dict:
    text = max(1, math.ceil(len(prompt) / 4))
    image = sum(_image_input_tokens(w, h) for w, h in inputs)
    per_image = max(1, round(_OUTPUT_TOKENS.get(quality, 4160) * output[0] * output[1] / 1024**2))
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
