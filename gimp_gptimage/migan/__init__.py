"""The MI-GAN inpainting model the offline engine uses: its file (package data, beside this module), the
checks that it can be used, and the one sentence every front end says when it cannot.

Light on purpose (no onnxruntime import): the dialog and the CLI ask `fallback_notice()` before any server
runs. The session itself is in server/migan_session.py. The file is not in git: `./dev.sh` fetches it
(`ensure_model`) and checks it against `migan_pipeline_v2.onnx.sha256`, the same checksum used here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent
MODEL_FILE = MODEL_DIR / "migan_pipeline_v2.onnx"
CHECKSUM_FILE = MODEL_DIR / "migan_pipeline_v2.onnx.sha256"
MODEL_NAME = "MI-GAN"
RESOLUTION = 512  # the model file's working size: its pipeline resizes any other input to this square
RESTORE_HINT = "run ./dev.sh demo in the project folder to fetch it again (or reinstall gimp-gptimage)"
# What the offline engine is, for the CLI and the dialog's offline banner (qt_ui/messages.py translates it).
MODEL_NOTICE = (
    f"It uses the {MODEL_NAME} inpainting model: it removes what the selection covers and does not follow the prompt."
)
# The one sentence for the CLI, the dialog's offline banner and the server log when the model is unusable.
FALLBACK_NOTICE = (
    "The offline engine cannot use its {model} inpainting model ({reason}); masked edits get the basic OpenCV fill."
)


class ModelUnavailable(Exception):
    """The model cannot be used; `reason` is a short clause naming what is wrong and how to fix it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def notice(self) -> str:
        return FALLBACK_NOTICE.format(model=MODEL_NAME, reason=self.reason)


def expected_sha256() -> str:
    return CHECKSUM_FILE.read_text().split()[0].lower()


def verify_model_file(path: Path | None = None) -> Path:
    """The model file (`MODEL_FILE` unless given) if it holds exactly the published model, else
    ModelUnavailable naming the file and the fix."""
    path = path or MODEL_FILE
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing: {RESTORE_HINT}")
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected_sha256():
        raise ModelUnavailable(f"{path} is damaged (its sha256 does not match): {RESTORE_HINT}")
    return path


def check_runtime() -> None:
    if importlib.util.find_spec("onnxruntime") is None:
        raise ModelUnavailable("onnxruntime is not installed: pip install onnxruntime")


_load_outcome: ModelUnavailable | bool | None = None  # set once this process has tried to load the model


def record_load(outcome: ModelUnavailable | bool) -> None:
    """What loading the model gave in this process (True: loaded), so the notice reports what happened."""
    global _load_outcome
    _load_outcome = outcome


def fallback_notice() -> str | None:
    """The fallback sentence if the model cannot be used, else None: what loading it gave where this process
    tried, otherwise the runtime's presence and the file's checksum (computed once per process)."""
    if isinstance(_load_outcome, ModelUnavailable):
        return _load_outcome.notice
    if _load_outcome:
        return None
    return _installation_problem()


@functools.cache
def _installation_problem() -> str | None:
    try:
        check_runtime()
        verify_model_file()
    except ModelUnavailable as exc:
        return exc.notice
    return None


__all__ = [
    "FALLBACK_NOTICE",
    "MODEL_FILE",
    "MODEL_NAME",
    "MODEL_NOTICE",
    "ModelUnavailable",
    "check_runtime",
    "fallback_notice",
    "record_load",
    "verify_model_file",
]
