"""A short soak: 20 sequential edits in one process leave no descriptors, threads or temp files behind.

The 200-edit run with memory figures is bench/bench_soak.py (results in bench/results/soak.md); timing and
memory are not asserted here, only what must hold on any machine.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_soak.py"


def _bench_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_soak", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_soak", module)
    spec.loader.exec_module(module)
    return module


def test_twenty_sequential_edits_leave_nothing_behind(tmp_path: Path) -> None:
    bench = _bench_module()
    result = bench.run_soak(edits=18, warmup=2, workdir=tmp_path, checkpoint_every=6)
    assert result.temp_left == []
    fds = [sample.fds for _, sample in result.checkpoints]
    # No descriptor leaks: none ever above the warm count (a pooled connection or log file closing late may
    # leave fewer, which is no leak).
    assert max(fds) <= result.warm.fds, (result.warm.fds, fds)
    assert result.end.threads <= result.warm.threads
    assert result.history_entries == 20 and result.history_results == 20
