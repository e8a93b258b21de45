"""`ImagesBackend`: what a job needs from whatever answers its image requests.

`ImagesClient` is the implementation; the protocol keeps the job runner (jobs/run.py) from depending on the
client's construction, and gives a test double or another transport one small, typed surface to fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .params import ImageParams
from .results import EventCallback, ProgressCallback
from .types import ImageInput, ImagesResponse


class ImagesBackend(Protocol):
    @property
    def provider_name(self) -> str:
        """The provider preset's name ("openai", "local", ...), or "custom"; recorded in history."""
        ...

    @property
    def base_url(self) -> str:
        """Where requests go, recorded in history (never with a key: keys are not part of a base URL)."""
        ...

    async def grows_mask(self) -> bool:
        """Whether the selection is grown for this endpoint (api.providers.grows_mask), asking the endpoint
        what it is if it has not answered yet."""
        ...

    async def edit(
        self,
        *,
        params: ImageParams,
        images: Sequence[ImageInput],
        mask: bytes | None = None,
        markup: bytes | None = None,
        on_event: EventCallback | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ImagesResponse: ...

    async def generate(
        self,
        *,
        params: ImageParams,
        on_event: EventCallback | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ImagesResponse: ...
