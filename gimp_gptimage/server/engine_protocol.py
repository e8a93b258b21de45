"""What the local server needs from an engine; the OpenCV engine and the MI-GAN engine both provide it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from PIL import Image


class Stop:
    """Asks a warm-up to end, from another thread. What the warm-up registered with `on_set` (onnxruntime's
    terminate flag, say) runs at once, so even a step in progress ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._actions: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with self._lock:
            self._set, actions, self._actions = True, self._actions, []
        for action in actions:
            action()

    def on_set(self, action: Callable[[], None]) -> None:
        """Run `action` when the stop is set (now, if it already is)."""
        with self._lock:
            if not self._set:
                self._actions.append(action)
                return
        action()


class Engine(Protocol):
    """Makes the result images of the local server. Called from worker threads: must be thread-safe, and
    deterministic: the same inputs, prompt and index give the same pixels."""

    @property
    def name(self) -> str:
        """Short id for the `x-gptimage-engine` header and `/healthz`, e.g. "offline-migan"."""
        ...

    @property
    def warmed(self) -> bool:
        """Whether the first request is past any one-time preparation (shown by `/healthz`)."""
        ...

    def warm_up(self, stop: Stop) -> None:
        """Do that one-time preparation now (a server calls it in a background thread once it is ready);
        thread-safe with requests, harmless to repeat, and ending promptly once `stop` is set."""
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
