"""A dialog left open for a working session: does run after run stay as quick as the first?

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_dialog_session.py [--runs 30]

The real dialog (qasync loop, real widgets) streams run after run, n = 2 with 2 partial images each, of a
1200 x 900 layer against the local server over loopback HTTP (a child process, latency 1 s). For each run:
its wall time, the longest gap between ticks of a 5 ms GUI timer, and the callbacks left waiting on the
loop afterwards. Baseline, same process, same dialog: qasync's own loop, whose timers outlive their
cancellation (every read httpx makes arms a ten-minute deadline and cancels it; Qt searches its timer list
linearly each time one starts or stops). Writes bench/results/dialog_session.md with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import qasync
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_name, load_average, ram_gib  # noqa: E402
from gimp_gptimage.history import HistoryStore  # noqa: E402
from gimp_gptimage.keystore import local_backend  # noqa: E402
from gimp_gptimage.server.child import ServerProcess  # noqa: E402
from gimp_gptimage.settings import SettingsStore  # noqa: E402
from qt_ui.dialog import GptImageDialog  # noqa: E402
from qt_ui.insert import JobFolderTarget  # noqa: E402
from qt_ui.loop import EventLoop  # noqa: E402
from qt_ui.source import source_from_job  # noqa: E402
from qt_ui.tasks import BACKGROUND  # noqa: E402

WIDTH, HEIGHT = 1200, 900
LOOPS = {"ours": "this project's loop (qt_ui/loop.py)", "qasync": "baseline: qasync's own loop"}
TICK_MS = 5


def write_job(folder: Path) -> Path:
    """An edit job as the plug-in writes it: a photo-like layer with sensor noise and a centred selection."""
    folder.mkdir(parents=True)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    noise = np.random.default_rng(0).normal(0, 6, (HEIGHT, WIDTH, 3)).astype(np.float32)
    rgb = np.stack([x / WIDTH * 200 + 30, y / HEIGHT * 180 + 40, (x + y) / (WIDTH + HEIGHT) * 150 + 60], -1)
    layer = np.empty((HEIGHT, WIDTH, 4), np.uint8)
    layer[..., :3] = np.clip(rgb + noise, 0, 255)
    layer[..., 3] = 255
    (folder / "layer.rgba").write_bytes(layer.tobytes())
    selection = np.zeros((HEIGHT, WIDTH), np.uint8)
    selection[HEIGHT // 4 : 3 * HEIGHT // 4, WIDTH // 4 : 3 * WIDTH // 4] = 255
    (folder / "selection.gray").write_bytes(selection.tobytes())
    layer_info = {"name": "Background", "file": "layer.rgba", "width": WIDTH, "height": HEIGHT}
    job = {
        "version": 1,
        "command": "edit",
        "interactive": True,
        "image": {"name": "photo.xcf", "width": WIDTH, "height": HEIGHT, "base_type": "rgb"},
        "layer": {**layer_info, "offset_x": 0, "offset_y": 0},
        "selection": {"file": "selection.gray"},
        "references": [],
        "params": {"prompt": "", "n": 1, "model": "", "size": "", "quality": "", "base_url": ""},
    }
    (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
    return folder


def waiting_callbacks(loop: asyncio.AbstractEventLoop) -> int:
    if isinstance(loop, EventLoop):
        return loop.pending_callbacks
    return len(loop._timer._SimpleTimer__callbacks)  # type: ignore[attr-defined]  # qasync's own timers


async def session(base_url: str, runs: int, home: Path) -> list[tuple[float, float, int]]:
    job = write_job(home / "job")
    dialog = GptImageDialog(
        source_from_job(job),
        JobFolderTarget(job),
        SettingsStore(home / "config"),
        HistoryStore(home / "history"),
        backend=local_backend(base_url),
    )
    dialog.show()
    dialog.prompt_view.edit.setPlainText("remove the square")
    dialog.model.n = 2
    dialog.model.partial_images = 2
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    ticker = QTimer()
    ticker.timeout.connect(tick)
    ticker.start(TICK_MS)
    figures = []
    for i in range(runs):
        gaps.clear()
        start = time.perf_counter()
        dialog.run()
        while dialog.model.state == "running":
            await asyncio.sleep(0.02)
        if dialog.model.state != "done":
            raise SystemExit(f"run {i + 1} ended {dialog.model.state}: {dialog.model.error}")
        wall = time.perf_counter() - start
        await asyncio.sleep(0.3)  # the results' last steps settle
        figures.append((wall, max(gaps) * 1000, waiting_callbacks(loop)))
    ticker.stop()
    dialog.close()  # then what the worker does when its dialog closes (qt_ui/app.py)
    await dialog.controller.wait()
    await dialog.controller.aclose()
    await BACKGROUND.wait()
    return figures


def summary(name: str, figures: list[tuple[float, float, int]]) -> str:
    five = max(1, min(5, len(figures) // 3))
    first = statistics.median(f[0] for f in figures[:five])
    last = statistics.median(f[0] for f in figures[-five:])
    gap_first = statistics.median(f[1] for f in figures[:five])
    gap_last = statistics.median(f[1] for f in figures[-five:])
    return (
        f"| {name} | {first:.2f} s | {last:.2f} s | {last / first:.2f} x | {gap_first:.0f} ms | {gap_last:.0f} ms "
        f"| {figures[0][2]:,} | {figures[-1][2]:,} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "dialog_session.md")
    parser.add_argument("--loop", choices=LOOPS, help=argparse.SUPPRESS)  # one session, in this process
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:  # each loop gets a fresh process, as each dialog has
        app = QApplication(sys.argv[:1])
        app.setQuitOnLastWindowClosed(False)
        loop = EventLoop(app) if args.loop == "ours" else qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with tempfile.TemporaryDirectory() as tmp, loop:
            figures = loop.run_until_complete(session(args.base_url, args.runs, Path(tmp)))
            loop.run_until_complete(loop.shutdown_asyncgens())
        print("FIGURES", json.dumps(figures), flush=True)
        return 0
    started = time.monotonic()
    rows = []
    with ServerProcess(latency=1.0) as server:
        for key, name in LOOPS.items():
            argv = [sys.executable, __file__, "--loop", key, "--runs", str(args.runs), "--base-url", server.base_url]
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            found = [line for line in done.stdout.splitlines() if line.startswith("FIGURES ")]
            rows.append(summary(name, [tuple(f) for f in json.loads(found[-1].removeprefix("FIGURES "))]))
    five = max(1, min(5, args.runs // 3))
    lines = [
        "# A dialog left open for a working session",
        "",
        "Reproduce: `QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_dialog_session.py` (writes this file;"
        " method in its docstring).",
        "",
        f"{args.runs} streamed runs one after another in one open dialog (n = 2, 2 partial images, a "
        f"{WIDTH} x {HEIGHT} layer, local server in a child process with 1 s latency). Median of the first and of "
        f"the last {five} runs.",
        "",
        "| loop | run time, first runs | run time, last runs | last / first | longest GUI stall, first | "
        "longest GUI stall, last | callbacks waiting after run 1 | after the last run |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Target: no slowing down over a session (last / first near 1, nothing piling up on the loop).",
        "",
        "## Machine",
        "",
        f"- CPU: {cpu_name()} ({os.cpu_count()} logical CPUs), RAM {ram_gib():.1f} GiB",
        f"- load average at the end (1, 5, 15 min): {load_average()}",
        f"- Python {sys.version.split()[0]}, qasync {metadata.version('qasync')}",
        f"- date (UTC): {datetime.now(UTC):%Y-%m-%d %H:%M}; this benchmark's run time: "
        f"{time.monotonic() - started:.0f} s",
    ]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
