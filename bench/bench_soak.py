"""Soak benchmark: many sequential edits in one process, watching memory, file descriptors and temp files.

Run from the project root:  .venv/bin/python bench/bench_soak.py [--edits 200] [--warmup 20]
Writes bench/results/soak.md (figures + machine description).

Each edit is what the dialog or the worker does for one request: a new ImagesClient, the job runner
(pipeline + client + history) on the 600 x 400 sample photo with its spoon selection, against the embedded
local server (in this process, real loopback HTTP). Edits alternate between a plain answer and a stream with
one partial image. Baseline: resident memory and open descriptors right after the warm-up edits, in the same
run; the figures are the growth from there to the end. Targets (issue 6): RSS growth <= 30 MB, descriptors
stable, no temporary files left.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import PIL
import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gimp_gptimage.api.client import ImagesClient  # noqa: E402
from gimp_gptimage.api.params import ImageParams  # noqa: E402
from gimp_gptimage.history import HistoryStore  # noqa: E402
from gimp_gptimage.jobs.run import EditRequest, run_edit  # noqa: E402
from gimp_gptimage.pipeline import ContextOptions  # noqa: E402
from gimp_gptimage.server import LocalServer  # noqa: E402

RSS_TARGET_MB = 30.0
MB = 1024 * 1024
KEY = "sk-soak-0123456789abcdef"


@dataclass
class SoakResult:
    edits: int
    warmup: int
    rss_warm: int  # bytes, after the warm-up edits
    rss_end: int
    rss_peak: int
    fds_start: int
    fds_warm: int
    fds_end: int
    threads_warm: int
    threads_end: int
    objects_warm: int  # live Python objects (gc), to tell a leak from allocator growth
    objects_end: int
    temp_left: list[str]
    history_entries: int
    history_results: int
    seconds: float
    checkpoints: list[tuple[int, int, int]] = field(default_factory=list)  # (edits done, rss, fds)

    @property
    def rss_growth_mb(self) -> float:
        return (self.rss_end - self.rss_warm) / MB


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    layer = np.asarray(Image.open(ROOT / "resources" / "coffee.png").convert("RGBA"))
    selection = np.asarray(Image.open(ROOT / "resources" / "coffee-spoon-selection.png").convert("L"))
    return layer, selection


async def _one_edit(base_url: str, history: HistoryStore, number: int, layer: np.ndarray, sel: np.ndarray) -> None:
    stream = number % 2 == 1
    params = ImageParams(
        prompt=f"Remove the spoon (soak edit {number})",
        stream=stream,
        partial_images=1 if stream else None,
    )
    request = EditRequest(layer, sel, (0, 0), [], params, ContextOptions(blend_margin_px=0), "coffee.png")
    async with ImagesClient(base_url, KEY) as client:
        results = await run_edit(request, client, history)
    if len(results) != 1:
        raise RuntimeError(f"edit {number} returned {len(results)} results")


def _threads() -> int:
    """Live threads, not counting the local server's own worker pool (it grows and shrinks on its own)."""
    return sum(1 for t in threading.enumerate() if not t.name.startswith("AnyIO worker thread"))


def _sample(process: psutil.Process, port: int) -> tuple[int, int]:
    """RSS and open descriptors once the last edit's connection is closed on both ends.

    The server runs in this process too and closes its end of a finished connection a moment after the
    client: counting before that would see a descriptor that is not leaked, only not yet closed.
    """
    gc.collect()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(
        port in (c.laddr.port if c.laddr else None, c.raddr.port if c.raddr else None)
        for c in process.net_connections("tcp")
        if c.status != psutil.CONN_LISTEN
    ):
        time.sleep(0.01)
    return process.memory_info().rss, process.num_fds()


def run_soak(edits: int, warmup: int, workdir: Path, checkpoint_every: int = 20) -> SoakResult:
    """`edits` sequential edits after `warmup` ones, all in this process; workdir holds history and temp."""
    process = psutil.Process()
    tmp = workdir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    previous_tempdir = tempfile.tempdir
    tempfile.tempdir = str(tmp)  # every temporary file the job makes lands here, where we look
    layer, selection = _inputs()
    history = HistoryStore(workdir / "history")
    fds_start = process.num_fds()
    peak = 0
    checkpoints: list[tuple[int, int, int]] = []
    try:
        with LocalServer() as server:

            async def loop() -> tuple[int, int, int, int, int, int, int, int]:
                nonlocal peak
                for number in range(warmup):
                    await _one_edit(server.base_url, history, number, layer, selection)
                rss_warm, fds_warm = _sample(process, server.port)
                threads_warm = _threads()
                objects_warm = len(gc.get_objects())
                checkpoints.append((0, rss_warm, fds_warm))
                for number in range(1, edits + 1):
                    await _one_edit(server.base_url, history, warmup + number, layer, selection)
                    peak = max(peak, process.memory_info().rss)
                    if number % checkpoint_every == 0 or number == edits:
                        checkpoints.append((number, *_sample(process, server.port)))
                rss_end, fds_end = _sample(process, server.port)
                return (
                    rss_warm,
                    fds_warm,
                    threads_warm,
                    objects_warm,
                    rss_end,
                    fds_end,
                    _threads(),
                    len(gc.get_objects()),
                )

            started = time.perf_counter()
            rss_warm, fds_warm, threads_warm, objects_warm, rss_end, fds_end, threads_end, objects_end = asyncio.run(
                loop()
            )
            seconds = time.perf_counter() - started
    finally:
        tempfile.tempdir = previous_tempdir
    entries = history.list()
    return SoakResult(
        edits=edits,
        warmup=warmup,
        rss_warm=rss_warm,
        rss_end=rss_end,
        rss_peak=peak,
        fds_start=fds_start,
        fds_warm=fds_warm,
        fds_end=fds_end,
        threads_warm=threads_warm,
        threads_end=threads_end,
        objects_warm=objects_warm,
        objects_end=objects_end,
        temp_left=sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
        + sorted(p.name for p in (workdir / "history").rglob("*.tmp")),
        history_entries=len(entries),
        history_results=sum(len(e.results) for e in entries),
        seconds=seconds,
        checkpoints=checkpoints,
    )


def _machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    import httpx
    import uvicorn

    return [
        f"- CPU: {cpu}",
        f"- cores: {psutil.cpu_count()}",
        f"- RAM: {psutil.virtual_memory().total / 1024**3:.1f} GiB",
        f"- load average at start (1/5/15 min): {load}",
        f"- OS: {platform.platform()}",
        f"- Python: {platform.python_version()}",
        f"- numpy: {np.__version__}, Pillow: {PIL.__version__}, httpx: {httpx.__version__}, "
        f"uvicorn: {uvicorn.__version__}, psutil: {psutil.__version__}",
        f"- git commit: {_git_commit()}",
        f"- date (UTC): {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')}",
    ]


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def report(result: SoakResult, machine: list[str]) -> str:
    growth = result.rss_growth_mb
    fds_ok = result.fds_end <= result.fds_warm
    lines = [
        "# Soak benchmark: sequential edits in one process",
        "",
        f"Reproduce: `.venv/bin/python bench/bench_soak.py --edits {result.edits} --warmup {result.warmup}` "
        "(from the project root; writes this file).",
        "",
        f"{result.warmup} warm-up edits, then {result.edits} measured edits, one after another in one process: each "
        "a new ImagesClient and the job runner (pipeline, client, history) editing the 600 x 400 sample photo's "
        "spoon selection against the embedded local server over loopback HTTP, alternating plain and streamed "
        "(one partial) answers. Baseline: the same process right after the warm-up (same run).",
        "",
        "| measure | after warm-up | end | change | target |",
        "|---|---|---|---|---|",
        f"| resident memory (RSS) | {result.rss_warm / MB:.1f} MB | {result.rss_end / MB:.1f} MB | "
        f"{growth:+.1f} MB (peak {result.rss_peak / MB:.1f} MB) | ≤ {RSS_TARGET_MB:.0f} MB growth: "
        f"{'met' if growth <= RSS_TARGET_MB else 'MISSED'} |",
        f"| open file descriptors | {result.fds_warm} | {result.fds_end} | {result.fds_end - result.fds_warm:+d} | "
        f"stable: {'met' if fds_ok else 'MISSED'} |",
        f"| threads | {result.threads_warm} | {result.threads_end} | {result.threads_end - result.threads_warm:+d} | "
        "stable |",
        f"| live Python objects | {result.objects_warm:,} | {result.objects_end:,} | "
        f"{result.objects_end - result.objects_warm:+,} | stable (a leak would grow with the edits) |",
        f"| temporary files left | – | {len(result.temp_left)} | – | "
        f"0: {'met' if not result.temp_left else 'MISSED'} |",
        f"| history | – | {result.history_entries} entries, {result.history_results} results | – | one per edit |",
        "",
        f"Wall time: {result.seconds:.0f} s for {result.warmup + result.edits} edits "
        f"({result.seconds / (result.warmup + result.edits) * 1000:.0f} ms each, offline engine; not a target).",
        "",
        "RSS at any one checkpoint swings by tens of MB: working buffers of the edit that the C allocator has "
        "not yet returned to the system. Growth that stays is what a leak looks like; the live-object count "
        "tells the two apart.",
        "",
        "RSS and descriptors along the run (edits after warm-up):",
        "",
        "| edits | RSS | fds |",
        "|---|---|---|",
        *[f"| {n} | {rss / MB:.1f} MB | {fds} |" for n, rss, fds in result.checkpoints],
        "",
        "## Machine",
        "",
        *machine,
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "soak.md")
    args = parser.parse_args(argv)
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="gptimage-soak-") as workdir:
        result = run_soak(args.edits, args.warmup, Path(workdir))
    text = report(result, machine)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    ok = result.rss_growth_mb <= RSS_TARGET_MB and result.fds_end <= result.fds_warm and not result.temp_left
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
