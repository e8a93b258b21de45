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

from gimp_harness import gimp_root  # noqa: E402, F401  (the real-GIMP tests' per-version fixture)
