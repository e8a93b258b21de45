"""Fire-and-forget tasks on the qasync loop, kept referenced until done (asyncio only holds weak refs)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PyQt6.QtCore import QObject, QTimer


class TaskBag:
    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def cancel_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    async def wait(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


# Work that must outlive the widget that started it (closing HTTP connections after the dialog closed).
BACKGROUND = TaskBag()


def soon(owner: QObject, callback: Callable[[], object]) -> None:
    """Call back on the next turn of the event loop, unless `owner` has been destroyed by then."""
    timer = QTimer(owner)
    timer.setSingleShot(True)
    timer.timeout.connect(callback)
    timer.timeout.connect(timer.deleteLater)
    timer.start(0)
