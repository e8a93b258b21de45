"""Bad input of every kind, through the pipeline, the job runner, the job folder worker and the CLI: a clear
message (exit status 2 on the command line, nothing sent, no history entry) or correct handling; never a
crash or a traceback. The 20,000 x 20,000 layer is checked for memory in a real worker process."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from faults_helpers import KEY, RecordedServer, edit_request, one_line_error, params_for, run_cli, run_job
from jobs_samples import COFFEE, SPOON, placed_result
from PIL import Image

from gimp_gptimage.api.errors import ValidationError, explain
from gimp_gptimage.pipeline import ContextOptions, paste_back, prepare_edit
from gimp_gptimage.pipeline.errors import PipelineInputError

pytest_plugins = ["conftest_faults"]

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "gimp_gptimage" / "plugin" / "gptimage"
sys.path.insert(0, str(PLUGIN_DIR))
import gptimage_ipc as ipc  # noqa: E402

EDIT = ["edit", COFFEE.name, "--selection", SPOON.name]


def history_entries(home: Path) -> list[Path]:
    root = home / "data" / "gimp-gptimage" / "history"
    return sorted(root.iterdir()) if root.is_dir() else []


# -- parameters: refused before anything is sent -------------------------------------------------------------


PARAM_CASES = [
    pytest.param(["--prompt", ""], ["Invalid parameters", "prompt", "Nothing was sent"], id="empty-prompt"),
    pytest.param(["--prompt", "   \n "], ["prompt"], id="blank-prompt"),
    pytest.param(["--prompt", "x" * 32_001], ["string too long", "32000", "32001"], id="prompt-32001"),
    pytest.param(["--prompt", "x", "-n", "0"], ["'n'", "0"], id="n0"),
    pytest.param(["--prompt", "x", "-n", "11"], ["'n'", "11"], id="n11"),
    pytest.param(["--prompt", "x", "--size", "1000x1000"], ["1000x1000", "divisible by 16"], id="size-1000"),
    pytest.param(["--prompt", "x", "--model", "gpt-image-1.5", "--size", "1000x1000"], ["1024x1024"], id="size-fixed"),
    pytest.param(["--prompt", "x", "-n", "many"], ["'many' is not a whole number"], id="n-text"),
]


@pytest.mark.parametrize(("args", "needles"), PARAM_CASES)
def test_cli_bad_parameters(api: RecordedServer, home: Path, args: list[str], needles: list[str]) -> None:
    proc = run_cli(*EDIT, *args, "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=KEY)
    line = one_line_error(proc, 2)
    for needle in needles:
        assert needle.lower() in line.lower(), line
    assert len(line) < 400  # one readable line, not the 32,001 characters echoed back
    assert api.image_requests() == 0 and history_entries(home) == []
    assert not (home / "out").exists()


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 32_001}, "32000"),
        ({"n": 0}, "'n'"),
        ({"n": 11}, "'n'"),
        ({"size": "1000x1000"}, "divisible by 16"),
        ({"quality": "standard"}, "standard"),
        ({"partial_images": 2}, "stream"),
    ],
)
def test_runner_bad_parameters(api: RecordedServer, tmp_path: Path, changes: dict, needle: str) -> None:
    outcome = run_job(api.base_url, "edit", tmp_path, params=params_for("edit", **changes))
    assert isinstance(outcome.error, ValidationError)
    line = outcome.line
    assert line.startswith("Invalid parameters") and needle in line and "Nothing was sent" in line
    assert api.image_requests() == 0 and outcome.entries == []


def test_seventeen_images_are_refused(api: RecordedServer, home: Path, tmp_path: Path) -> None:
    refs = []
    for i in range(16):  # 16 references + the image itself = 17
        path = home / f"ref-{i}.png"
        Image.new("RGB", (32, 32), (i * 10, 0, 0)).save(path)
        refs += ["--ref", path.name]
    proc = run_cli(*EDIT, "--prompt", "x", *refs, "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=KEY)
    line = one_line_error(proc, 2)
    assert "16" in line and "17" in line
    outcome = run_job(
        api.base_url,
        "edit",
        tmp_path,
        request=edit_request(params_for("edit"), references=[np.zeros((8, 8, 4), np.uint8)] * 16),
    )
    assert isinstance(outcome.error, ValidationError) and "17" in outcome.line
    assert api.image_requests() == 0


# -- files that are not what they claim ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "flag", "needles"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR garbage after the header", "--ref", ["reference image", "not an image"]),
        (b"%PDF-1.7 this is a PDF, not a picture", "--ref", ["reference image", "not an image"]),
        (b"", "--ref", ["reference image", "not an image"]),
        (b"GIF89a not really", "image", ["not an image"]),
        (b"just text", "--selection", ["selection", "not an image"]),
    ],
    ids=["corrupt-ref", "pdf-ref", "empty-ref", "corrupt-image", "text-selection"],
)
def test_cli_unreadable_files(api: RecordedServer, home: Path, content: bytes, flag: str, needles: list[str]) -> None:
    (home / "bad.png").write_bytes(content)
    if flag == "image":
        args = ["edit", "bad.png", "--prompt", "x"]
    elif flag == "--selection":
        args = ["edit", COFFEE.name, "--selection", "bad.png", "--prompt", "x"]
    else:
        args = [*EDIT, "--prompt", "x", "--ref", "bad.png"]
    proc = run_cli(*args, "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=KEY)
    line = one_line_error(proc, 2)
    for needle in needles:
        assert needle.lower() in line.lower(), line
    assert "bad.png" in line and "Pillow" not in line  # a person's words, not a library's name
    if "not an image" in line:
        assert "save it as PNG, JPEG or WebP" in line  # and what to do about it
    assert api.image_requests() == 0 and history_entries(home) == []


def test_cli_selection_of_another_size(api: RecordedServer, home: Path) -> None:
    Image.new("L", (100, 80), 255).save(home / "small.png")
    proc = run_cli("edit", COFFEE.name, "--selection", "small.png", "--prompt", "x", home=home, GPTIMAGE_API_KEY=KEY)
    line = one_line_error(proc, 2)
    assert "100x80" in line and "600x400" in line


def test_cli_huge_image_file_is_refused_clearly(api: RecordedServer, home: Path) -> None:
    """A 20,000 x 20,000 PNG (decoded it would take 1.6 GB): refused before decoding, with a reason."""
    from gimp_gptimage.server.imaging import decompression_bomb_png

    (home / "huge.png").write_bytes(decompression_bomb_png(20_000, 20_000))
    proc = run_cli("edit", "huge.png", "--prompt", "x", "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=KEY)
    line = one_line_error(proc, 2)
    assert "huge.png" in line and "too large" in line and "scale it down or crop it" in line
    assert api.image_requests() == 0


# -- unusual but valid input: handled correctly ---------------------------------------------------------------


def test_empty_selection_means_the_whole_layer(api: RecordedServer, home: Path, tmp_path: Path) -> None:
    Image.new("L", (600, 400), 0).save(home / "none.png")
    proc = run_cli(
        "edit", COFFEE.name, "--selection", "none.png", "--prompt", "warmer light", "--base-url", api.base_url,
        home=home, GPTIMAGE_API_KEY=KEY,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with Image.open(home / "out" / "coffee-1.png") as written:
        changed = np.asarray(written.convert("RGB")) != np.asarray(Image.open(COFFEE).convert("RGB"))
    assert changed.any(axis=2).mean() > 0.5  # the whole layer was edited, not nothing
    outcome = run_job(
        api.base_url,
        "edit",
        tmp_path,
        request=edit_request(params_for("edit"), selection=np.zeros((400, 600), np.uint8)),
    )
    (result,) = outcome.results
    assert outcome.entry.record.region == (0, 0, 600, 400)
    placed = result.placed
    assert placed.pixels.shape == (400, 600, 4) and placed.offset == (0, 0)
    assert placed.alpha is not None and int(placed.alpha.min()) == 255


def test_selection_of_another_shape_is_refused(api: RecordedServer, tmp_path: Path) -> None:
    """A selection that does not match the layer (e.g. made for another layer) is named, not guessed."""
    outcome = run_job(
        api.base_url, "edit", tmp_path, request=edit_request(params_for("edit"), selection=np.ones((10, 10), np.uint8))
    )
    assert isinstance(outcome.error, ValidationError)
    assert "selection" in outcome.line and "600x400" in outcome.line
    assert api.image_requests() == 0


@pytest.mark.parametrize("selected", [None, 255, 0], ids=["no-selection", "selected", "empty-selection"])
def test_one_pixel_layer(api: RecordedServer, tmp_path: Path, selected: int | None) -> None:
    layer = np.full((1, 1, 4), (10, 20, 30, 255), np.uint8)
    selection = None if selected is None else np.full((1, 1), selected, np.uint8)
    outcome = run_job(
        api.base_url,
        "edit",
        tmp_path,
        request=edit_request(params_for("edit"), layer=layer, selection=selection, layer_offset=(7, 9)),
    )
    assert outcome.error is None, outcome.line
    (result,) = outcome.results
    assert result.placed.pixels.shape == (1, 1, 4) and result.placed.offset == (7, 9)
    assert api.image_requests() == 1


def test_one_pixel_image_on_the_command_line(api: RecordedServer, home: Path) -> None:
    Image.new("RGB", (1, 1), (9, 8, 7)).save(home / "dot.png")
    proc = run_cli(
        "edit", "dot.png", "--prompt", "a red dot", "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=KEY
    )
    assert proc.returncode == 0, proc.stderr
    with Image.open(home / "out" / "dot-1.png") as written:
        assert written.size == (1, 1)


def test_indexed_png_is_edited_and_unselected_pixels_kept(api: RecordedServer, home: Path) -> None:
    palette = Image.open(COFFEE).convert("RGB").quantize(64)
    assert palette.mode == "P"
    palette.save(home / "indexed.png")
    proc = run_cli(
        "edit", "indexed.png", "--selection", SPOON.name, "--prompt", "Remove the spoon", "--base-url", api.base_url,
        home=home, GPTIMAGE_API_KEY=KEY,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    before = np.asarray(palette.convert("RGBA"))
    with Image.open(home / "out" / "indexed-1.png") as written:
        after = np.asarray(written.convert("RGBA"))
    selection = np.asarray(Image.open(SPOON))
    assert after.shape == before.shape
    assert np.array_equal(after[selection == 0], before[selection == 0])
    assert not np.array_equal(after[selection == 255], before[selection == 255])


def test_chinese_prompt_end_to_end(api: RecordedServer, home: Path) -> None:
    prompt = "去掉勺子，保持咖啡杯不变"
    proc = run_cli(*EDIT, "--prompt", prompt, "--json", "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=KEY)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True and len(summary["results"]) == 1
    (entry,) = history_entries(home)
    record = json.loads((entry / "record.json").read_text(encoding="utf-8"))
    assert record["prompt"] == prompt
    assert record["revised_prompts"] and prompt in record["revised_prompts"][0]  # the server got it intact
    shown = run_cli("history", "show", entry.name, home=home)
    assert shown.returncode == 0 and prompt in shown.stdout


def test_pipeline_names_what_is_wrong_with_a_layer() -> None:
    for layer, needle in [
        (np.zeros((4, 4, 3), np.uint8), "RGBA"),
        (np.zeros((4, 4, 4), np.uint16), "8-bit"),
        (np.zeros((0, 4, 4), np.uint8), "empty"),
    ]:
        with pytest.raises(PipelineInputError, match=needle):
            prepare_edit(layer, None)
    with pytest.raises(PipelineInputError, match="8-bit coverage"):
        prepare_edit(np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4), np.float32))
    with pytest.raises(PipelineInputError, match="reference image 1"):
        prepare_edit(np.zeros((4, 4, 4), np.uint8), None, references=[np.zeros((4, 4), np.float64)])


def test_runner_turns_a_bad_reference_into_a_message(api: RecordedServer, tmp_path: Path) -> None:
    outcome = run_job(
        api.base_url,
        "edit",
        tmp_path,
        request=edit_request(params_for("edit"), references=[np.zeros((5, 5, 2), np.uint8)]),
    )
    assert isinstance(outcome.error, ValidationError)
    assert "reference image 1" in outcome.line
    assert api.image_requests() == 0 and outcome.entries == []
    assert explain(outcome.error).hint == "Nothing was sent."


# -- a 20,000 x 20,000 layer through the real job folder path ---------------------------------------------------


def _rss_anon(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def _run_worker_measured(job_dir: Path) -> tuple[int, list[ipc.OutboxResult]]:
    """Run the real worker on a job folder (as the plug-in does); peak anonymous memory and the results."""
    proc = ipc.start_worker(sys.executable, job_dir)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            with contextlib.suppress(OSError, ValueError):  # the process may just have ended
                peak = max(peak, _rss_anon(proc.pid))
            time.sleep(0.003)

    sampler = threading.Thread(target=sample)
    sampler.start()
    results: list[ipc.OutboxResult] = []
    try:
        ipc.wait_for_job(proc, job_dir, results.append, lambda progress: None, interval=0.05)
    finally:
        done.set()
        sampler.join()
    assert proc.wait(30) == 0
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
    return peak, results


def _job(job_dir: Path, side: int, box: tuple[int, int, int, int], base_url: str) -> None:
    """A job folder as the plug-in writes it, with sparse pixel files (no disk or memory for the blank layer)."""
    with open(job_dir / "layer.rgba", "wb") as f:
        f.truncate(side * side * 4)
    with open(job_dir / "selection.gray", "wb") as f:
        f.truncate(side * side)
    x, y, w, h = box
    selection = np.memmap(job_dir / "selection.gray", np.uint8, "r+", shape=(side, side))
    selection[y : y + h, x : x + w] = 255
    selection.flush()
    del selection
    job = {
        "command": "edit",
        "interactive": False,
        "image": {"name": "huge.xcf", "width": side, "height": side, "base_type": "rgb"},
        "layer": {
            "name": "Background",
            "file": "layer.rgba",
            "width": side,
            "height": side,
            "offset_x": 0,
            "offset_y": 0,
        },
        "selection": {"file": "selection.gray"},
        "references": [],
        "params": {"prompt": "a small red boat", "n": 1, "model": "", "size": "", "quality": "", "base_url": base_url},
    }
    ipc.write_job(job_dir, job, {})


def test_20000_pixel_square_layer_is_memory_bounded(
    api: RecordedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker maps the 1.6 GB layer and reads only the context around a 1000 x 800 selection.

    Bound: the worker's anonymous memory (real copies; the mapped file's pages do not count) may grow by at
    most 400 MB over the same worker editing a 600 x 400 layer — a quarter of one full RGBA copy of the
    layer (1.6 GB). What is needed — a ~3500 x 3300 context crop (46 MB per RGBA copy), its scaled
    request, PNG encoding, the result and its paste-back — measured ~190 MB on the reference machine.
    """
    monkeypatch.setenv("GPTIMAGE_API_KEY", KEY)
    small_dir, huge_dir = tmp_path / "small", tmp_path / "huge"
    small_dir.mkdir()
    huge_dir.mkdir()
    _job(small_dir, 600, (200, 150, 100, 80), api.base_url)
    baseline, small_results = _run_worker_measured(small_dir)
    assert len(small_results) == 1
    _job(huge_dir, 20_000, (12_000, 9_000, 1_000, 800), api.base_url)
    peak, results = _run_worker_measured(huge_dir)
    (result,) = results
    assert result.width < 6000 and result.height < 6000  # the context region, not the layer
    assert result.offset_x <= 12_000 and result.offset_x + result.width >= 13_000
    growth = peak - baseline
    assert growth < 400 * 1024 * 1024, f"anonymous memory grew by {growth / 1e6:.0f} MB"


def test_pipeline_on_a_20000_pixel_memmap_reads_only_the_region(tmp_path: Path) -> None:
    """prepare_edit and paste_back on read-only maps: the selection's surroundings are all they touch."""
    side = 20_000
    path = tmp_path / "layer.rgba"
    with open(path, "wb") as f:
        f.truncate(side * side * 4)
    layer = np.memmap(path, np.uint8, "r", shape=(side, side, 4))
    selection = np.zeros((side, side), np.uint8)  # 400 MB of zeros costs nothing until written
    selection[300:500, 19_000:19_900] = 255
    prep = prepare_edit(layer, selection, options=ContextOptions(blend_margin_px=0))
    x, y, w, h = prep.region
    assert x + w == side or x <= 19_000  # slid inside the layer at its right edge
    assert w * h < 4000 * 4000
    out = paste_back(prep, Image.new("RGB", prep.request_size, (200, 0, 0)), layer, selection)
    assert out.pixels.shape[:2] == (h, w)
    assert out.alpha is not None and np.array_equal(
        out.alpha, selection[y : y + h, x : x + w]
    )  # pasted exactly where selected


_WHOLE_LAYER_PROBE = """
import json, sys, threading, time
import numpy as np
from gimp_gptimage.pipeline import ContextOptions, prepare_edit

def anon():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith("RssAnon:"))

side = int(sys.argv[2])
layer = np.memmap(sys.argv[1], np.uint8, "r", shape=(side, side, 4))
base, peak, done = anon(), 0, False
def sample():
    global peak
    while not done:
        peak = max(peak, anon())
        time.sleep(0.002)
sampler = threading.Thread(target=sample)
sampler.start()
prep = prepare_edit(layer, None, options=ContextOptions())
done = True
sampler.join()
print(json.dumps({"growth": peak - base, "region": list(prep.region), "size": prep.size_str}))
"""


def test_whole_20000_pixel_layer_is_scaled_without_a_full_copy(tmp_path: Path) -> None:
    """No selection on a 20,000 x 20,000 layer: the whole layer is scaled to the request size straight from the
    map. Bound: 200 MB of new anonymous memory (an eighth of one RGBA copy); measured ~30 MB."""
    side = 20_000
    path = tmp_path / "layer.rgba"
    with open(path, "wb") as f:
        f.truncate(side * side * 4)
    proc = subprocess.run(
        [sys.executable, "-c", _WHOLE_LAYER_PROBE, str(path), str(side)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["region"] == [0, 0, side, side]
    assert report["growth"] < 200 * 1024 * 1024, f"grew by {report['growth'] / 1e6:.0f} MB"


def test_a_full_size_result_is_written_to_the_outbox_without_a_copy(tmp_path: Path) -> None:
    """A whole-layer result of a huge layer is as big as the layer: writing it must not double it."""
    import tracemalloc

    from gimp_gptimage.jobs.jobfile import Outbox

    pixels = np.full((4000, 5000, 4), 7, np.uint8)  # 80 MB
    mask = np.full((4000, 5000), 255, np.uint8)
    tracemalloc.start()
    try:
        Outbox(tmp_path).put(placed_result("result", pixels, (0, 0), mask))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"writing took {peak / 1e6:.0f} MB extra"
    assert (tmp_path / "outbox" / "0000.rgba").read_bytes() == pixels.tobytes()
    assert (tmp_path / "outbox" / "0000.mask").stat().st_size == mask.size
