"""Never frozen: how responsive the dialog stays during a streamed n=4 edit of a 6000 x 4000 layer.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_ui.py [--runs 5] [--latency 3]

Runs the real dialog (qasync loop, real widgets painting) against the local server over loopback HTTP and
measures, during each run:
- the longest gap between ticks of a 5 ms GUI timer (how long the event loop was blocked), target <= 30 ms;
- the delay from a partial image's arrival (the client handing over the streamed event) to its thumbnail
  being painted, target <= 50 ms.
Baseline, same process, same code: every `asyncio.to_thread` call inlined, i.e. the same CPU work
(prepare, decode, paste-back, thumbnails) done naively on the GUI thread.
Writes bench/results/ui.md with the machine description.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = Path(tempfile.mkdtemp(prefix="gptimage-bench-ui-"))
os.environ["XDG_CONFIG_HOME"] = str(_TMP / "config")
os.environ["XDG_DATA_HOME"] = str(_TMP / "data")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR, Qt, QTimer  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from bench.machine import cpu_name, load_average, ram_gib  # noqa: E402
from gimp_gptimage.api.client import ImagesClient  # noqa: E402
from gimp_gptimage.history import HistoryStore  # noqa: E402
from gimp_gptimage.keystore import local_backend  # noqa: E402
from gimp_gptimage.server.child import ServerProcess  # noqa: E402
from gimp_gptimage.settings import SettingsStore  # noqa: E402
from qt_ui import controller as controller_module  # noqa: E402
from qt_ui.dialog import GptImageDialog  # noqa: E402
from qt_ui.images import THUMB_PX, bytes_thumbnail  # noqa: E402
from qt_ui.insert import FolderTarget  # noqa: E402
from qt_ui.loop import new_event_loop  # noqa: E402
from qt_ui.source import EditSource  # noqa: E402

LAYER_W, LAYER_H = 6000, 4000
N, PARTIALS = 4, 2
TICK_MS = 5
TARGET_GAP_MS, TARGET_PAINT_MS = 30, 50


def photo_like_layer() -> np.ndarray:
    """Smooth gradients with fine noise: compresses like a photo (PNG encoding is real work)."""
    rng = np.random.default_rng(7)
    y = np.linspace(0, 1, LAYER_H, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, LAYER_W, dtype=np.float32)[None, :]
    layer = np.empty((LAYER_H, LAYER_W, 4), np.uint8)
    noise = rng.integers(0, 12, (LAYER_H, LAYER_W), dtype=np.uint8)
    layer[..., 0] = (60 + 150 * x + 20 * y).astype(np.uint8) + noise
    layer[..., 1] = (90 + 100 * y + 10 * x).astype(np.uint8) + noise
    layer[..., 2] = (180 - 120 * x * y).astype(np.uint8) + noise
    layer[..., 3] = 255
    return layer


def selection_box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    selection = np.zeros((LAYER_H, LAYER_W), np.uint8)
    selection[y0:y1, x0:x1] = 255
    return selection


@contextmanager
def naive_gui_thread():  # type: ignore[no-untyped-def]
    """The baseline: every asyncio.to_thread in this process runs inline, on the GUI thread."""
    original = asyncio.to_thread

    async def inline(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    asyncio.to_thread = inline  # type: ignore[assignment]
    try:
        yield
    finally:
        asyncio.to_thread = original  # type: ignore[assignment]


class TimedClient(ImagesClient):
    """Records when each streamed partial image is handed over by the client (its 'arrival')."""

    arrivals: ClassVar[dict[int, list[float]]] = defaultdict(list)

    async def edit(self, *, params: Any, images: Any, mask: Any = None, on_event: Any = None, **kw: Any) -> Any:
        def timed(event: Any) -> Any:
            if event.kind == "partial":
                TimedClient.arrivals[event.index].append(time.perf_counter())
            return on_event(event) if on_event else None

        return await super().edit(params=params, images=images, mask=mask, on_event=timed, **kw)


async def until(condition: Any, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark run did not finish")
        await asyncio.sleep(0.01)


async def one_run(base_url: str, layer: np.ndarray, selection: np.ndarray | None, label: str) -> dict:
    source = EditSource(
        kind="edit",
        image_name="bench.xcf",
        layer_name="Background",
        layer_rgba=layer,
        selection=selection,
    )
    dialog = GptImageDialog(
        source,
        FolderTarget(_TMP / "out", source),
        SettingsStore(_TMP / "config" / label),
        HistoryStore(_TMP / "data" / label),
        backend=local_backend(base_url),
    )
    dialog.resize(1280, 860)
    dialog.show()
    await until(lambda: "sent as" in dialog.sent_preview.caption.text())  # the preview's own work is done
    dialog.model.prompt = "replace the area with a calm lake"
    dialog.model.n = N
    dialog.model.stream = True
    dialog.model.partial_images = PARTIALS

    ticks: list[tuple[float, float]] = []  # (wall clock, CPU time of the GUI thread)
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append((time.perf_counter(), time.thread_time())))
    TimedClient.arrivals.clear()
    shown: dict[int, float] = {}  # index -> perf_counter() of the partial's arrival
    event_to_paint: list[float] = []

    def partial_shown(index: int, reported_at: float) -> None:
        fifo = TimedClient.arrivals.get(index)
        shown[index] = fifo.pop(0) if fifo else reported_at

    def painted(index: int, at: float) -> None:
        if index in shown:
            event_to_paint.append((at - shown.pop(index)) * 1000)

    dialog.controller.partial_shown.connect(partial_shown)
    timer.start(TICK_MS)
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    dialog.run()
    for index, tile in dialog.results_view.tiles.items():
        tile.view.painted.connect(lambda at, i=index: painted(i, at))
    await until(lambda: dialog.model.state != "running")
    await asyncio.sleep(0.2)
    ended = time.perf_counter()
    timer.stop()
    assert dialog.model.state == "done", dialog.model.error
    assert len(dialog.model.results) == N
    window = [t for t in ticks if started - 0.05 <= t[0] <= ended]
    gaps = [(b[0] - a[0]) * 1000 for a, b in itertools.pairwise(window)]
    # How much of the longest gap the GUI thread spent computing; the rest it was waiting for a CPU core
    # or for the GIL (the machine's load, other threads), not running our code.
    worst = max(itertools.pairwise(window), key=lambda ab: ab[1][0] - ab[0][0])
    worst_cpu = (worst[1][1] - worst[0][1]) * 1000
    # The longest stretch the GUI thread itself spent computing between two ticks: what our code blocks,
    # whatever the machine's load.
    busiest = max((b[1] - a[1]) * 1000 for a, b in itertools.pairwise(window))
    dialog.close()
    await asyncio.sleep(0.1)
    return {
        "total_s": ended - started,
        "max_gap": max(gaps),
        "max_gap_cpu": worst_cpu,
        "max_busy": busiest,
        "p99_gap": statistics.quantiles(gaps, n=100)[98] if len(gaps) > 100 else max(gaps),
        "partials": len(event_to_paint),
        "paint_max": max(event_to_paint) if event_to_paint else float("nan"),
        "paint_median": statistics.median(event_to_paint) if event_to_paint else float("nan"),
    }


def gil_hold_ms(work: Any) -> tuple[float, float]:
    """Run `work` in a thread while this thread ticks every 1 ms: (work time, longest tick gap) in ms.
    A gap close to the work time means the work held the GIL throughout (moving it to a thread cannot help)."""
    done = threading.Event()
    took: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        work()
        took.append((time.perf_counter() - start) * 1000)
        done.set()

    gaps = []
    thread = threading.Thread(target=run)
    last = time.perf_counter()
    thread.start()
    while not done.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append((now - last) * 1000)
        last = now
    thread.join()
    return took[0], max(gaps)


def slowed_by_busy_thread_ms(work: Any) -> float:
    """Run `work` in a thread while this thread spins in Python code (as the GUI thread does while it parses
    a streamed event): the work's time in ms. Work that keeps taking the GIL back waits for it every time."""
    stop = threading.Event()
    took: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        work()
        took.append((time.perf_counter() - start) * 1000)
        stop.set()

    thread = threading.Thread(target=run)
    thread.start()
    while not stop.is_set():
        sum(range(1000))
    thread.join()
    return took[0]


def pillow_thumbnail(png: bytes) -> bytes:
    """The plain Pillow way, for comparison: decode, then Image.thumbnail."""
    with Image.open(io.BytesIO(png)) as image:
        image.thumbnail((THUMB_PX, THUMB_PX))
        return image.convert("RGBA").tobytes()


def per_event_costs() -> list[tuple[str, float, float, float]]:
    """What receiving one finished image of the 1800 x 1200 case costs, step by step (GIL-wise)."""
    rng = np.random.default_rng(3)
    pixels = (rng.integers(0, 30, (1200, 1800, 3)) + np.linspace(0, 200, 1800)[None, :, None]).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    png = buffer.getvalue()
    b64 = base64.b64encode(png).decode()
    event = json.dumps({"type": "image_edit.completed", "b64_json": b64})
    steps = [
        (f"json.loads of the SSE event ({len(event) / 1e6:.1f} MB)", lambda: json.loads(event)),
        (f"base64 decode ({len(png) / 1e6:.1f} MB PNG)", lambda: base64.b64decode(b64)),
        ("PNG decode (Pillow)", lambda: Image.open(io.BytesIO(png)).load()),
        ("PNG to thumbnail, Pillow (decode, then Image.thumbnail)", lambda: pillow_thumbnail(png)),
        ("PNG to thumbnail, OpenCV (bytes_thumbnail: what the dialog does)", lambda: bytes_thumbnail(png)),
    ]
    return [(label, *gil_hold_ms(work), slowed_by_busy_thread_ms(work)) for label, work in steps]


def machine() -> str:
    return (
        f"{cpu_name()}, {os.cpu_count()} logical cores, {ram_gib():.0f} GB RAM; "
        f"{platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; Qt {QT_VERSION_STR} / PyQt {PYQT_VERSION_STR}; "
        f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}"
    )


def best(runs: list[dict]) -> dict:
    """Median of each figure over the repeated runs (the machine is shared; medians resist noise)."""
    summary = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    maxima = [r["paint_max"] for r in runs]
    summary["paint_max_range"] = (min(maxima), max(maxima))  # shown beside the median: how noisy the tail is
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions per case (median reported)")
    parser.add_argument("--latency", type=float, default=3.0, help="local server latency, seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ui.md")
    args = parser.parse_args()

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    controller_module.ImagesClient = TimedClient  # type: ignore[misc]
    layer = photo_like_layer()
    cases = [
        ("1800 × 1200 selection", selection_box(2100, 1400, 3900, 2600)),
        ("whole layer", None),
    ]
    rows: list[tuple[str, str, dict]] = []

    async def measure(name: str, mode: str, url: str, selection: np.ndarray | None) -> None:
        results = []
        for i in range(args.runs):
            if mode == "naive":
                with naive_gui_thread():
                    results.append(await one_run(url, layer, selection, f"{mode}-{i}"))
            else:
                results.append(await one_run(url, layer, selection, f"{mode}-{i}"))
            print(name, mode, {k: round(v, 1) for k, v in results[-1].items()}, flush=True)
        rows.append((name, mode, best(results)))

    async def run_all() -> None:
        # The embedded backend the dialog starts when no provider is set up (a child process, as a remote
        # provider is another machine), with the latency of a real request.
        with ServerProcess(latency=args.latency) as server:
            for name, selection in cases:
                for mode in ("dialog", "naive"):
                    await measure(name, mode, server.base_url, selection)

    with loop:
        loop.run_until_complete(run_all())
        loop.run_until_complete(loop.shutdown_asyncgens())

    lines = [
        "# Dialog responsiveness (bench/bench_ui.py)",
        "",
        f"Streamed edit, n = {N}, {PARTIALS} partial images each, of a {LAYER_W} × {LAYER_H} RGBA layer against "
        f"the local server (latency {args.latency:g} s), real dialog on a qasync loop; median of {args.runs} "
        f"run(s) per row. GUI tick timer: {TICK_MS} ms.",
        "",
        f"Machine: {machine()}. Load average when the runs ended: {load_average(1)} (the machine is shared).",
        "",
        "Reproduce: `QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_ui.py`",
        "",
        "Server: the embedded offline backend the dialog starts when no provider is set up, in its child process "
        "(gimp_gptimage/server/child.py), as a remote provider would be on another machine.",
        "",
        "| case | where CPU work runs | longest GUI gap (ms) | of which GUI thread computing (ms) "
        "| longest GUI-thread work between ticks (ms) | p99 gap (ms) "
        "| partial arrival → painted, max / median (ms) (range of the runs' maxima) | partials painted | run (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, mode, r in rows:
        where = {
            "dialog": "worker threads (the dialog)",
            "naive": "GUI thread (naive baseline)",
        }[mode]
        lines.append(
            f"| {name} | {where} | {r['max_gap']:.1f} | {r['max_gap_cpu']:.1f} | {r['max_busy']:.1f} "
            f"| {r['p99_gap']:.1f} "
            f"| {r['paint_max']:.1f} / {r['paint_median']:.1f} "
            f"({r['paint_max_range'][0]:.0f}–{r['paint_max_range'][1]:.0f}) "
            f"| {r['partials']:.0f} | {r['total_s']:.1f} |"
        )
    dialog_rows = [r for _, mode, r in rows if mode == "dialog"]
    gap_ok = all(r["max_gap"] <= TARGET_GAP_MS for r in dialog_rows)
    paint_ok = all(r["paint_max"] <= TARGET_PAINT_MS for r in dialog_rows)
    lines += [
        "",
        f"Targets: longest gap ≤ {TARGET_GAP_MS} ms — {'met' if gap_ok else 'NOT met'}; partial arrival → painted "
        f"≤ {TARGET_PAINT_MS} ms — {'met' if paint_ok else 'NOT met'} (dialog rows).",
        "",
        '"Partial arrival" is the moment the client hands the streamed event over; the delay includes decoding '
        "the encoded partial straight to a thumbnail in one worker thread (qt_ui.images.bytes_thumbnail) and "
        "the paint.",
        "",
    ]
    lines += [
        "Where the GUI thread's remaining time goes: receiving one finished image, measured in this run "
        "(work done in a thread while the main thread ticks every 1 ms; a gap as long as the work means the "
        "step holds the GIL, so running it in a worker thread would not unblock the GUI either):",
        "",
        "| step | work (ms) | longest main-thread gap meanwhile (ms) | work while the main thread computes (ms) |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {label} | {work:.1f} | {gap:.1f} | {busy:.1f} |" for label, work, gap, busy in per_event_costs()]
    lines += [
        "",
        "The API client (gimp_gptimage/api/client.py) parses each streamed event with json.loads and decodes "
        "its base64 on the event loop; for a 4–6 MB event these two GIL-holding steps are most of the GUI "
        "thread's longest busy stretch in the selection rows. Decoding PNGs and making thumbnails run in "
        "worker threads; Pillow's PNG reader takes the GIL back for every chunk, so beside a GUI thread busy "
        "parsing the next event it runs several times slower (last column), which is why the dialog decodes "
        "previews with OpenCV, in one call without the GIL.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    shutil.rmtree(_TMP, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
