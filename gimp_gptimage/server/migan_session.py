"""The MI-GAN model's onnxruntime session: one per process, shared by every engine and request."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..migan import RESTORE_HINT, ModelUnavailable, check_runtime, record_load, verify_model_file

log = logging.getLogger(__name__)


class MiganSession:
    """The model's session. `run` is thread-safe and runs one inference at a time: two at once would only
    share the same two cores while doubling the peak memory (bench/results/removal.md)."""

    def __init__(self, path: Path | None = None) -> None:
        check_runtime()
        path = verify_model_file(path)
        import onnxruntime as ort

        options = ort.SessionOptions()
        # The default arena keeps its high-water mark (about 0.9 GB) for the life of the process; without it
        # each run's buffers go back to the allocator between edits.
        options.enable_cpu_mem_arena = False
        # Worker threads sleep between runs instead of spinning: the server shares the cores with the GUI.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 4  # failures come back as exceptions; no coloured lines on stderr
        try:
            self._session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable or unsupported graphs
            raise ModelUnavailable(f"{path} could not be loaded ({type(exc).__name__}): {RESTORE_HINT}") from None
        self._lock = threading.Lock()

    def run(self, rgb: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Fill `rgb` (H x W x 3 uint8) where `keep` (H x W bool) is False; known pixels come back unchanged."""
        image = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
        mask = np.ascontiguousarray((keep.astype(np.uint8) * 255)[None, None])
        with self._lock:
            (result,) = self._session.run(["result"], {"image": image, "mask": mask})
        return np.ascontiguousarray(result[0].transpose(1, 2, 0))


_shared: MiganSession | ModelUnavailable | None = None
_shared_lock = threading.Lock()


def shared_session() -> MiganSession:
    """The process's one session, created on first use; ModelUnavailable (logged once) if it cannot be."""
    global _shared
    with _shared_lock:
        if _shared is None:
            try:
                _shared = MiganSession()
            except ModelUnavailable as exc:
                log.warning("%s", exc.notice)
                _shared = exc
            record_load(_shared if isinstance(_shared, ModelUnavailable) else True)
    if isinstance(_shared, ModelUnavailable):
        raise _shared
    return _shared


__all__ = ["MiganSession", "shared_session"]
