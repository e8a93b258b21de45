"""What the local server needs from an engine; the OpenCV engine and the MI-GAN engine both provide it."""

from __future__ import annotations

from typing import Protocol

from PIL import Image


class Engine(Protocol):
    """Makes the result images of the local server. Called from worker threads: must be thread-safe, and
    deterministic: the same inputs, prompt and index give the same pixels."""

    @property
    def name(self) -> str:
        """Short id for the `x-gptimage-engine` header and `/healthz`, e.g. "offline-migan"."""
        ...

    def label(self, *, masked: bool) -> str:
        """What made an edit's results, said in each response so nobody takes them for a model's answer."""
        ...

    def edit(
        self,
        images: list[Image.Image],
        mask: Image.Image | None,
        prompt: str,
        size: tuple[int, int],
        index: int = 0,
        keep_alpha: bool = False,
    ) -> Image.Image:
        """Edit `images[0]` (where `mask`'s alpha is 0, guided by the other images) and return it at `size`;
        result `index` of n differs from the others."""
        ...

    def generate(self, prompt: str, size: tuple[int, int], index: int = 0, transparent: bool = False) -> Image.Image:
        """A new picture for `prompt` at `size`."""
        ...
