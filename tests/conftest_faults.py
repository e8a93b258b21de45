"""Fixtures for the fault, bad-input, security and soak tests (load with `pytest_plugins = ["conftest_faults"]`).

`home` is the temporary home with the sample photo in it; `api` is a recorded local server (openai profile,
b64 results), `relay` one with the crazyrouter profile (download links); both module-scoped and given a
clean fault plan and record for each test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TempHome
from faults_helpers import RecordedServer
from jobs_samples import COFFEE, SPOON


@pytest.fixture
def home(temp_home: TempHome) -> Path:
    """The temporary home with the sample photo and its spoon selection in it: CLI runs start there."""
    shutil.copy(COFFEE, temp_home.root / COFFEE.name)
    shutil.copy(SPOON, temp_home.root / SPOON.name)
    return temp_home.root


@pytest.fixture(scope="module")
def api_server() -> Iterator[RecordedServer]:
    recorded = RecordedServer()
    recorded.server.start()
    yield recorded
    recorded.server.stop()


@pytest.fixture(scope="module")
def relay_api_server() -> Iterator[RecordedServer]:
    """The crazyrouter profile: results come as download links on /v1/files/results/."""
    recorded = RecordedServer(profile="crazyrouter")
    recorded.server.start()
    yield recorded
    recorded.server.stop()


@pytest.fixture
def api(api_server: RecordedServer) -> Iterator[RecordedServer]:
    api_server.reset()
    yield api_server
    api_server.reset()


@pytest.fixture
def relay(relay_api_server: RecordedServer) -> Iterator[RecordedServer]:
    relay_api_server.reset()
    yield relay_api_server
    relay_api_server.reset()


@pytest.fixture
def paced_api() -> Iterator[RecordedServer]:
    """A server that spreads a stream's events over 0.8 s, so a reset can be placed between two images."""
    recorded = RecordedServer(latency=0.8)
    recorded.server.start()
    yield recorded
    recorded.server.stop()
