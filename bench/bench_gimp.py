"""In-GIMP overhead of an edit on a 6000 x 4000 image with a small selection, in real GIMP 3.0.4.

Reproduce (as root, after `bash .ci/gimp-root.sh`): `.venv/bin/python bench/bench_gimp.py` from the project
root; writes bench/results/gimp.md.

Measured in one GIMP launch, medians of RUNS:
- total: procedure start to result layer inserted; real worker (the root's venv) and the local server at
  zero latency over real HTTP;
- GIMP side: the same call with a stand-in worker that answers at once with a result of the same size
  (tests/gimp_fake_worker.py "echo"): export through GEGL of the window around the selection, job folder,
  worker start, polling, layer + mask;
- baseline: a whole-layer export, i.e. GEGL reads of the entire layer and selection alone, in the batch
  process (what a plug-in exporting the full layer pays before anything else; warm, so a lower bound).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tests"))
sys.path.insert(0, str(PROJECT))

import gimp_fake_worker  # noqa: E402
from gimp_harness import VENV_PYTHON, new_session, prepare_root, read_report  # noqa: E402

from bench.machine import cpu_name, load_average, ram_gib  # noqa: E402
from gimp_gptimage.server import LocalServer  # noqa: E402

RUNS = 3
WIDTH, HEIGHT = 6000, 4000
SELECTION = (2800, 1850, 400, 300)  # x, y, w, h of the feathered ellipse
TARGET_S = 3.0
PHOTO = PROJECT / "resources" / "coffee.png"
RESULT = PROJECT / "bench" / "results" / "gimp.md"

BATCH = r"""
import statistics
EDIT = "python-fu-gptimage-edit"
CONFIG = os.path.join(os.environ["GIMP3_DIRECTORY"], "plug-ins", "gptimage", "gptimage_python.json")


def use_worker(python):
    with open(CONFIG, "w") as f:
        json.dump({"python": python}, f)


@scenario
def bench():
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(PHOTO))
    image.scale(WIDTH, HEIGHT)
    layer = image.get_layers()[0]
    x, y, w, h = SELECTION
    image.select_ellipse(Gimp.ChannelOps.REPLACE, x, y, w, h)
    Gimp.Selection.feather(image, 20)
    out = {"baseline": [], "total": [], "gimp_side": [], "geometry": None}
    for _ in range(RUNS):
        start = time.perf_counter()
        layer.get_buffer().get(rect(WIDTH, HEIGHT), 1.0, "R'G'B'A u8", Gegl.AbyssPolicy.NONE)
        image.get_selection().get_buffer().get(rect(WIDTH, HEIGHT), 1.0, "Y u8", Gegl.AbyssPolicy.NONE)
        out["baseline"].append(time.perf_counter() - start)
    use_worker(VENV_PYTHON)
    for _ in range(RUNS):
        result = call(EDIT, image, [layer], prompt="a small red bird", n=1, base_url=BASE_URL)
        if result["status"] != "success":
            raise RuntimeError(result["error"])
        top = image.get_layers()[0]
        _, ox, oy = top.get_offsets()
        out["geometry"] = [ox, oy, top.get_width(), top.get_height()]
        out["total"].append(result["seconds"])
        image.remove_layer(top)
    use_worker(FAKE)
    gx, gy, gw, gh = out["geometry"]
    for _ in range(RUNS):
        result = call(EDIT, image, [layer], prompt="echo:%d,%d,%d,%d" % (gx, gy, gw, gh), n=1)
        if result["status"] != "success":
            raise RuntimeError(result["error"])
        out["gimp_side"].append(result["seconds"])
        image.remove_layer(image.get_layers()[0])
    return out
"""


def machine() -> list[str]:
    return [
        f"- CPU: {cpu_name()}",
        f"- cores: {os.cpu_count()}",
        f"- RAM: {ram_gib():.1f} GiB",
        f"- load average at start (1/5/15 min): {load_average()}",
        f"- host OS: {platform.platform()}; GIMP 3.0.4 in a Debian trixie root (chroot), worker Python 3.13",
        f"- date (UTC): {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}",
    ]


def main() -> int:
    root = prepare_root("3.0")  # the figures below describe GIMP 3.0
    described = machine()
    session = new_session(root)
    try:
        shutil.copyfile(PHOTO, session.host_dir / PHOTO.name)
        gimp_fake_worker.copy_to(session.host_dir, "/usr/bin/python3")  # switched to by the script (FAKE)
        installed = session.install_plugin()
        if installed.returncode != 0:
            raise SystemExit(installed.stderr)
        with LocalServer(latency=0.0) as server:
            prelude = "\n".join(
                [
                    f"PHOTO = {session.inner_dir + '/' + PHOTO.name!r}",
                    f"BASE_URL = {server.base_url!r}",
                    f"VENV_PYTHON = {VENV_PYTHON!r}",
                    f"FAKE = {session.inner_dir + '/fake-python'!r}",
                    f"RUNS, WIDTH, HEIGHT, SELECTION = {RUNS}, {WIDTH}, {HEIGHT}, {SELECTION!r}",
                    "",
                ]
            )
            env = {"GPTIMAGE_API_KEY": "local-bench-key", "GPTIMAGE_FAKE_OUT": f"{session.inner_dir}/out"}
            proc = session.run_batch(prelude + BATCH, env, timeout=900)
        report = read_report(session.host_dir / "out" / "report.json", proc)["bench"]
    finally:
        session.remove()
    if "exception" in report:
        raise SystemExit(report["exception"])
    write_report(report, described)
    print(RESULT.read_text())
    return 0


def write_report(r: dict, described: list[str]) -> None:
    total = statistics.median(r["total"])
    gimp_side = statistics.median(r["gimp_side"])
    baseline = statistics.median(r["baseline"])
    x, y, w, h = r["geometry"]
    verdict = "met" if total <= TARGET_S else "**missed**"
    fmt = ", ".join
    lines = [
        "# In-GIMP benchmark",
        "",
        "Reproduce (as root): `bash .ci/gimp-root.sh && .venv/bin/python bench/bench_gimp.py` (writes this file).",
        "",
        f"Image: {WIDTH} x {HEIGHT} RGB (resources/coffee.png scaled in GIMP), feathered elliptical selection "
        f"{SELECTION[2]} x {SELECTION[3]} at ({SELECTION[0]}, {SELECTION[1]}); result layer {w} x {h} at ({x}, {y}) "
        f"with mask. Local server at zero latency on 127.0.0.1, real HTTP. Medians of {RUNS} runs in one GIMP launch.",
        "",
        "| measure | median | runs (s) | target |",
        "|---|---|---|---|",
        f"| total: procedure start → layer inserted (real worker + server) | {total:.2f} s | "
        f"{fmt(f'{v:.2f}' for v in r['total'])} | ≤ {TARGET_S:.0f} s: {verdict} |",
        f"| GIMP side: export + job folder + worker start + insert (instant stand-in worker) | {gimp_side:.2f} s "
        f"({gimp_side / total:.0%} of total) | {fmt(f'{v:.2f}' for v in r['gimp_side'])} | — |",
        f"| baseline: bare GEGL read of layer (96 MB RGBA) + selection | {baseline:.2f} s | "
        f"{fmt(f'{v:.2f}' for v in r['baseline'])} | — |",
        "",
        "The rest of the total (total − GIMP side) is the worker: pipeline, HTTP round trip to the offline engine, "
        "history write and paste-back (its Python start-up overlaps the export: the plug-in starts it first). "
        "A batch edit exports only a window around the selection that holds the automatic context "
        "(gptimage_ipc.context_window); the first version exported the whole 96 MB layer and measured 4.2 s "
        "total here, 1.9 s of it GIMP side.",
        "",
        "## Machine",
        "",
        *described,
        "",
    ]
    RESULT.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
