"""The qasync event loop, completed where qasync falls short of asyncio's own loops.

- Async-generator hooks: qasync's run_forever does not install them, so an async generator left suspended
  — e.g. an HTTP byte stream abandoned at `[DONE]` or on cancel — would be finalised by the garbage
  collector outside any loop and fail. With the hooks, the loop closes such generators itself and
  `shutdown_asyncgens()` works as documented.
- Timers (`_Timers`): qasync keeps a cancelled callback's Qt timer until its time comes. Every read httpx
  makes arms such a deadline (the read timeout, ten minutes by default) and cancels it, so a dialog left
  open piled up timers, and Qt searches its timer list linearly each time one is started or stopped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import math
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import qasync
from PyQt6.QtCore import QObject, Qt, QTimerEvent
from PyQt6.QtWidgets import QApplication


class _Timers(QObject):
    """The loop's callbacks, each on a one-shot Qt timer (qasync's scheme), with a cancelled callback's timer
    killed at once and every timer killed before its callback runs (a callback that runs a nested event loop
    cannot see its own timer fire again)."""

    def __init__(self) -> None:
        super().__init__()
        self._handles: dict[int, asyncio.Handle] = {}
        self._stopped = False

    def add(self, handle: asyncio.Handle, delay: float) -> int:
        # Rounded up and precise: asyncio.timeout trusts its callback not to come before its time.
        timer_id = self.startTimer(max(0, math.ceil(delay * 1000)), Qt.TimerType.PreciseTimer)
        self._handles[timer_id] = handle
        return timer_id

    def forget(self, timer_id: int) -> None:
        if self._handles.pop(timer_id, None) is not None:
            self.killTimer(timer_id)

    @property
    def pending(self) -> int:
        return len(self._handles)

    def timerEvent(self, a0: QTimerEvent | None) -> None:  # Qt's name
        if a0 is None:
            return
        timer_id = a0.timerId()
        self.killTimer(timer_id)
        handle = self._handles.pop(timer_id, None)
        if handle is not None and not handle.cancelled() and not self._stopped:
            handle._run()  # as asyncio's own loops run handles

    def stop(self) -> None:
        self._stopped = True

    def set_debug(self, enabled: bool) -> None:  # qasync's loop forwards its debug flag here
        pass


class _TimerHandle(asyncio.TimerHandle):
    """A callback of `_Timers`: cancelling it kills its Qt timer."""

    __slots__ = ("_timer_id", "_timers")

    def __init__(
        self,
        timers: _Timers,
        when: float,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context | None,
    ) -> None:
        super().__init__(when, callback, args, loop, context)
        self._timers = timers
        self._timer_id = timers.add(self, when - loop.time())

    def cancel(self) -> None:
        if not self.cancelled():
            self._timers.forget(self._timer_id)
        super().cancel()


class EventLoop(qasync.QEventLoop):
    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._timer = _Timers()  # replaces qasync's own (it has no timer yet)

    def call_later(  # type: ignore[override]
        self, delay: float, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.TimerHandle:
        return _TimerHandle(self._timer, self.time() + delay, callback, args, self, context)

    def call_at(  # type: ignore[override]
        self, when: float, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.TimerHandle:
        return _TimerHandle(self._timer, when, callback, args, self, context)

    @property
    def pending_callbacks(self) -> int:
        """Callbacks waiting for their time (cancelled ones are gone at once)."""
        return self._timer.pending

    def run_forever(self) -> int:  # type: ignore[override]
        previous = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook,  # type: ignore[attr-defined]  # asyncio.BaseEventLoop's own
            finalizer=self._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
        )
        try:
            return super().run_forever()
        finally:
            sys.set_asyncgen_hooks(*previous)


# How long a worker thread running Python code may keep the GIL while the GUI thread waits for it.
# CPython's default (5 ms) lets a few busy workers add up to visible stutter; 1 ms keeps the GUI
# thread's turns frequent at a negligible cost in throughput.
GUI_SWITCH_INTERVAL = 0.001


WORKER_NICENESS = 5


def _lower_priority() -> None:
    """Worker threads yield the CPU to the GUI thread when cores are scarce (Linux: per-thread nice)."""
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)


def new_event_loop(app: QApplication) -> EventLoop:
    """The dialog's event loop (also tunes the GIL hand-over for a responsive GUI thread)."""
    sys.setswitchinterval(min(sys.getswitchinterval(), GUI_SWITCH_INTERVAL))
    loop = EventLoop(app)
    loop.set_default_executor(
        concurrent.futures.ThreadPoolExecutor(thread_name_prefix="gptimage-worker", initializer=_lower_priority)
    )
    return loop
