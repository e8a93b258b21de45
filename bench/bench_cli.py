"""Benchmark of a CLI edit of a 6000 x 4000 photo against its floor, measured in the same run.

Run from the project root:  .venv/bin/python bench/bench_cli.py [--repeats N]
Writes bench/results/cli.md (table + machine description). About a minute on a quiet 2-core machine with the
default 3 repeats (--repeats 1: about 25 s); the table records how long the run took.

The CLI must read the photo and write the full-size result; nothing it does can be faster than decoding
that PNG and encoding one of the same size with OpenCV at zlib level 1 (the pipeline's fast PNG settings).
That floor is measured here, in this process, next to `gimp-gptimage edit` run as a user runs it (a fresh
process, the embedded offline server, a 600 x 400 selection). Target: the whole edit within 1.5 x the floor.
For reference the run also times what the CLI used to write with (Pillow's default PNG compression).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_name, load_average, ram_gib  # noqa: E402
from gimp_gptimage.image_files import load_rgba  # noqa: E402
from gimp_gptimage.pipeline.codec import encode_png  # noqa: E402

WIDTH, HEIGHT = 6000, 4000
NOISE_SIGMA = 3.0  # sensor-like noise: the file compresses like a photograph (as in bench_pipeline.py)
SELECTION = (2700, 1800, 600, 400)
REPEATS = 3
TARGET = 1.5
CLI = Path(sys.executable).with_name("gimp-gptimage")


def photo() -> np.ndarray:
    base = np.asarray(Image.open(ROOT / "resources" / "coffee.png").convert("RGB"))
    big = cv2.resize(base, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0, NOISE_SIGMA, big.shape).astype(np.float32)
    return np.clip(big + noise, 0, 255).astype(np.uint8)


def median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pillow_default_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def run_cli(folder: Path, home: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}
    env.pop("GPTIMAGE_API_KEY", None)
    env.pop("OPENAI_API_KEY", None)
    argv = [str(CLI), "edit", "photo.png", "--selection", "selection.png", "--prompt", "Remove the spoon"]
    proc = subprocess.run([*argv, "--out", "out"], cwd=folder, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the CLI failed: {proc.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description="CLI edit of a 6000 x 4000 photo against its floor.")
    parser.add_argument("--repeats", type=int, default=REPEATS, help=f"runs per timed row (default {REPEATS})")
    repeats = max(1, parser.parse_args().repeats)
    began = time.perf_counter()
    pixels = photo()
    with tempfile.TemporaryDirectory(prefix="gptimage-bench-cli-") as tmp:
        folder = Path(tmp)
        (folder / "photo.png").write_bytes(encode_png(pixels))
        sel = np.zeros((HEIGHT, WIDTH), np.uint8)
        x, y, w, h = SELECTION
        sel[y : y + h, x : x + w] = 255
        Image.fromarray(sel, "L").save(folder / "selection.png")
        input_mb = (folder / "photo.png").stat().st_size / 1e6

        print("floor: decode + fast encode ...", flush=True)
        t_decode = median_time(lambda: load_rgba(folder / "photo.png"), repeats)
        t_encode = median_time(lambda: encode_png(pixels), repeats)
        floor = t_decode + t_encode
        print("old encode: Pillow default PNG (once: a reference only) ...", flush=True)
        t_pillow = median_time(lambda: pillow_default_png(pixels), 1)
        print("gimp-gptimage edit ...", flush=True)
        run_cli(folder, folder / "home")  # warm the file cache and the byte-code cache once
        t_cli = median_time(lambda: run_cli(folder, folder / "home"), repeats)
        output_mb = (folder / "out" / "photo-1.png").stat().st_size / 1e6

    ratio = t_cli / floor
    rows = [
        ("decode the 6000 x 4000 input PNG (Pillow, as the CLI reads it)", f"{t_decode:.2f} s"),
        ("encode a 6000 x 4000 PNG, OpenCV zlib level 1 (the CLI's writer)", f"{t_encode:.2f} s"),
        ("**floor** = decode + encode", f"**{floor:.2f} s**"),
        ("`gimp-gptimage edit` end to end (fresh process, embedded offline server)", f"{t_cli:.2f} s"),
        ("**edit / floor**", f"**{ratio:.2f} x** (target ≤ {TARGET} x: {'met' if ratio <= TARGET else 'NOT met'})"),
        ("reference: the same PNG with Pillow's default compression (the CLI's old writer)", f"{t_pillow:.2f} s"),
    ]
    info = {
        "CPU": f"{cpu_name()} ({os.cpu_count()} logical CPUs)",
        "RAM": f"{ram_gib():.1f} GiB",
        "load average at the end (1, 5, 15 min)": load_average(),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "OpenCV": cv2.__version__,
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "this benchmark's own run time": f"{time.perf_counter() - began:.0f} s",
    }
    lines = [
        "# CLI edit benchmark",
        "",
        "Reproduce: `.venv/bin/python bench/bench_cli.py [--repeats N]` (from the project root; writes this file).",
        "",
        f"Photo: {WIDTH} x {HEIGHT} RGB, resources/coffee.png upscaled (bicubic) plus Gaussian noise "
        f"σ = {NOISE_SIGMA:g}, {input_mb:.1f} MB as PNG; the result written is {output_mb:.1f} MB. Selection "
        f"{SELECTION[2]} x {SELECTION[3]}. Times are medians of {repeats} runs (the Pillow reference: one), all in "
        "the same run of this script.",
        "",
        "| step | time |",
        "|---|---|",
        *(f"| {step} | {value} |" for step, value in rows),
        "",
        "The edit includes starting Python, importing the core, starting the embedded server, preparing the "
        "request, the offline engine's answer, paste-back, the full-layer composite and writing the PNG. A "
        "high load average (other jobs on the machine) inflates every row alike.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        "",
    ]
    out = ROOT / "bench" / "results" / "cli.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
