"""The plug-in's job folder side (gptimage_ipc), outside GIMP: it is plain standard library.

Workers here are real processes: tests/gimp_fake_worker.py run by this interpreter, or small scripts.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "gimp_gptimage" / "plugin" / "gptimage"
sys.path.insert(0, str(PLUGIN_DIR))
import gimp_fake_worker  # noqa: E402
import gptimage_ipc as ipc  # noqa: E402


def script(tmp_path: Path, name: str, body: str) -> str:
    """An executable 'python' that ignores `-m gimp_gptimage.worker` and runs body with JOB = job folder."""
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport sys, os, json, time\nJOB = sys.argv[-1]\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return str(path)


def fake_worker(tmp_path: Path) -> str:
    return str(gimp_fake_worker.copy_to(tmp_path, sys.executable))


def edit_job(job_dir: Path, prompt: str, n: int = 1, selection: bool = True) -> None:
    w, h = 8, 6
    layer = bytes((x * 30, y * 40, 7, 255)[c] for y in range(h) for x in range(w) for c in range(4))
    coverage = bytes(255 if 2 <= x < 6 and 1 <= y < 4 else 0 for y in range(h) for x in range(w))
    files = {"layer.rgba": layer}
    if selection:
        files["selection.gray"] = coverage
    job = {
        "command": "edit",
        "interactive": False,
        "image": {"name": "t.xcf", "width": 20, "height": 20, "base_type": "rgb"},
        "layer": {"name": "L", "file": "layer.rgba", "width": w, "height": h, "offset_x": 10, "offset_y": 3},
        "selection": {"file": "selection.gray"} if selection else None,
        "references": [],
        "params": {"prompt": prompt, "n": n, "model": "", "size": "", "quality": "", "base_url": ""},
    }
    ipc.write_job(job_dir, job, files)


def run(python: str, job_dir: Path, ticks: list | None = None) -> list[ipc.OutboxResult]:
    results: list[ipc.OutboxResult] = []
    proc = ipc.start_worker(python, job_dir)
    count = ipc.wait_for_job(proc, job_dir, results.append, (ticks if ticks is not None else []).append, 0.01)
    assert count == len(results)
    return results


def test_job_dir_is_private_and_job_json_comes_last(tmp_path: Path) -> None:
    job_dir = ipc.create_job_dir()
    try:
        assert stat.S_IMODE(job_dir.stat().st_mode) == 0o700
        edit_job(job_dir, "invert")
        job = json.loads((job_dir / "job.json").read_text())
        assert job["version"] == ipc.PROTOCOL_VERSION and job["command"] == "edit"
        assert (job_dir / "layer.rgba").stat().st_size == 8 * 6 * 4
        assert (job_dir / "outbox").is_dir() and not list(job_dir.glob("*.tmp"))
    finally:
        ipc.remove_job_dir(job_dir)
    assert not job_dir.exists()


def test_results_from_a_real_worker_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("GPTIMAGE_FAKE_OUT", str(out))
    monkeypatch.setenv("PYTHONPATH", "/somewhere/gimp/put/this")
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    edit_job(job_dir, "invert", n=3)
    results = run(fake_worker(tmp_path), job_dir)
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.name for r in results] == ["invert #1", "invert #2", "invert #3"]
    first = results[0]
    assert (first.offset_x, first.offset_y, first.width, first.height) == (12, 4, 4, 3)
    assert first.mask == b"\xff" * 12
    assert first.pixels[:4] == bytes((255 - 60, 255 - 40, 255 - 7, 255))


def test_worker_gets_its_own_session_and_a_clean_python_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/gimp/python/lib")
    monkeypatch.setenv("PYTHONHOME", "/gimp/python")
    python = script(
        tmp_path,
        "probe",
        """
        info = {"sid": os.getsid(0), "pgid": os.getpgid(0), "pid": os.getpid(),
                "pythonpath": os.environ.get("PYTHONPATH"), "pythonhome": os.environ.get("PYTHONHOME"),
                "cwd": os.getcwd(), "argv": sys.argv[1:]}
        open(os.path.join(JOB, "probe.json"), "w").write(json.dumps(info))
        open(os.path.join(JOB, "done.json"), "w").write('{"ok": true}')
        """,
    )
    job_dir = ipc.create_job_dir()
    try:
        edit_job(job_dir, "x")
        assert run(python, job_dir) == []
        info = json.loads((job_dir / "probe.json").read_text())
    finally:
        ipc.remove_job_dir(job_dir)
    assert info["sid"] == info["pid"] == info["pgid"] != os.getsid(0)
    assert info["pythonpath"] is None and info["pythonhome"] is None
    assert info["argv"] == ["-m", "gimp_gptimage.worker", str(job_dir)]
    assert Path(info["cwd"]).resolve() == job_dir.resolve()


def test_reported_failure_becomes_the_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPTIMAGE_FAKE_OUT", str(tmp_path))
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    edit_job(job_dir, "fail: The provider rejected the request — Invalid size")
    with pytest.raises(ipc.JobError, match=r"^The provider rejected the request — Invalid size$"):
        run(fake_worker(tmp_path), job_dir)


def test_worker_dying_without_done_names_exit_code_and_last_log_line(tmp_path: Path) -> None:
    python = script(
        tmp_path, "dies", 'print("ModuleNotFoundError: No module named numpy", file=sys.stderr)\nsys.exit(7)\n'
    )
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    edit_job(job_dir, "x")
    with pytest.raises(ipc.JobError, match=r"exit code 7\): ModuleNotFoundError: No module named numpy"):
        run(python, job_dir)


def test_results_written_just_before_exit_are_not_lost(tmp_path: Path) -> None:
    # The worker writes its last result and done.json, then exits at once: the poller must drain the outbox.
    python = script(
        tmp_path,
        "quick",
        """
        out = os.path.join(JOB, "outbox")
        for i in range(2):
            open(os.path.join(out, f"{i:04d}.rgba"), "wb").write(bytes(4))
            msg = {"name": f"r{i}", "width": 1, "height": 1, "offset_x": i, "offset_y": 0,
                   "pixels": f"{i:04d}.rgba", "mask": None}
            open(os.path.join(out, f"{i:04d}.json.tmp"), "w").write(json.dumps(msg))
            os.replace(os.path.join(out, f"{i:04d}.json.tmp"), os.path.join(out, f"{i:04d}.json"))
        open(os.path.join(JOB, "done.json"), "w").write('{"ok": true}')
        """,
    )
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    edit_job(job_dir, "x")
    results = run(python, job_dir)
    assert [(r.name, r.offset_x, r.mask) for r in results] == [("r0", 0, None), ("r1", 1, None)]


def test_progress_is_passed_to_the_tick_while_waiting(tmp_path: Path) -> None:
    python = script(
        tmp_path,
        "slow",
        """
        open(os.path.join(JOB, "progress.json"), "w").write(
            json.dumps({"stage": "uploading", "fraction": 0.5, "text": "GPT Image: uploading"}))
        while not os.path.exists(os.path.join(JOB, "go")):
            time.sleep(0.01)
        open(os.path.join(JOB, "done.json"), "w").write('{"ok": true}')
        """,
    )
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    edit_job(job_dir, "x")
    ticks: list = []

    def tick(progress: ipc.Progress | None) -> None:
        ticks.append(progress)
        if progress is not None:
            (job_dir / "go").touch()

    proc = ipc.start_worker(python, job_dir)
    ipc.wait_for_job(proc, job_dir, lambda r: None, tick, 0.01)
    assert ipc.Progress("uploading", 0.5, "GPT Image: uploading") in ticks


def test_malformed_results_are_refused_with_a_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "0000.rgba").write_bytes(bytes(10))
    msg = {"name": "x", "width": 2, "height": 2, "offset_x": 0, "offset_y": 0, "pixels": "0000.rgba", "mask": None}
    (outbox / "0000.json").write_text(json.dumps(msg))
    (outbox / "0001.json.tmp").write_text("{half a mess")
    reader = ipc.OutboxReader(tmp_path)
    with pytest.raises(ipc.JobError, match="10 bytes for 2x2 RGBA"):
        reader.new_results()
    assert reader.new_results() == []  # the temporary file is never read


def test_worker_python_comes_from_the_install_record(tmp_path: Path) -> None:
    with pytest.raises(ipc.JobError, match="gimp-gptimage install"):
        ipc.worker_python(tmp_path)
    (tmp_path / ipc.CONFIG_NAME).write_text(json.dumps({"python": str(tmp_path / "gone" / "python")}))
    with pytest.raises(ipc.JobError, match="no longer exists"):
        ipc.worker_python(tmp_path)
    (tmp_path / ipc.CONFIG_NAME).write_text(json.dumps({"python": sys.executable}))
    assert ipc.worker_python(tmp_path) == sys.executable


def test_plugin_entry_is_an_executable_script_named_like_its_folder() -> None:
    entry = PLUGIN_DIR / "gptimage.py"
    assert entry.read_text().startswith("#!/usr/bin/env python3\n")
    assert entry.stat().st_mode & 0o111, "GIMP ignores a plug-in file that is not executable"
    siblings = {p.stem for p in PLUGIN_DIR.glob("*.py")} - {"gptimage"}
    assert siblings and all(name.startswith("gptimage_") for name in siblings)


def test_raw_window_writes_a_full_size_file_with_data_only_in_the_box(tmp_path: Path) -> None:
    window = ipc.RawWindow(6, 4, 1, 2, 1, 3, 2, bytes([1, 2, 3, 4, 5, 6]))
    window.write(tmp_path / "sel.gray")
    data = (tmp_path / "sel.gray").read_bytes()
    rows = [list(data[r * 6 : (r + 1) * 6]) for r in range(4)]
    assert rows == [[0] * 6, [0, 0, 1, 2, 3, 0], [0, 0, 4, 5, 6, 0], [0] * 6]
    with pytest.raises(ValueError, match="5 bytes for a 3x2 window"):
        ipc.RawWindow(6, 4, 1, 0, 0, 3, 2, bytes(5)).write(tmp_path / "bad.gray")


def test_context_window_is_generous_and_slid_inside_the_layer() -> None:
    assert ipc.context_window((2800, 1850, 440, 340), 6000, 4000) == (2018, 1018, 2004, 2004)
    assert ipc.context_window((10, 20, 100, 50), 6000, 4000) == (0, 0, 1640, 1640)  # slid into the corner
    assert ipc.context_window((100, 100, 300, 200), 1600, 1200) is None  # most of the layer: all of it


def test_a_worker_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    not_executable = tmp_path / "python"
    not_executable.write_text("not a program")
    with pytest.raises(ipc.JobError, match=r"Could not start the GPT Image worker .*gimp-gptimage install"):
        ipc.start_worker(str(not_executable), tmp_path)


def test_batch_marks_written_by_the_worker_reach_the_plugin(tmp_path: Path) -> None:
    import numpy as np
    from jobs_samples import placed_result

    from gimp_gptimage.jobs.jobfile import Outbox

    outbox = Outbox(tmp_path)
    pixels = np.zeros((2, 3, 4), np.uint8)
    for left in (2, 1, 0):
        outbox.put(placed_result(f"r{left}", pixels, (5, 6), np.full((2, 3), 255, np.uint8), "h1"), batch_left=left)
    outbox.put(placed_result("single", pixels, (0, 0)))
    results = ipc.OutboxReader(tmp_path).new_results()
    assert [(r.name, r.batch_left) for r in results] == [("r2", 2), ("r1", 1), ("r0", 0), ("single", 0)]
