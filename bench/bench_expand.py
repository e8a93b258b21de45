"""Benchmark of Expand Canvas with a measurable seam: crop real photos, expand them back, compare with the truth.

Run from the project root:  .venv/bin/python bench/bench_expand.py
Writes bench/results/expand.md (table + machine description).

Each photo in resources/ is cropped (a band on the right; a frame on every side) and expanded back to its
own size through the whole product path: plan, pre-fill, requests over real HTTP to the local server's
offline engine (MI-GAN alone), colour match, assembly. Measured in the same run: two baselines that need no
model, edge replication (what a plain canvas enlarge plus smear gives) and the old pre-fill (OpenCV Telea),
and the MI-GAN pre-fill alone, window by window (the default) and in one run over the canvas.

Figures, on the new band only (the truth is the photo that was cropped away):
- coarse MAE: mean absolute error (0-255) after a Gaussian blur of sigma 4 px on both images: right colour
  and structure in the right place;
- texture: fine detail (luma minus its sigma-1.5 blur, differentiated along x and along y, the weaker of the
  two) in each band beside the picture relative to the picture strip next to it (corners left out): about 1
  when the band is as textured as the picture, near 0 for a blur or a smear (stripes across, nothing along);
- seam: mean absolute step across the seam line relative to the photo's own step there (truth): 1 is
  invisible, higher is a visible edge.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_name, git_commit, load_average, ram_gib  # noqa: E402
from gimp_gptimage.api.client import ImagesClient  # noqa: E402
from gimp_gptimage.api.params import ImageParams  # noqa: E402
from gimp_gptimage.api.providers import LOCAL  # noqa: E402
from gimp_gptimage.history import HistoryStore  # noqa: E402
from gimp_gptimage.jobs.expand import ExpandRequest, offline_painter, run_expand  # noqa: E402
from gimp_gptimage.pipeline import ContextOptions  # noqa: E402
from gimp_gptimage.pipeline.expand_fill import Fill, default_fill, opencv_fill, prefill_canvas  # noqa: E402
from gimp_gptimage.pipeline.expand_plan import CanvasPlan, plan_canvas, plan_requests  # noqa: E402
from gimp_gptimage.server import LocalServer, MiganEngine  # noqa: E402
from gimp_gptimage.server.migan_session import shared_session  # noqa: E402

PHOTOS = ("coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg")
SIGMA = 4.0
DETAIL_SIGMA = 1.5
RING_PX = 24
MID_SCALE = 2.5  # 1128x750: filled by MI-GAN in several windows
BIG = (6000, 4000)  # upscaled: large enough that the expansion is split into several requests
# name -> (left, top, right, bottom) share of the photo cropped away
CASES = {"right band 30%": (0.0, 0.0, 0.3, 0.0), "frame 12% each side": (0.12, 0.12, 0.12, 0.12)}


def luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def coarse_mae(out: np.ndarray, truth: np.ndarray, band: np.ndarray) -> float:
    a = cv2.GaussianBlur(out.astype(np.float32), (0, 0), SIGMA)
    b = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), SIGMA)
    return float(np.abs(a - b)[band].mean())


def texture_ratio(out: np.ndarray, plan: CanvasPlan) -> float:
    """Fine detail in each new band beside the picture relative to the picture strip next to it, taken along
    the axis where it is weaker: a smear (edge replication) has stripes across it and nothing along it, so it
    scores near 0 like a blur. Bands are weighted by their area; corners are left out (no single axis)."""
    d = luma(out) - cv2.GaussianBlur(luma(out), (0, 0), DETAIL_SIGMA)
    along_x, along_y = np.zeros_like(d), np.zeros_like(d)
    along_x[:, 1:] = np.abs(np.diff(d, axis=1))
    along_y[1:] = np.abs(np.diff(d, axis=0))

    def energy(rows: slice, cols: slice) -> float:
        return min(float(along_x[rows, cols].mean()), float(along_y[rows, cols].mean()))

    p, (left, top, right, bottom) = plan.picture, plan.sides
    rows, cols = slice(p.y, p.y + p.h), slice(p.x, p.x + p.w)
    sides = [
        (left, (rows, slice(2, p.x)), (rows, slice(p.x, p.x + RING_PX))),
        (right, (rows, slice(p.x + p.w, plan.width - 2)), (rows, slice(p.x + p.w - RING_PX, p.x + p.w))),
        (top, (slice(2, p.y), cols), (slice(p.y, p.y + RING_PX), cols)),
        (bottom, (slice(p.y + p.h, plan.height - 2), cols), (slice(p.y + p.h - RING_PX, p.y + p.h), cols)),
    ]
    ratios, weights = [], []
    for depth, band, ring in sides:
        if depth > 4:  # the outer 2 px are left out: the blur there sees the canvas border
            ratios.append(energy(*band) / max(energy(*ring), 1e-6))
            weights.append(depth)
    return float(np.average(ratios, weights=weights))


def seam_step(out: np.ndarray, truth: np.ndarray, plan: CanvasPlan) -> float:
    """Mean |step| across every seam line of the kept picture, relative to the truth's step there."""
    p = plan.picture
    left, top, right, bottom = plan.sides
    steps_out, steps_true = [], []
    y, x = luma(out), luma(truth)
    rows, cols = slice(p.y, p.y + p.h), slice(p.x, p.x + p.w)
    if left:
        steps_out.append(np.abs(y[rows, p.x] - y[rows, p.x - 1]))
        steps_true.append(np.abs(x[rows, p.x] - x[rows, p.x - 1]))
    if right:
        e = p.x + p.w
        steps_out.append(np.abs(y[rows, e] - y[rows, e - 1]))
        steps_true.append(np.abs(x[rows, e] - x[rows, e - 1]))
    if top:
        steps_out.append(np.abs(y[p.y, cols] - y[p.y - 1, cols]))
        steps_true.append(np.abs(x[p.y, cols] - x[p.y - 1, cols]))
    if bottom:
        e = p.y + p.h
        steps_out.append(np.abs(y[e, cols] - y[e - 1, cols]))
        steps_true.append(np.abs(x[e, cols] - x[e - 1, cols]))
    return float(np.concatenate(steps_out).mean() / max(np.concatenate(steps_true).mean(), 1e-6))


def crop_case(truth: np.ndarray, shares: tuple[float, ...]) -> tuple[np.ndarray, CanvasPlan]:
    h, w = truth.shape[:2]
    left, top, right, bottom = (round(s * d) for s, d in zip(shares, (w, h, w, h), strict=True))
    picture = np.ascontiguousarray(truth[top : h - bottom, left : w - right])
    rgba = np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)])
    return rgba, plan_canvas(picture.shape[1], picture.shape[0], sides=(left, top, right, bottom))


def replicate(picture: np.ndarray, plan: CanvasPlan) -> np.ndarray:
    left, top, right, bottom = plan.sides
    return cv2.copyMakeBorder(np.ascontiguousarray(picture[:, :, :3]), top, bottom, left, right, cv2.BORDER_REPLICATE)


async def offline_expand(
    server: LocalServer, picture: np.ndarray, plan: CanvasPlan, history: HistoryStore
) -> np.ndarray:
    request = ExpandRequest(picture, plan, ImageParams(prompt="continue the scene"), ContextOptions(blend_margin_px=0))
    provider = LOCAL.with_base_url(server.base_url)
    async with ImagesClient(base_url=server.base_url, api_key="bench-key", provider=provider) as client:
        (result,) = await run_expand(request, client, history)
    return result.placed.pixels[:, :, :3]


def prefill_with(fill: Fill) -> Callable[[np.ndarray, CanvasPlan], np.ndarray]:
    return lambda picture, plan: prefill_canvas(picture, plan, fill)[:, :, :3]


def timed(fn: Callable[[np.ndarray, CanvasPlan], np.ndarray], picture: np.ndarray, plan: CanvasPlan) -> tuple:
    start = time.perf_counter()
    out = fn(picture, plan)
    return out, time.perf_counter() - start


def cases():  # type: ignore[no-untyped-def]
    """Every photo with every crop; one upscaled past the MI-GAN pre-fill's one-run size (so it is filled
    window by window); then one large enough to be split into several requests."""
    for name in PHOTOS:
        truth = np.asarray(Image.open(ROOT / "resources" / name).convert("RGB"))
        for case, shares in CASES.items():
            yield name, case, truth, shares
    mid = np.asarray(Image.open(ROOT / "resources" / "chelsea.png").convert("RGB"))
    mid = cv2.resize(mid, None, fx=MID_SCALE, fy=MID_SCALE, interpolation=cv2.INTER_CUBIC)
    yield f"chelsea.png at {mid.shape[1]}x{mid.shape[0]}", "frame 12% each side", mid, CASES["frame 12% each side"]
    big = cv2.resize(
        np.asarray(Image.open(ROOT / "resources" / "coffee.png").convert("RGB")), BIG, interpolation=cv2.INTER_CUBIC
    )
    yield f"coffee.png at {BIG[0]}x{BIG[1]}", "frame 12% each side (tiled)", big, CASES["frame 12% each side"]


def main() -> None:
    load_start = load_average()
    rows: list[tuple[str, str, str, dict[str, float]]] = []
    summary: dict[str, dict[str, list[float]]] = {}
    migan = default_fill()
    painter = offline_painter()
    assert "MI-GAN" in painter, "the MI-GAN model is not usable here: run ./dev.sh to fetch it"
    migan_engine = MiganEngine(shared_session())

    def migan_one_run(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        return migan_engine.fill(rgb, np.where(hole, np.uint8(0), np.uint8(255)), seed=0, index=0)

    with LocalServer() as server:
        history = HistoryStore(Path(__import__("tempfile").mkdtemp(prefix="bench-expand-")))
        shown = Path(__import__("tempfile").mkdtemp(prefix="bench-expand-png-"))
        print(f"outputs in {shown}", flush=True)
        for name, case, truth, shares in cases():
            picture, plan = crop_case(truth, shares)
            band = np.ones(truth.shape[:2], bool)
            p = plan.picture
            band[p.y : p.y + p.h, p.x : p.x + p.w] = False
            engines: dict[str, Callable[[np.ndarray, CanvasPlan], np.ndarray]] = {
                "edge replication (baseline)": replicate,
                "pre-fill alone, OpenCV Telea (baseline)": prefill_with(opencv_fill),
                "pre-fill alone, MI-GAN in one run": prefill_with(migan_one_run),
                "pre-fill alone, MI-GAN window by window (default)": prefill_with(migan),
                f"full path, {painter}": lambda pic, pl: asyncio.run(offline_expand(server, pic, pl, history)),
            }
            for engine, fn in engines.items():
                out, seconds = timed(fn, picture, plan)
                if " at 6000" not in name:  # to look at (not committed)
                    stem = f"{Path(name).stem}-{case.split()[0]}-{engine.split(',')[-1].strip().split()[0]}"
                    Image.fromarray(out).save(shown / f"{stem}-{len(rows)}.png")
                assert np.array_equal(out[p.y : p.y + p.h, p.x : p.x + p.w], picture[:, :, :3])
                figures = {
                    "mae": coarse_mae(out, truth, band),
                    "texture": texture_ratio(out, plan),
                    "seam": seam_step(out, truth, plan),
                    "seconds": seconds,
                    "requests": float(len(plan_requests(plan, "gpt-image-2"))) if engine.startswith("full") else 0.0,
                }
                rows.append((name, case, engine, figures))
                for key, value in figures.items():
                    summary.setdefault(engine, {}).setdefault(key, []).append(value)
                print(name, case, engine, {k: round(v, 3) for k, v in figures.items()}, flush=True)
    write(rows, summary, load_start)


def write(rows, summary, load_start: str) -> None:  # type: ignore[no-untyped-def]
    lines = [
        "# Expand Canvas: crop a real photo, expand it back, compare the new band with the truth",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit {git_commit()}, "
        f"`.venv/bin/python bench/bench_expand.py`.",
        "",
        f"- machine: {cpu_name()}, {ram_gib():.1f} GiB RAM, {__import__('os').cpu_count()} logical CPUs (shared)",
        f"- load average (1/5/15 min): at start {load_start}, at end {load_average()}",
        f"- photos: {', '.join(PHOTOS)} (resources/); cases: {', '.join(CASES)}",
        f"- coarse MAE: 0-255 after Gaussian sigma {SIGMA:g} on both; texture: fine detail (luma minus "
        f"sigma-{DETAIL_SIGMA:g} blur, differentiated along x and y, the weaker axis) in each band beside "
        f"the picture / in the {RING_PX}-px strip of picture next to it, corners left out (1 = as textured as "
        "the picture, 0 = flat or smeared); seam: "
        "step across the seam line / the photo's own step there (1 = as in the photo; 0 = the edge pixels "
        "copied outward). The kept picture was checked bit-exact in every output.",
        "",
        "## Mean over all photos and cases",
        "",
        "| fill | coarse MAE | texture ratio | seam step | time per expansion |",
        "|---|---:|---:|---:|---:|",
    ]
    for engine, figures in summary.items():
        lines.append(
            f"| {engine} | {statistics.mean(figures['mae']):.1f} | {statistics.mean(figures['texture']):.2f} | "
            f"{statistics.mean(figures['seam']):.2f} | {statistics.mean(figures['seconds']) * 1000:.0f} ms |"
        )
    lines += ["", "## Every run", "", "| photo | case | fill | requests | coarse MAE | texture | seam | time |",
              "|---|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, case, engine, f in rows:
        sent = f"{f['requests']:.0f}" if f["requests"] else "–"
        lines.append(
            f"| {name} | {case} | {engine} | {sent} | {f['mae']:.1f} | {f['texture']:.2f} | {f['seam']:.2f} | "
            f"{f['seconds'] * 1000:.0f} ms |"
        )
    out = ROOT / "bench" / "results" / "expand.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
