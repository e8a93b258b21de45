"""What `GET {base}/models` says a provider offers, read against the model table.

The list says which models a provider has, not what they accept: known ones get the table's rules, image
models the table does not know are still offered (marked unknown, sent without local rules), shut-down ones
are marked so, and the rest (text, audio, embeddings) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .models import model_spec, shut_down

# Image model ids as providers spell them: gpt-image-*, chatgpt-image-*, dall-e-*, and relays' own prefixes
# in front (e.g. "openai/gpt-image-2").
_IMAGE_ID = re.compile(r"(^|[/:])(gpt-image|chatgpt-image|dall-e)", re.IGNORECASE)

Status = Literal["known", "unknown", "shut down"]


@dataclass(frozen=True)
class ListedModel:
    id: str
    status: Status
    summary: str = ""

    @property
    def label(self) -> str:
        """How the model list shows it: unknown and shut-down models say so."""
        if self.status == "known":
            return self.id
        return f"{self.id} ({self.status})"


def read_model(entry: Mapping[str, Any]) -> ListedModel | None:
    """One `data[]` entry as an image model, or None when it is not one."""
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not _IMAGE_ID.search(model_id):
        return None
    if shut_down(model_id) is not None or entry.get("shutdown_date") not in (None, ""):
        return ListedModel(model_id, "shut down")
    spec = model_spec(model_id)
    return ListedModel(model_id, "known", spec.summary) if spec else ListedModel(model_id, "unknown")


def image_models(body: object) -> list[ListedModel]:
    """The image models of a `/models` answer (`{"object": "list", "data": [...]}`), known ones first,
    then in the table's order, then by name; anything unreadable is skipped."""
    data = body.get("data") if isinstance(body, dict) else body
    if not isinstance(data, list):
        return []
    found = {m.id: m for m in (read_model(e) for e in data if isinstance(e, dict)) if m is not None}
    order = {"known": 0, "unknown": 1, "shut down": 2}
    return sorted(found.values(), key=lambda m: (order[m.status], m.id))


def usable(models: list[ListedModel]) -> list[ListedModel]:
    return [m for m in models if m.status != "shut down"]
