"""The qasync event loop, completed with asyncio's async-generator hooks.

qasync's run_forever does not install them (asyncio's own loops do), so an async generator left
suspended — e.g. an HTTP byte stream abandoned at `[DONE]` or on cancel — would be finalised by the
garbage collector outside any loop and fail. With the hooks, the loop closes such generators itself and
`shutdown_asyncgens()` works as documented.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
import threading

import qasync
from PyQt6.QtWidgets import QApplication


class EventLoop(qasync.QEventLoop):
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
