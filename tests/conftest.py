"""Session-wide isolation: tests never see the real user's config, data, keychain or API keys."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Must happen before any test module imports platformdirs, keyring or Qt.
_HOME = Path(tempfile.mkdtemp(prefix="gptimage-test-home-"))
for _var, _sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
    os.environ[_var] = str(_HOME / _sub)
for _var in ("GPTIMAGE_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GIMP3_DIRECTORY"):
    os.environ.pop(_var, None)
# The fail backend refuses every call: a test that needs a keychain installs an in-memory one itself.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# -- shared fixtures (after the isolation above: they import the product) ------------------------------------
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import pytest  # noqa: E402
from gimp_harness import gimp_root  # noqa: E402, F401  (the real-GIMP tests' per-version fixture)

if TYPE_CHECKING:
    from gimp_gptimage.server import LocalServer

_KEY_VARIABLES = ("GPTIMAGE_API_KEY", "OPENAI_API_KEY")


@dataclass(frozen=True)
class TempHome:
    """A fresh user's folders, all under `root`: what platformdirs calls config, data and cache, plus temp."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def settings_dir(self) -> Path:
        return self.config / "gimp-gptimage"

    @property
    def history_dir(self) -> Path:
        return self.data / "gimp-gptimage" / "history"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a process of this user (the CLI, a worker): no API key unless given."""
        env = {k: v for k, v in os.environ.items() if k not in _KEY_VARIABLES}
        env.update(
            XDG_CONFIG_HOME=str(self.config),
            XDG_DATA_HOME=str(self.data),
            XDG_CACHE_HOME=str(self.root / "cache"),
            TMPDIR=str(self.root / "tmp"),
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        )
        env.update(extra)
        return env


@pytest.fixture
def temp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TempHome:
    """The one temporary home: this test and every process it starts see only tmp_path/home."""
    home = TempHome(tmp_path / "home")
    for name, value in home.env().items():
        if name.startswith("XDG_") or name == "TMPDIR":
            Path(value).mkdir(parents=True, exist_ok=True)
            monkeypatch.setenv(name, value)
    for name in _KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="module")
def local_server() -> Iterator[LocalServer]:
    """The one loopback server of a test module (fault injection mounted); use `server` for a clean plan."""
    from gimp_gptimage.server import LocalServer

    with LocalServer(faults=()) as running:
        yield running


@pytest.fixture
def server(local_server: LocalServer) -> Iterator[LocalServer]:
    """The module's server with no faults queued before or after the test."""
    local_server.faults.clear()
    yield local_server
    local_server.faults.clear()
