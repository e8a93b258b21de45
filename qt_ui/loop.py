"""The qasync event loop, completed with asyncio's async-generator hooks.

qasync's run_forever does not install them (asyncio's own loops do), so an async generator left
suspended — e.g. an HTTP byte stream abandoned at `[DONE]` or on cancel — would be finalised by the
garbage collector outside any loop and fail. With the hooks, the loop closes such generators itself and
`shutdown_asyncgens()` works as documented.
"""

from __future__ import annotations

import sys

import qasync
from PyQt6.QtWidgets import QApplication


class EventLoop(qasync.QEventLoop):
    def run_forever(self) -> int:  # type: ignore[override]
        previous = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook)
        try:
            return super().run_forever()
        finally:
            sys.set_asyncgen_hooks(*previous)


def new_event_loop(app: QApplication) -> EventLoop:
    return EventLoop(app)
