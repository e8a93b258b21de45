"""Fixtures for the dialog tests: a qasync loop per test, private config/data folders, a job folder, a
local server. Load with `pytest_plugins = ["qt_fixtures"]`; helpers (qrun, until, make_dialog...) are in
qt_helpers.py.

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

from gimp_gptimage.server import LocalServer
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
def ui_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Private config/data folders for one test (settings, history)."""
    dirs = {"config": tmp_path / "config", "data": tmp_path / "data"}
    monkeypatch.setenv("XDG_CONFIG_HOME", str(dirs["config"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(dirs["data"]))
    return dirs


@pytest.fixture
def job_dir(tmp_path: Path) -> Path:
    return write_job(tmp_path / "job")


@pytest.fixture
def ui_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server
