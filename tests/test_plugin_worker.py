"""The worker (`python -m gimp_gptimage.worker JOB_DIR`) and its job-folder module, end to end.

Jobs are written by the plug-in's own gptimage_ipc, the worker runs as a real process against the real
local server over HTTP, and results are read back with the plug-in's OutboxReader: both sides of the
protocol meet here exactly as they do in GIMP.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TempHome
from jobs_samples import placed_result

from gimp_gptimage import worker
from gimp_gptimage.api.errors import ConfigError
from gimp_gptimage.jobs import jobfile
from gimp_gptimage.server import LocalServer

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "gimp_gptimage" / "plugin" / "gptimage"
sys.path.insert(0, str(PLUGIN_DIR))
import gptimage_ipc as ipc  # noqa: E402

W, H, OX, OY = 640, 480, 30, 20


@pytest.fixture
def worker_env(temp_home: TempHome, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The worker process gets the test's home and a key for the custom (local) base URL."""
    monkeypatch.setenv("GPTIMAGE_API_KEY", "sk-test-secret-never-shown")
    return temp_home.root


def photo() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    rgba = np.stack([x * 255 // W, y * 255 // H, (x + y) % 256, np.full_like(x, 255)], axis=-1)
    return rgba.astype(np.uint8)


def ellipse(cx: int, cy: int, rx: int, ry: int) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    inside = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0
    return np.where(inside, 255, 0).astype(np.uint8)


def write_job(job_dir: Path, command: str, params: dict, selection: np.ndarray | None = None, refs: int = 0) -> None:
    layer = photo()
    files = {"layer.rgba": layer.tobytes()}
    job = {
        "command": command,
        "interactive": False,
        "image": {"name": "photo.xcf", "width": W + 100, "height": H + 100, "base_type": "rgb"},
        "layer": {"name": "Photo", "file": "layer.rgba", "width": W, "height": H, "offset_x": OX, "offset_y": OY},
        "selection": None,
        "references": [],
        "params": {"prompt": "", "n": 1, "model": "", "size": "", "quality": "", "base_url": "", **params},
    }
    if command == "generate":
        job["layer"] = None
        files = {}
    if selection is not None:
        files["selection.gray"] = selection.tobytes()
        job["selection"] = {"file": "selection.gray"}
    for i in range(1, refs + 1):
        files[f"ref-{i}.rgba"] = np.roll(layer, i * 50, axis=1).tobytes()
        job["references"].append(
            {"name": f"Ref {i}", "file": f"ref-{i}.rgba", "width": W, "height": H, "offset_x": 0, "offset_y": 0}
        )
    ipc.write_job(job_dir, job, files)


def run_worker(job_dir: Path) -> list[ipc.OutboxResult]:
    results: list[ipc.OutboxResult] = []
    proc = ipc.start_worker(sys.executable, job_dir)
    ipc.wait_for_job(proc, job_dir, results.append, lambda _p: None, 0.02)
    assert proc.returncode == 0, (job_dir / ipc.WORKER_LOG).read_text()
    return results


def test_load_job_maps_pixels_without_copying(tmp_path: Path) -> None:
    sel = ellipse(300, 200, 100, 60)
    write_job(tmp_path, "fuse", {"prompt": "p", "n": 2}, selection=sel, refs=2)
    job = jobfile.load_job(tmp_path)
    assert job.command == "fuse" and job.params.n == 2 and job.params.prompt == "p"
    assert job.layer is not None and job.layer.offset == (OX, OY)
    assert isinstance(job.layer.pixels, np.memmap) and not job.layer.pixels.flags.writeable
    assert np.array_equal(job.layer.pixels, photo())
    assert job.selection is not None and np.array_equal(job.selection, sel)
    assert [r.name for r in job.references] == ["Ref 1", "Ref 2"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: (d / "layer.rgba").write_bytes(b"short"), "layer.rgba holds 5 bytes"),
        (lambda d: (d / "job.json").write_text('{"version": 99}'), "version 99 is not supported"),
        (lambda d: (d / "job.json").write_text("{not json"), "Cannot read the job file"),
    ],
)
def test_broken_jobs_end_with_a_message_not_a_traceback(tmp_path: Path, change, message: str) -> None:
    write_job(tmp_path, "edit", {"prompt": "p"})
    change(tmp_path)
    proc = ipc.start_worker(sys.executable, tmp_path)
    with pytest.raises(ipc.JobError, match=message):
        ipc.wait_for_job(proc, tmp_path, lambda _r: None, lambda _p: None, 0.02)
    assert "Traceback" not in json.loads((tmp_path / "done.json").read_text())["error"]


def test_outbox_messages_are_what_the_plugin_reads(tmp_path: Path) -> None:
    outbox = jobfile.Outbox(tmp_path)
    pixels = np.arange(3 * 5 * 4, dtype=np.uint8).reshape(3, 5, 4)
    mask = np.full((3, 5), 128, np.uint8)
    outbox.put(placed_result("Sky #1", pixels, (7, -2), mask, "hist-1"))
    outbox.put(placed_result("Sky #2", pixels, (0, 0)))
    assert not list(tmp_path.glob("outbox/*.tmp"))
    first, second = ipc.OutboxReader(tmp_path).new_results()
    assert (first.name, first.offset_x, first.offset_y, first.width, first.height) == ("Sky #1", 7, -2, 5, 3)
    assert first.pixels == pixels.tobytes() and first.mask == mask.tobytes() and first.history_id == "hist-1"
    assert second.index == 1 and second.mask is None
    assert (
        jobfile.Outbox(tmp_path).put(placed_result("Sky #3", pixels, (0, 0))).name == "0002.json"
    )  # numbering continues


def test_batch_edit_with_two_results(tmp_path: Path, server: LocalServer, worker_env: Path) -> None:
    sel = ellipse(300, 200, 120, 80)
    write_job(tmp_path, "edit", {"prompt": "a hot-air balloon", "n": 2, "base_url": server.base_url}, sel)
    results = run_worker(tmp_path)
    assert sorted(r.name for r in results) == ["a hot-air balloon #1", "a hot-air balloon #2"]  # arrival order
    ys, xs = np.nonzero(sel)
    for r in results:
        # The region holds the selection, in canvas coordinates (layer offset added).
        assert r.offset_x <= OX + xs.min() and r.offset_x + r.width >= OX + xs.max() + 1
        assert r.offset_y <= OY + ys.min() and r.offset_y + r.height >= OY + ys.max() + 1
        assert r.mask is not None and r.history_id
        mask = np.frombuffer(r.mask, np.uint8).reshape(r.height, r.width)
        region_sel = sel[r.offset_y - OY : r.offset_y - OY + r.height, r.offset_x - OX : r.offset_x - OX + r.width]
        assert mask[region_sel == 255].min() == 255
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["stage"] in ("finishing", "downloading", "generating", "uploading")
    assert json.loads((tmp_path / "done.json").read_text()) == {"ok": True}
    # Every result is already in history before the plug-in sees it; the key is in none of those files.
    stored = [p for p in worker_env.rglob("*") if p.is_file()]
    assert stored and not any(b"sk-test-secret" in p.read_bytes() for p in stored)


def test_batch_generate_covers_the_canvas(tmp_path: Path, server: LocalServer, worker_env: Path) -> None:
    write_job(tmp_path, "generate", {"prompt": "a lighthouse", "base_url": server.base_url})
    (result,) = run_worker(tmp_path)
    assert (result.offset_x, result.offset_y, result.width, result.height) == (0, 0, W + 100, H + 100)
    assert result.mask is None


def test_batch_fuse_sends_references(tmp_path: Path, server: LocalServer, worker_env: Path) -> None:
    write_job(tmp_path, "fuse", {"prompt": "one scene", "base_url": server.base_url}, refs=2)
    (result,) = run_worker(tmp_path)
    assert (result.width, result.height) == (W, H) and (result.offset_x, result.offset_y) == (OX, OY)


def test_api_error_reaches_the_plugin_in_the_apis_words(tmp_path: Path, server: LocalServer, worker_env: Path) -> None:
    write_job(tmp_path, "edit", {"prompt": "x", "size": "123x45", "base_url": server.base_url})
    proc = ipc.start_worker(sys.executable, tmp_path)
    with pytest.raises(ipc.JobError) as caught:
        ipc.wait_for_job(proc, tmp_path, lambda _r: None, lambda _p: None, 0.02)
    message = str(caught.value)
    assert "123x45" in message and "\n" not in message and "sk-test-secret" not in message


def test_without_provider_the_embedded_engine_answers(tmp_path: Path, worker_env: Path) -> None:
    os.environ.pop("GPTIMAGE_API_KEY")  # monkeypatch restores it
    write_job(tmp_path, "edit", {"prompt": "a cat"}, ellipse(100, 100, 40, 40))
    (result,) = run_worker(tmp_path)
    assert result.mask is not None


def test_interactive_jobs_go_to_the_dialog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_job(tmp_path, "edit", {"prompt": ""})
    job = json.loads((tmp_path / "job.json").read_text())
    (tmp_path / "job.json").write_text(json.dumps({**job, "interactive": True}))
    opened: list[Path] = []
    monkeypatch.setattr(worker, "dialog_runner", lambda: opened.append)
    assert worker.run(tmp_path) == 0
    assert opened == [tmp_path]
    assert json.loads((tmp_path / "done.json").read_text()) == {"ok": True}  # the dialog closed without one


def test_missing_qt_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_qt(name: str) -> None:
        raise ModuleNotFoundError("No module named 'PyQt6'", name="PyQt6")

    monkeypatch.setattr(worker.importlib, "import_module", no_qt)
    with pytest.raises(ConfigError, match="needs PyQt6 and qasync"):
        worker.dialog_runner()


def test_worker_started_before_the_job_waits_for_job_json(
    tmp_path: Path, server: LocalServer, worker_env: Path
) -> None:
    # The plug-in starts the worker first and exports pixels meanwhile; job.json comes last.
    proc = ipc.start_worker(sys.executable, tmp_path)
    write_job(tmp_path, "generate", {"prompt": "a kite", "base_url": server.base_url})
    results: list[ipc.OutboxResult] = []
    ipc.wait_for_job(proc, tmp_path, results.append, lambda _p: None, 0.02)
    assert [r.name for r in results] == ["a kite #1"]


def test_worker_without_a_job_gives_up_quietly(tmp_path: Path) -> None:
    assert worker.wait_for_job_file(tmp_path, os.getppid(), timeout=0.05) is False
    assert worker.wait_for_job_file(tmp_path / "removed", os.getppid()) is False
    assert not (tmp_path / "done.json").exists()


def test_stop_worker_ends_its_whole_process_group(tmp_path: Path) -> None:
    script = tmp_path / "spawner"
    script.write_text(
        f"#!{sys.executable}\nimport subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(tmp_path / 'child.pid')!r}, 'w').write(str(child.pid))\ntime.sleep(60)\n"
    )
    script.chmod(0o755)
    proc = ipc.start_worker(str(script), tmp_path)
    pid_file = tmp_path / "child.pid"
    for _ in range(500):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.01)
    child = int(pid_file.read_text())
    ipc.stop_worker(proc)
    assert proc.returncode is not None
    for _ in range(500):  # the grandchild got SIGTERM too (it is reaped by init, so poll for its exit)
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    else:
        pytest.fail("the worker's child survived stop_worker")


@pytest.mark.parametrize(
    ("box", "model"),
    [
        ((2800, 1850, 440, 340), "gpt-image-2"),
        ((0, 0, 300, 200), "gpt-image-2"),  # a corner: the context slides inside the layer
        ((5700, 3900, 300, 100), "gpt-image-1.5"),  # the other corner, fixed-size model (3:2 growth)
        ((2000, 2000, 800, 10), "gpt-image-1.5"),  # a thin wide stripe: grows towards 3:2
        ((3000, 100, 20, 700), "gpt-image-1.5"),  # a tall thin one at the top edge
        ((2000, 1500, 5, 5), "gpt-image-2"),  # a speck: at least 512 px of context
    ],
)
def test_the_plugins_window_holds_the_pipelines_automatic_context(box: tuple, model: str) -> None:
    # The plug-in exports only ipc.context_window() around the selection; in the default (auto) mode the
    # pipeline must never need more, or every batch edit would pay a second export.
    from gimp_gptimage.pipeline import prepare_edit

    lw, lh = 6000, 4000
    layer = np.zeros((lh, lw, 4), np.uint8)
    selection = np.zeros((lh, lw), np.uint8)
    x, y, w, h = box
    selection[y : y + h, x : x + w] = 255
    window = ipc.context_window(box, lw, lh)
    assert window is not None
    wx, wy, ww, wh = window
    layer[wy : wy + wh, wx : wx + ww] = 77
    windowed = layer.view(jobfile.WindowedPixels)
    windowed.window = window
    prep = prepare_edit(windowed, selection, model=model, size="auto")  # raises OutsideWindow if it reads out
    rx, ry, rw, rh = prep.region
    assert wx <= rx and wy <= ry and rx + rw <= wx + ww and ry + rh <= wy + wh


def test_whole_layer_is_fetched_when_the_context_leaves_the_window(
    tmp_path: Path, server: LocalServer, worker_env: Path
) -> None:
    from gimp_gptimage.settings import ContextDefaults, Settings, SettingsStore

    SettingsStore().save(Settings(context=ContextDefaults(mode="whole")))  # the user wants the whole layer as context
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    sel = ellipse(300, 200, 20, 20)
    write_job(job_dir, "edit", {"prompt": "a moon", "base_url": server.base_url}, sel)
    job = json.loads((job_dir / "job.json").read_text())
    job["layer"]["window"] = [200, 100, 200, 200]  # as if GIMP had exported only this part
    full = (job_dir / "layer.rgba").read_bytes()
    windowed = bytearray(len(full))
    for row in range(100, 300):
        start = (row * W + 200) * 4
        windowed[start : start + 800] = full[start : start + 800]
    (job_dir / "layer.rgba").write_bytes(bytes(windowed))
    (job_dir / "job.json").write_text(json.dumps(job))
    asked: list[int] = []

    def read_whole() -> bytes:
        asked.append(1)
        return full

    proc = ipc.start_worker(sys.executable, job_dir)
    results: list[ipc.OutboxResult] = []
    ipc.wait_for_job(proc, job_dir, results.append, lambda _p: None, 0.02, read_whole_layer=read_whole)
    assert asked == [1]
    (result,) = results
    assert (result.offset_x, result.offset_y, result.width, result.height) == (OX, OY, W, H)  # whole layer
    assert (job_dir / "layer.rgba").read_bytes() == full


def test_layer_gone_before_the_whole_export_is_a_clear_failure(
    tmp_path: Path, server: LocalServer, worker_env: Path
) -> None:
    from gimp_gptimage.settings import ContextDefaults, Settings, SettingsStore

    SettingsStore().save(Settings(context=ContextDefaults(mode="whole")))
    write_job(tmp_path, "edit", {"prompt": "a moon", "base_url": server.base_url}, ellipse(300, 200, 20, 20))
    job = json.loads((tmp_path / "job.json").read_text())
    job["layer"]["window"] = [200, 100, 200, 200]
    (tmp_path / "job.json").write_text(json.dumps(job))

    def layer_gone() -> bytes:
        raise ipc.JobError("The layer was removed or resized while the model worked; run the command again.")

    proc = ipc.start_worker(sys.executable, tmp_path)
    with pytest.raises(ipc.JobError, match=r"^The layer was removed or resized"):
        ipc.wait_for_job(proc, tmp_path, lambda _r: None, lambda _p: None, 0.02, read_whole_layer=layer_gone)
