"""Warming the engine up in the background once a server accepts connections.

The MI-GAN engine's first model run costs more than the next ones (onnxruntime prepares its kernels; seconds
before the session kept its memory arena: bench/results/warmup.md); a warm-up pays that before the first real
edit arrives. It runs in a daemon thread
started after the server is ready, so it never delays readiness or the event loop (onnxruntime releases the
GIL), and the server's stop ends it promptly, even in the middle of a model run.
"""

from __future__ import annotations

import logging
import threading

from .engine_protocol import Engine, Stop

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 5.0  # a stopped warm-up ends within milliseconds; this only bounds a stuck runtime


class WarmUp:
    """`engine.warm_up` in a daemon thread, from construction until it is done or `stop()` is called."""

    def __init__(self, engine: Engine) -> None:
        self._stop = Stop()
        self._thread = threading.Thread(target=self._run, args=(engine,), name="gptimage-warm-up", daemon=True)
        self._thread.start()

    def _run(self, engine: Engine) -> None:
        try:
            engine.warm_up(self._stop)
        except Exception as exc:  # the first real request just pays the preparation itself
            log.warning("the %s engine's warm-up failed (%s: %s)", engine.name, type(exc).__name__, exc)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the warm-up to end; whether it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """End the warm-up (a model run in progress too) and wait for its thread."""
        self._stop.set()
        self.wait(JOIN_TIMEOUT)


__all__ = ["WarmUp"]
