"""Fixtures for the dialog tests: a qasync loop per test and a job folder (the temporary home and the local
server are tests/conftest.py's `temp_home` and `server`). Load with `pytest_plugins = ["qt_fixtures"]`;
helpers (qrun, until, make_dialog...) are in qt_helpers.py.

Tests are plain functions that hand one coroutine to `qrun`; it runs on the qasync event loop (the real Qt
event loop with asyncio on top, as in the product), so widgets, httpx and worker threads all progress.
Waiting is done on conditions (`until`), never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PyQt6.QtWidgets import QApplication
from qt_helpers import write_job

from qt_ui.i18n import install_language
from qt_ui.loop import EventLoop, new_event_loop
from qt_ui.tasks import BACKGROUND

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[EventLoop]:
    qapp.setQuitOnLastWindowClosed(False)
    loop = new_event_loop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:

        async def teardown() -> None:
            for window in qapp.topLevelWidgets():
                window.close()
                window.deleteLater()
            await asyncio.sleep(0)
            await BACKGROUND.wait()
            gc.collect()
            # Finalise async generators (e.g. an aborted HTTP stream) while the loop can still run them.
            await loop.shutdown_asyncgens()

        loop.run_until_complete(teardown())
        install_language("en")
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def job_dir(tmp_path: Path) -> Path:
    return write_job(tmp_path / "job")
