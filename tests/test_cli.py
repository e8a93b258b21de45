"""The `gimp-gptimage` command, run as a real process against the embedded or a loopback local server."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TempHome
from jobs_samples import COFFEE, SPOON
from PIL import Image

from gimp_gptimage.keystore import OFFLINE_NOTICE
from gimp_gptimage.migan import MODEL_NOTICE
from gimp_gptimage.server import Fault, LocalServer

pytest_plugins = ["conftest_jobs"]

SCRIPT = Path(sys.executable).with_name("gimp-gptimage")
KEY = "sk-cli-secret-0123456789abcdefABCDEF"


def cli(*args: str | Path, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gimp_gptimage"]
    return subprocess.run(
        [*command, *map(str, args)],
        cwd=cwd,
        env=TempHome(cwd).env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], status: int, *needles: str) -> str:
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("gimp-gptimage:")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh folder laid out like the repository: resources/coffee.png and the spoon selection."""
    (tmp_path / "resources").mkdir()
    shutil.copy(COFFEE, tmp_path / "resources" / COFFEE.name)
    shutil.copy(SPOON, tmp_path / "resources" / SPOON.name)
    return tmp_path


def test_readme_main_job(workdir: Path) -> None:
    """The README's first command, verbatim: removes the spoon, touches nothing else."""
    proc = cli(
        "edit",
        "resources/coffee.png",
        "--selection",
        "resources/coffee-spoon-selection.png",
        "--prompt",
        "Remove the spoon",
        "--out",
        "out",
        cwd=workdir,
    )
    assert proc.returncode == 0, proc.stderr
    # What the offline engine is, on one line, in the words the dialog's banner uses (test_qt_dialog.py).
    assert f"{OFFLINE_NOTICE} {MODEL_NOTICE}\n" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.splitlines() == [str(Path("out") / "coffee-1.png")]
    before = np.asarray(Image.open(COFFEE).convert("RGBA"))
    written = Image.open(workdir / "out" / "coffee-1.png")
    assert written.mode == "RGB"  # an RGB photo stays RGB
    after = np.asarray(written.convert("RGBA"))
    selection = np.asarray(Image.open(SPOON))
    assert after.shape == before.shape
    assert np.array_equal(after[selection == 0], before[selection == 0])
    diff = np.abs(after.astype(int) - before.astype(int))[..., :3].sum(axis=2)
    bowl = np.zeros_like(selection, dtype=bool)
    bowl[250:315, 335:400] = True  # the spoon's bowl: shiny metal, must be gone
    assert (diff[bowl & (selection == 255)] > 40).mean() > 0.6
    # It is in history too.
    history = list((workdir / "data" / "gimp-gptimage" / "history").iterdir())
    assert len(history) == 1 and (history[0] / "result-0.png").is_file()


def test_json_summary_and_mask_in_api_sense(workdir: Path) -> None:
    selection = np.asarray(Image.open(SPOON))
    mask = np.zeros((*selection.shape, 4), np.uint8)
    mask[..., 3] = 255 - selection
    Image.fromarray(mask, "RGBA").save(workdir / "mask.png")
    proc = cli(
        "edit",
        "resources/coffee.png",
        "--mask",
        "mask.png",
        "--prompt",
        "Remove the spoon",
        "-n",
        "2",
        "--out",
        "results",
        "--json",
        cwd=workdir,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True and summary["backend"]["offline"] is True
    assert summary["request_id"].startswith("req_")
    assert summary["usage"]["total_tokens"] > 0
    # The offline engine's usage only imitates the API's: nothing is paid, nothing counted as spent.
    assert summary["cost_usd"] == 0 and "Cost: nothing (the offline engine is free)." in proc.stderr
    assert [r["path"] for r in summary["results"]] == [
        str(Path("results") / "coffee-1.png"),
        str(Path("results") / "coffee-2.png"),
    ]
    before = np.asarray(Image.open(COFFEE).convert("RGBA"))
    for item in summary["results"]:
        assert (item["width"], item["height"]) == (600, 400)
        assert Path(item["history_file"]).is_file()
        after = np.asarray(Image.open(workdir / item["path"]).convert("RGBA"))
        assert np.array_equal(after[selection == 0], before[selection == 0])


def test_streaming_prints_progress_to_stderr(workdir: Path) -> None:
    proc = cli(
        "edit",
        "resources/coffee.png",
        "--selection",
        "resources/coffee-spoon-selection.png",
        "--prompt",
        "Remove the spoon",
        "--stream",
        "--partial-images",
        "2",
        cwd=workdir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "partial image for result 1" in proc.stderr
    for stage in ("preparing", "uploading", "generating", "finishing"):
        assert stage in proc.stderr
    assert (workdir / "out" / "coffee-1.png").is_file()


def test_generate(workdir: Path) -> None:
    proc = cli("generate", "--prompt", "a lighthouse at dusk", "--size", "1024x1536", "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    (item,) = json.loads(proc.stdout)["results"]
    with Image.open(workdir / item["path"]) as image:
        assert image.size == (1024, 1536)
    assert item["path"] == str(Path("out") / "generated-1.png")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["edit", "resources/coffee.png"], ["--prompt"]),
        (["edit", "missing.png", "--prompt", "x"], ["missing.png", "does not exist"]),
        # Read while the backend opens, but a bad input is still named before a backend problem.
        (["edit", "corrupt.png", "--prompt", "x", "--provider", "openai"], ["corrupt.png", "not an image"]),
        (["edit", "corrupt.png", "--prompt", "x"], ["corrupt.png", "not an image"]),
        (["edit", "resources/coffee.png", "--prompt", "x", "--selection", "small.png"], ["600x400"]),
        (
            ["edit", "resources/coffee.png", "--prompt", "x", "--mask", "resources/coffee-spoon-selection.png"],
            ["alpha"],
        ),
        (["edit", "resources/coffee.png", "--prompt", "x", "--selection", "a", "--mask", "b"], ["not allowed"]),
        (["edit", "resources/coffee.png", "--prompt", "x", "-n", "11"], ["n", "10"]),
        (["edit", "resources/coffee.png", "--prompt", "x", "-n", "two"], ["two"]),
        (["edit", "resources/coffee.png", "--prompt", ""], ["prompt"]),
        (["edit", "resources/coffee.png", "--prompt", "x", "--size", "1000x1000"], ["divisible by 16"]),
        (["edit", "resources/coffee.png", "--prompt", "x", "--ref", "corrupt.png"], ["reference", "corrupt.png"]),
        (["edit", "resources/coffee.png", "--prompt", "x", "--padding", "99999"], ["padding_px"]),
        (["generate", "--prompt", "x", "--partial-images", "2"], ["partial_images", "stream"]),
        (["generate", "--prompt", "x", "--provider", "nope"], ["Unknown provider 'nope'"]),
        (["generate", "--prompt", "x", "--provider", "openai"], ["No API key"]),
        (["generate", "--prompt", "x", "--base-url", "http://example.com/v1"], ["unencrypted"]),
        (["history", "show", "nope"], ["not a history id"]),
        (["serve", "--fault", "bogus"], ["--fault"]),
        (["ui", "missing.png"], ["missing.png"]),
        (["edit", "resources/coffee.png", "--prompt", "x", "--out", "resources/coffee.png"], ["is a file"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(workdir: Path, args: list[str], needles: list[str]) -> None:
    (workdir / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    Image.new("L", (10, 10)).save(workdir / "small.png")
    proc = cli(*args, cwd=workdir, GPTIMAGE_API_KEY=KEY) if "--base-url" in args else cli(*args, cwd=workdir)
    _assert_one_line_error(proc, 2, *needles)
    assert not (workdir / "out").exists()
    assert not (workdir / "data" / "gimp-gptimage" / "history").exists()


def test_a_provider_that_bills_gets_its_cost_from_the_usage(workdir: Path, server: LocalServer) -> None:
    proc = cli("generate", "--prompt", "x", "--base-url", server.base_url, "--json", cwd=workdir, GPTIMAGE_API_KEY=KEY)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["backend"]["offline"] is False and summary["usage"]["output_tokens"] > 0
    assert summary["cost_usd"] > 0 and f"Cost: ${summary['cost_usd']:.2f} (" in proc.stderr


def test_api_error_exit_1_without_the_key(workdir: Path, server: LocalServer) -> None:
    server.faults.add(Fault("status", status=401, message=f"Incorrect API key provided: {KEY}."))
    proc = cli("generate", "--prompt", "x", "--base-url", server.base_url, "--json", cwd=workdir, GPTIMAGE_API_KEY=KEY)
    line = _assert_one_line_error(proc, 1, "API key was not accepted", "HTTP 401", "request id")
    assert KEY not in proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == {"ok": False, "error": line.removeprefix("gimp-gptimage: "), "exit_status": 1}
    for file in (workdir / "data").rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes()


def test_connection_refused_exit_1(workdir: Path) -> None:
    proc = cli("generate", "--prompt", "x", "--base-url", "http://127.0.0.1:9/v1", cwd=workdir, GPTIMAGE_API_KEY=KEY)
    _assert_one_line_error(proc, 1, "Could not reach the provider", "127.0.0.1")


def test_interrupt_is_one_line_exit_130_and_recorded(workdir: Path, server: LocalServer) -> None:
    server.faults.add(Fault("delay", seconds=60))
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gimp_gptimage"]
    proc = subprocess.Popen(
        [*command, "generate", "--prompt", "slow", "--base-url", server.base_url],
        cwd=workdir,
        env=TempHome(workdir).env(GPTIMAGE_API_KEY=KEY),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the request is on its way
        if line.startswith("generating"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    _assert_one_line_error(result, 130, "Cancelled")
    (entry,) = (workdir / "data" / "gimp-gptimage" / "history").iterdir()
    assert json.loads((entry / "record.json").read_text())["status"] == "cancelled"


def test_history_list_show_export(workdir: Path, server: LocalServer) -> None:
    proc = cli("history", "list", cwd=workdir)
    assert proc.returncode == 0 and "No history yet" in proc.stderr
    # A provider that bills (the offline engine costs nothing): the local server under a custom base URL.
    made = cli(
        "generate", "--prompt", "a red fox", "-n", "2", "--base-url", server.base_url, cwd=workdir, GPTIMAGE_API_KEY=KEY
    )
    assert made.returncode == 0, made.stderr
    listed = cli("history", "list", cwd=workdir)
    assert listed.returncode == 0
    line, total = listed.stdout.splitlines()
    entry_id = line.split()[0]
    assert "done" in line and "2 result(s)" in line and "a red fox" in line
    # The local server's usage: 2 x 4160 output tokens (auto = high, 1024x1024) and 3 prompt tokens.
    cost = (2 * 4160 * 30 + 3 * 5) / 1e6
    assert f"${cost:.2f}" in line
    assert total == f"{entry_id[:4]}-{entry_id[4:6]} total: ${cost:.2f} for 1 request(s)"
    (listed_json,) = json.loads(cli("history", "list", "--json", cwd=workdir).stdout)
    assert listed_json["cost_usd"] == pytest.approx(cost)
    shown = cli("history", "show", entry_id, cwd=workdir)
    assert shown.returncode == 0
    assert "prompt:    a red fox" in shown.stdout and "request id:" in shown.stdout
    as_json = json.loads(cli("history", "show", entry_id, "--json", cwd=workdir).stdout)
    assert as_json["record"]["kind"] == "generate" and len(as_json["results"]) == 2
    exported = cli("history", "export", entry_id, "saved", cwd=workdir)
    assert exported.returncode == 0
    assert sorted(Path(p).name for p in exported.stdout.splitlines()) == sorted(
        [f"{entry_id}-1.png", f"{entry_id}-2.png", f"{entry_id}.json"]
    )
    assert (workdir / "saved" / f"{entry_id}-1.png").is_file()


def test_serve_prints_its_url_and_answers(tmp_path: Path) -> None:
    import httpx

    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gimp_gptimage"]
    proc = subprocess.Popen(
        [*command, "serve", "--port", "0", "--profile", "crazyrouter"],
        cwd=tmp_path,
        env=TempHome(tmp_path).env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("gimp-gptimage local server listening on http://127.0.0.1:")
        base_url = line.split()[-1]
        answer = httpx.post(
            f"{base_url}/images/generations",
            json={"prompt": "x", "n": 1, "size": "1024x1024", "quality": "hd"},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )
        assert answer.status_code == 200 and "url" in answer.json()["data"][0]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Traceback" not in (proc.stderr.read() if proc.stderr and not proc.stderr.closed else "")


def test_install_and_uninstall_into_a_given_gimp_dir(tmp_path: Path) -> None:
    gimp_dir = tmp_path / "GIMP" / "3.0"
    proc = cli("install", "--gimp-dir", gimp_dir, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (gimp_dir / "plug-ins" / "gptimage" / "gptimage.py").is_file()
    assert proc.stdout.startswith("installed: ")
    proc = cli("uninstall", "--gimp-dir", gimp_dir, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("removed: ")
    assert not (gimp_dir / "plug-ins" / "gptimage").exists()


def test_version_and_module_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gimp_gptimage", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.startswith("gimp-gptimage ")
    help_proc = cli("edit", "--help", cwd=tmp_path)
    assert help_proc.returncode == 0 and "--selection" in help_proc.stdout
    # Help is instant because it loads none of the image, server or GUI stacks (timing lives in bench/).
    probe = (
        "import sys\nfrom gimp_gptimage.cli.main import main\nmain(['edit', '--help'])\n"
        "heavy = ('numpy', 'cv2', 'uvicorn', 'starlette', 'PyQt6')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert loaded.stderr.strip().splitlines()[-1] == "[]", loaded.stderr


def test_history_policy_from_settings_applied_after_a_run(workdir: Path) -> None:
    from gimp_gptimage.history import HistoryPolicy
    from gimp_gptimage.settings import Settings, SettingsStore

    cli("generate", "--prompt", "first", cwd=workdir)
    cli("generate", "--prompt", "second", cwd=workdir)
    history = workdir / "data" / "gimp-gptimage" / "history"
    assert len(list(history.iterdir())) == 2  # default policy: keep everything
    SettingsStore(workdir / "config" / "gimp-gptimage").save(Settings(history=HistoryPolicy(max_total_mb=0.001)))
    proc = cli("generate", "--prompt", "third", cwd=workdir)
    assert proc.returncode == 0
    assert "removed 2 old request(s)" in proc.stderr
    (kept,) = history.iterdir()
    assert json.loads((kept / "record.json").read_text())["prompt"] == "third"


def test_references_and_a_transparent_source(workdir: Path) -> None:
    resources = COFFEE.parent
    with Image.open(resources / "chelsea.png") as cat:
        rgba = cat.convert("RGBA")
    rgba.putalpha(200)
    rgba.save(workdir / "cat.png")
    proc = cli(
        "edit",
        "cat.png",
        "--prompt",
        "Put the cat in front of the rocket",
        "--ref",
        resources / "rocket.jpg",
        "--ref",
        resources / "astronaut.png",
        "--json",
        cwd=workdir,
    )
    assert proc.returncode == 0, proc.stderr
    (item,) = json.loads(proc.stdout)["results"]
    with Image.open(workdir / item["path"]) as result:
        assert result.mode == "RGBA" and result.size == rgba.size
    record = json.loads((Path(item["history_file"]).parent / "record.json").read_text())
    assert record["references"] == 2


def test_key_appears_in_no_file_and_no_output(workdir: Path) -> None:
    """A full run with a real key: the key travels in the Authorization header and nowhere else."""
    with LocalServer(api_key=KEY) as keyed:
        ok = cli(
            "edit",
            "resources/coffee.png",
            "--selection",
            f"resources/{SPOON.name}",
            "--prompt",
            "Remove the spoon",
            "--base-url",
            keyed.base_url,
            "--stream",
            "--json",
            cwd=workdir,
            GPTIMAGE_API_KEY=KEY,
        )
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["backend"]["offline"] is False
        refused = cli(
            "generate", "--prompt", "x", "--base-url", keyed.base_url, cwd=workdir, GPTIMAGE_API_KEY=KEY + "x"
        )
        _assert_one_line_error(refused, 1, "HTTP 401")
    for proc in (ok, refused):
        assert KEY not in proc.stdout + proc.stderr
    files = [p for p in workdir.rglob("*") if p.is_file()]
    assert any(p.name == "record.json" for p in files) and any(p.name == "coffee-1.png" for p in files)
    for file in files:
        assert KEY.encode() not in file.read_bytes(), file


def test_decompression_bomb_input_refused_in_one_line(workdir: Path) -> None:
    from gimp_gptimage.server.imaging import decompression_bomb_png

    (workdir / "bomb.png").write_bytes(decompression_bomb_png())
    proc = cli("edit", "bomb.png", "--prompt", "x", cwd=workdir)
    _assert_one_line_error(proc, 2, "bomb.png", "too large")
