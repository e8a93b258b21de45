"""Benchmark of the local server's engine warm-up: the first masked edit of a fresh server, with and without it.

Run from the project root:  .venv/bin/python bench/bench_warmup.py [--rounds N]   (about 1 minute per round)
Writes bench/results/warmup.md (table + machine description).

A session's first MI-GAN run costs seconds whatever the size (onnxruntime prepares its kernels); a server
warms its engine up in the background once it is ready (gimp_gptimage/server/warmup.py). Each figure is the
median over N rounds, each round a fresh server child process (the same LocalServer code as the product),
over real HTTP, with the 1024 x 1024 edit of bench/bench_removal.py (a 300 x 260 hole):
- baseline, in the same run: a server whose engine does not warm up (the MI-GAN engine with the warm-up
  left out), first edit at once when ready, then a second edit;
- with the warm-up, first edit sent at once when ready (it meets the warm-up still running: the worst case);
- with the warm-up, first edit sent once /healthz reports the engine warmed (a person who takes a few
  seconds to choose a selection and type a prompt), and how long after readiness that was.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_removal import edit_request  # noqa: E402
from bench.machine import cpu_name, git_commit, load_average, ram_gib  # noqa: E402
from gimp_gptimage.server import LocalServer, MiganEngine  # noqa: E402
from gimp_gptimage.server.engine_protocol import Stop  # noqa: E402
from gimp_gptimage.server.migan_session import shared_session  # noqa: E402

BANNER_PREFIX = "bench server listening on "
WAIT = 300.0


class NoWarmUp(MiganEngine):
    """The baseline: the MI-GAN engine as it was before the warm-up."""

    def warm_up(self, stop: Stop) -> None:
        pass


def serve_child(kind: str) -> None:
    """Child mode: a local server with the MI-GAN engine, warming up or not; serves until stdin closes."""
    engine = MiganEngine(shared_session()) if kind == "warm" else NoWarmUp(shared_session())
    with LocalServer(engine=engine) as server:
        print(BANNER_PREFIX + server.base_url, flush=True)
        sys.stdin.read()


def one_server(kind: str, *, wait_warm: bool) -> dict[str, float]:
    """One fresh server: seconds to readiness, to warmed (if waited for), and of its first and second edit."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-child", kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().removeprefix(BANNER_PREFIX).strip()
        figures = {"ready_s": time.perf_counter() - start}
        request = edit_request()
        with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer bench"}, timeout=WAIT) as client:
            if wait_warm:
                ready = time.perf_counter()
                while not client.get(base_url.removesuffix("/v1") + "/healthz").json()["warmed"]:
                    time.sleep(0.05)
                figures["warmed_after_s"] = time.perf_counter() - ready
            for name in ("first_s", "second_s"):
                sent = time.perf_counter()
                client.post("/images/edits", **request).raise_for_status()
                figures[name] = time.perf_counter() - sent
        return figures
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)


def median(runs: list[dict[str, float]], key: str) -> str:
    return f"{statistics.median(r[key] for r in runs):.2f} s"


def row(name: str, runs: list[dict[str, float]]) -> str:
    return f"| {name} | {median(runs, 'ready_s')} | {median(runs, 'first_s')} | {median(runs, 'second_s')} |"


def main(rounds: int) -> None:
    load_start, started = load_average(), datetime.now(UTC)
    scenarios = {"baseline": ("cold", False), "at once": ("warm", False), "once warmed": ("warm", True)}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
    for _ in range(rounds):  # interleaved, so a change of load touches every scenario alike
        for name, (kind, wait_warm) in scenarios.items():
            runs[name].append(one_server(kind, wait_warm=wait_warm))
    load_end = load_average()
    base, now, later = runs["baseline"], runs["at once"], runs["once warmed"]
    text = f"""# Local server: engine warm-up

Reproduce: `.venv/bin/python bench/bench_warmup.py` (from the project root; writes this file). Method: the
docstring of bench/bench_warmup.py. Median of {rounds} fresh servers per row; a 1024 x 1024 masked edit over HTTP.

| server | ready after start | first edit | second edit |
|---|---|---|---|
{row("no warm-up (baseline)", base)}
{row("warm-up, first edit at once when ready", now)}
{row("warm-up, first edit once warmed", later)}

With the warm-up the engine reported itself warmed {median(later, "warmed_after_s")} after the server was ready
(median). A first edit sent at once waits for the warm-up's run, then runs warm. The machine is shared with
other jobs: the load average below inflates every figure alike.

## Machine

- CPU: {cpu_name()}
- cores: {os.cpu_count()}
- RAM: {ram_gib():.1f} GiB
- load average (1/5/15 min) at start: {load_start}; at end: {load_end}
- OS: {platform.platform()}
- Python: {platform.python_version()}; onnxruntime: {__import__("onnxruntime").__version__}
- commit: {git_commit()}
- date (UTC): {started:%Y-%m-%d %H:%M}
"""
    (ROOT / "bench" / "results" / "warmup.md").write_text(text)
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--serve-child", choices=["warm", "cold"], help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3, help="fresh servers per scenario (default: 3)")
    args = parser.parse_args()
    if args.serve_child:
        serve_child(args.serve_child)
    else:
        main(args.rounds)
