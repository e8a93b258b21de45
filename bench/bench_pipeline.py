"""Benchmark of the edit pipeline against a naive baseline, measured in the same run.

Run from the project root:  .venv/bin/python bench/bench_pipeline.py
Writes bench/results/pipeline.md (table + machine description).

Naive baseline (what simple plug-ins do): export the whole layer to PNG at Pillow's default compression,
decode it, scale it to a model size (1536x1024) and upload that PNG; paste-back decodes the result, scales
it back to the whole layer and composites it through the selection.
"""

from __future__ import annotations

import io
import json
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
import PIL
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_name, load_average, ram_gib  # noqa: E402
from gimp_gptimage.memory import return_large_buffers_on_free  # noqa: E402
from gimp_gptimage.pipeline import ContextOptions, paste_back, prepare_edit  # noqa: E402

LAYER_W, LAYER_H = 6000, 4000
NOISE_SIGMA = 3.0  # sensor-like noise so the layer compresses like a photograph, not a smooth upscale
SEL_BOX = (2700, 1800, 600, 400)  # x, y, w, h: the 600 x 400 selection
REPEATS = 5
BASELINE_REPEATS = 3
NAIVE_SIZE = (1536, 1024)
MB = 1_000_000


def photo_layer() -> np.ndarray:
    base = np.asarray(Image.open(ROOT / "resources" / "coffee.png").convert("RGB"))
    big = cv2.resize(base, (LAYER_W, LAYER_H), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0, NOISE_SIGMA, big.shape).astype(np.float32)
    rgb = np.clip(big + noise, 0, 255).astype(np.uint8)
    return np.dstack([rgb, np.full((LAYER_H, LAYER_W), 255, np.uint8)])


def selection(box: tuple[int, int, int, int]) -> np.ndarray:
    sel = np.zeros((LAYER_H, LAYER_W), np.uint8)
    x, y, w, h = box
    sel[y : y + h, x : x + w] = 255
    return sel


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")  # Pillow's default compression (level 6)
    return buffer.getvalue()


def naive_prepare(layer: np.ndarray) -> bytes:
    exported = png(Image.fromarray(layer, "RGBA"))
    scaled = Image.open(io.BytesIO(exported)).resize(NAIVE_SIZE, Image.Resampling.LANCZOS)
    return png(scaled)


def naive_paste(result_png: bytes, layer: np.ndarray, sel: np.ndarray) -> np.ndarray:
    result = Image.open(io.BytesIO(result_png)).convert("RGBA").resize((LAYER_W, LAYER_H), Image.Resampling.LANCZOS)
    out = Image.fromarray(layer, "RGBA")
    out.paste(result, (0, 0), Image.fromarray(sel, "L"))
    return np.asarray(out)


def machine() -> dict[str, str]:
    return {
        "CPU": cpu_name(),
        "cores": str(os.cpu_count()),
        "RAM": f"{ram_gib():.1f} GiB",
        "load average at start (1/5/15 min)": load_average(),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "Pillow": PIL.__version__,
        "OpenCV": cv2.__version__,
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    }


# --- peak memory, each case in a fresh process so the figure is its own ---------------------------

_CHILD = r"""
import json, sys

def vm_hwm_mb():
    # Peak RSS of this process image. (ru_maxrss would report the parent's peak: Linux keeps it across exec.)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

sys.path.insert(0, {root!r})
import numpy as np
from gimp_gptimage.memory import return_large_buffers_on_free
return_large_buffers_on_free()
case, layer_path, result_path = sys.argv[1:4]
layer = np.load(layer_path, mmap_mode="r")  # as the worker reads the plug-in's raw layer file
start = vm_hwm_mb()
if case == "ours":
    from gimp_gptimage.pipeline import paste_back, prepare_edit
    prep = prepare_edit(layer, None)
    out = paste_back(prep, open(result_path, "rb").read(), layer, None)
    full = out.composite(layer)
else:
    import io
    from PIL import Image
    sys.path.insert(0, {bench!r})
    from bench_pipeline import naive_prepare, naive_paste
    upload = naive_prepare(np.asarray(layer))
    full = naive_paste(open(result_path, "rb").read(), np.asarray(layer), np.full(layer.shape[:2], 255, np.uint8))
print(json.dumps({{"start_mb": start, "peak_mb": vm_hwm_mb()}}))
"""


def peak_rss(case: str, layer_path: Path, result_path: Path) -> dict[str, float]:
    code = _CHILD.format(root=str(ROOT), bench=str(Path(__file__).resolve().parent))
    done = subprocess.run(
        [sys.executable, "-c", code, case, str(layer_path), str(result_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> None:
    return_large_buffers_on_free()  # the allocator setting every job runs with (gimp_gptimage/memory.py)
    info = machine()
    print("building the 6000 x 4000 photo-like layer ...", flush=True)
    layer = photo_layer()
    sel = selection(SEL_BOX)
    rows: list[tuple[str, str, str, str, str]] = []

    print("naive baseline prepare (whole-layer PNG export) ...", flush=True)
    t_naive_prep, naive_upload = timed(lambda: naive_prepare(layer), BASELINE_REPEATS)
    naive_bytes = len(naive_upload)  # type: ignore[arg-type]

    print("ours: 600 x 400 selection ...", flush=True)
    t_small, prep_small = timed(lambda: prepare_edit(layer, sel), REPEATS)
    small_bytes = len(prep_small.image_png) + len(prep_small.mask_png)  # type: ignore[union-attr]
    ratio = t_small / t_naive_prep
    rows.append(
        (
            "(1) prepare, 600x400 selection",
            f"{t_small * 1000:.0f} ms, {small_bytes / MB:.2f} MB upload "
            f"(region {prep_small.region.w}x{prep_small.region.h} → {prep_small.size_str})",  # type: ignore[union-attr]
            f"{t_naive_prep * 1000:.0f} ms, {naive_bytes / MB:.2f} MB upload",
            f"{ratio:.2%} of baseline time",
            f"≤ 2% and ≤ 2.5 MB: {verdict(ratio <= 0.02 and small_bytes <= 2.5 * MB)}",
        )
    )

    print("ours: whole canvas ...", flush=True)
    t_whole, prep_whole = timed(lambda: prepare_edit(layer, None), REPEATS)
    whole_bytes = len(prep_whole.image_png) + len(prep_whole.mask_png)  # type: ignore[union-attr]
    ratio = t_whole / t_naive_prep
    rows.append(
        (
            "(2) prepare, whole canvas",
            f"{t_whole * 1000:.0f} ms, {whole_bytes / MB:.2f} MB upload ({prep_whole.size_str})",  # type: ignore[union-attr]
            f"{t_naive_prep * 1000:.0f} ms, {naive_bytes / MB:.2f} MB upload",
            f"{ratio:.2%} of baseline time",
            f"≤ 15%: {verdict(ratio <= 0.15)}",
        )
    )

    # (3a) a 1024 x 1024 result into a 1200 x 900 region (450 x 150 selection + 375 px context).
    sel_a = selection((2775, 1875, 450, 150))
    opts_a = ContextOptions(mode="padding", padding_px=375)
    prep_a = prepare_edit(layer, sel_a, size="1024x1024", options=opts_a)
    assert (prep_a.region.w, prep_a.region.h) == (1200, 900), prep_a.region
    result_a = prep_a.image_png  # a 1024 x 1024 photo-like result
    t_paste_a, _ = timed(lambda: paste_back(prep_a, result_a, layer, sel_a), REPEATS)
    t_paste_a_comp, _ = timed(lambda: paste_back(prep_a, result_a, layer, sel_a).composite(layer), REPEATS)
    t_naive_a, _ = timed(lambda: naive_paste(result_a, layer, sel_a), BASELINE_REPEATS)
    rows.append(
        (
            "(3a) paste-back, 1024² result → 1200x900 region",
            f"{t_paste_a * 1000:.0f} ms (plug-in path); {t_paste_a_comp * 1000:.0f} ms with full-layer composite",
            f"{t_naive_a * 1000:.0f} ms",
            f"{t_paste_a / t_naive_a:.1%} / {t_paste_a_comp / t_naive_a:.1%}",
            "no target",
        )
    )

    # (3b) a 3520 x 2352 result into the whole canvas.
    result_b = cv2.imencode(
        ".png",
        cv2.resize(layer[:, :, 2::-1], (3520, 2352), interpolation=cv2.INTER_AREA),
        [cv2.IMWRITE_PNG_COMPRESSION, 1],
    )[1].tobytes()
    t_paste_b, _ = timed(lambda: paste_back(prep_whole, result_b, layer, None), REPEATS)  # type: ignore[arg-type]
    t_paste_b_comp, _ = timed(lambda: paste_back(prep_whole, result_b, layer, None).composite(layer), REPEATS)  # type: ignore[arg-type]
    full_sel = np.full((LAYER_H, LAYER_W), 255, np.uint8)
    t_naive_b, _ = timed(lambda: naive_paste(result_b, layer, full_sel), BASELINE_REPEATS)
    rows.append(
        (
            "(3b) paste-back, 3520x2352 result → whole canvas",
            f"{t_paste_b * 1000:.0f} ms (plug-in path); {t_paste_b_comp * 1000:.0f} ms with full-layer composite",
            f"{t_naive_b * 1000:.0f} ms",
            f"{t_paste_b / t_naive_b:.1%} / {t_paste_b_comp / t_naive_b:.1%}",
            "no target",
        )
    )

    print("peak memory in fresh processes ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        layer_path = Path(tmp) / "layer.npy"
        result_path = Path(tmp) / "result.png"
        np.save(layer_path, layer)
        result_path.write_bytes(result_b)
        ours = peak_rss("ours", layer_path, result_path)
        naive = peak_rss("naive", layer_path, result_path)
    rows.append(
        (
            "(4) peak RSS, whole canvas: prepare + paste-back (3520x2352) + composite",
            f"{ours['peak_mb']:.0f} MB (process before the pipeline runs: {ours['start_mb']:.0f} MB)",
            f"{naive['peak_mb']:.0f} MB",
            f"{ours['peak_mb'] / naive['peak_mb']:.0%}",
            f"≤ 700 MB: {verdict(ours['peak_mb'] <= 700)}",
        )
    )

    write_report(info, rows, layer)


def write_report(info: dict[str, str], rows: list[tuple[str, str, str, str, str]], layer: np.ndarray) -> None:
    whole_png = len(png(Image.fromarray(layer, "RGBA")))
    lines = [
        "# Edit pipeline benchmark",
        "",
        "Reproduce: `.venv/bin/python bench/bench_pipeline.py` (from the project root; writes this file).",
        "",
        f"Layer: {LAYER_W} x {LAYER_H} RGBA, resources/coffee.png upscaled (bicubic) plus Gaussian noise "
        f"σ = {NOISE_SIGMA:g}; as a whole-layer PNG it takes {whole_png / MB:.1f} MB "
        f"({whole_png / (LAYER_W * LAYER_H):.2f} bytes/pixel, photo-like). Times are medians of {REPEATS} runs "
        f"(baseline: {BASELINE_REPEATS}); peak RSS is VmHWM of a fresh process that memory-maps the layer "
        "file as the worker does. Both sides run with the allocator setting every job uses "
        "(gimp_gptimage/memory.py: buffers from 1 MiB up get pages of their own, returned when freed).",
        "",
        "| case | ours | naive baseline | ours / baseline | target |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
        "Naive baseline: export the whole layer to PNG (Pillow default compression), decode, scale to 1536x1024 "
        "(Lanczos), upload that PNG; paste-back decodes the result, scales it to the whole layer and composites "
        "it through the selection. Ours: crop the context region (a view), scale it with OpenCV, PNG with zlib "
        "level 1, RLE strategy and the average filter; paste-back works on the region only. High load averages "
        "(other jobs on the machine) inflate both columns alike.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        "",
    ]
    out = Path(__file__).resolve().parent / "results" / "pipeline.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
