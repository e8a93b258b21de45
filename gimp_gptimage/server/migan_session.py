"""The MI-GAN model's onnxruntime session: one per process, shared by every engine and request."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..memory import release_free_memory
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
        # Extended, not all, graph optimisations: the layout changes of the last level only add buffers (the
        # peak of a run was 420-445 MB with them, 380 MB without; bench/results/removal.md), no speed here.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        # Worker threads sleep between runs instead of spinning: the server shares the cores with the GUI.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 4  # failures come back as exceptions; no coloured lines on stderr
        try:
            self._session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable or unsupported graphs
            raise ModelUnavailable(f"{path} could not be loaded ({type(exc).__name__}): {RESTORE_HINT}") from None
        # The arena serves a run's buffers; shrinking it after every run hands them back, so the process does
        # not keep its high-water mark (about 0.9 GB) between edits. Without the arena every run, and the
        # first above all (seconds), paid for fresh pages instead.
        self._run_options = ort.RunOptions()
        self._run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self._lock = threading.Lock()

    def run(self, rgb: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Fill `rgb` (H x W x 3 uint8) where `keep` (H x W bool) is False; known pixels come back unchanged."""
        image = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
        mask = np.ascontiguousarray((keep.astype(np.uint8) * 255)[None, None])
        with self._lock:
            # The run is the server's peak of memory (about 370 MB of activations at 512 x 512): small blocks
            # freed so far that glibc keeps (loading the session, decoding, parsing: 20-25 MB) go back first
            # instead of staying resident under it (bench/results/removal.md).
            release_free_memory()
            (result,) = self._session.run(["result"], {"image": image, "mask": mask}, self._run_options)
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
