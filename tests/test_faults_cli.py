"""The fault matrix through `gimp-gptimage` as a real process: one line (what happened, what to do), exit
status 1 for provider and network failures, 2 for bad input, never a traceback or the key, results that
arrived written and kept in history, nothing left in the temp folder, no process left behind."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from faults_helpers import (
    KEY,
    RecordedServer,
    ResetServer,
    SelfSignedTLSServer,
    cli_command,
    cli_env,
    closed_port_url,
    one_line_error,
    run_cli,
)
from jobs_samples import COFFEE, SPOON
from PIL import Image

from gimp_gptimage.server import Fault

pytest_plugins = ["conftest_faults"]

EDIT = ["edit", COFFEE.name, "--selection", SPOON.name, "--prompt", "Remove the spoon"]
GENERATE = ["generate", "--prompt", "a red fox in snow"]


def history_entries(home: Path) -> list[dict]:
    root = home / "data" / "gimp-gptimage" / "history"
    return [json.loads((d / "record.json").read_text()) for d in sorted(root.iterdir())] if root.is_dir() else []


def assert_nothing_left(home: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert KEY not in proc.stdout + proc.stderr
    assert sorted((home / "tmp").rglob("*")) == [], "temporary files left behind"
    assert [p.name for p in (home / "data").rglob("*.tmp")] == []
    for path in (home / "data").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes()
    assert psutil.Process().children(recursive=True) == []


def fails(home: Path, base_url: str, *args: str, status: int = 1) -> tuple[str, subprocess.CompletedProcess[str]]:
    proc = run_cli(*args, "--base-url", base_url, home=home, GPTIMAGE_API_KEY=KEY)
    line = one_line_error(proc, status)
    assert_nothing_left(home, proc)
    return line, proc


CASES = [
    pytest.param(Fault("status", status=401), EDIT, ["API key was not accepted", "Enter a valid key"], id="401"),
    pytest.param(Fault("status", status=403), GENERATE, ["may not use this model", "model access"], id="403"),
    pytest.param(Fault("status", status=500), EDIT, ["failed to answer", "try again", "HTTP 500"], id="500"),
    pytest.param(Fault("html", status=502, times=3), GENERATE, ["502 Bad Gateway", "try again"], id="502-html"),
    pytest.param(Fault("status", status=503, times=3), EDIT, ["overloaded", "HTTP 503"], id="503"),
    pytest.param(Fault("status", status=429, retry_after=1, times=3), EDIT, ["rate limiting", "wait 1 s"], id="429"),
    pytest.param(
        Fault(
            "status", status=400, message="Your request was rejected by the safety system.", code="moderation_blocked"
        ),
        EDIT,
        ["safety system", "Rephrase the prompt", "HTTP 400"],
        id="400-moderation",
    ),
    pytest.param(
        Fault("status", status=400, message="Invalid value: 'standard'. Supported values are: 'low'.", code="x"),
        GENERATE,
        ["rejected the request", "Invalid value: 'standard'", "Check the parameters"],
        id="400-invalid-value",
    ),
    pytest.param(Fault("reset", times=3), EDIT, ["broke before any answer arrived", "Try again"], id="reset"),
    pytest.param(Fault("truncate"), EDIT, ["unusable", "cut off"], id="truncated-json"),
    pytest.param(Fault("truncate"), [*EDIT, "--stream"], ["unusable", "cut off"], id="truncated-stream"),
    pytest.param(Fault("empty_data"), GENERATE, ["contains no images", "Try again"], id="empty-data"),
]


@pytest.mark.parametrize(("fault", "args", "needles"), CASES)
def test_provider_faults(api: RecordedServer, home: Path, fault: Fault, args: list[str], needles: list[str]) -> None:
    api.faults.add(fault)
    line, proc = fails(home, api.base_url, *args)
    for needle in needles:
        assert needle.lower() in line.lower(), line
    assert proc.stdout == ""  # no result path: nothing was written
    assert not (home / "out").exists()
    (entry,) = history_entries(home)
    assert entry["status"] == "failed" and entry["results"] == []
    assert entry["error"] == line


def test_reset_mid_stream_after_a_partial(paced_api: RecordedServer, home: Path) -> None:
    paced_api.faults.add(Fault("reset_after", events=2))  # partial #1, (pause), partial #2, [reset]
    line, proc = fails(home, paced_api.base_url, *EDIT, "--stream", "--partial-images", "2")
    assert "broke while receiving the result" in line and "billed" in line
    assert "partial image for result 1" in proc.stderr  # the preview was shown...
    assert proc.stdout == "" and not (home / "out").exists()  # ...but a preview is not a result
    (entry,) = history_entries(home)
    assert entry["status"] == "failed" and entry["results"] == []


def test_unknown_model(api: RecordedServer, home: Path) -> None:
    line, _ = fails(home, api.base_url, *EDIT, "--model", "gpt-image-9")
    assert "does not know this model" in line and "gpt-image-9" in line and "HTTP 404" in line


def test_client_side_validation_is_exit_2_and_sends_nothing(api: RecordedServer, home: Path) -> None:
    line, _ = fails(home, api.base_url, *EDIT, "-n", "11", status=2)
    assert "Invalid parameters" in line and "Nothing was sent" in line
    assert api.image_requests() == 0
    assert history_entries(home) == []


@pytest.mark.parametrize(
    ("where", "needles"),
    [
        ("refused", ["Could not reach the provider", "127.0.0.1", "base URL"]),
        ("dns", ["host name was not found", "api.gptimage-test.invalid", "spelling"]),
        ("tls", ["certificate was not accepted", "trust store"]),
        ("reset-upload", ["connection to the provider broke", "Try again"]),
    ],
)
def test_network_faults(home: Path, where: str, needles: list[str]) -> None:
    if where == "refused":
        line, _ = fails(home, closed_port_url(), *EDIT)
    elif where == "dns":
        line, _ = fails(home, "https://api.gptimage-test.invalid/v1", *EDIT)
    elif where == "tls":
        (home / "certs").mkdir()
        with SelfSignedTLSServer(home / "certs") as tls:
            line, _ = fails(home, tls.base_url, *EDIT)
        assert tls.requests == 0
        assert "disable" not in line.lower() and "insecure" not in line.lower()
    else:
        with ResetServer(after_bytes=32 * 1024) as server:
            line, _ = fails(home, server.base_url, *EDIT)
        assert server.connections == 4  # what the endpoint is (ImagesClient.grows_mask), the edit, 2 retries
    for needle in needles:
        assert needle.lower() in line.lower(), line
    (entry,) = history_entries(home)
    assert entry["status"] == "failed"


@pytest.mark.parametrize(
    ("fault", "needles"),
    [
        pytest.param(Fault("result_missing"), ["could not be downloaded", "HTTP 404", "link may still work"], id="404"),
        pytest.param(Fault("result_html"), ["web page", "link may have expired"], id="html"),
        pytest.param(Fault("result_bomb"), ["decompression bomb"], id="bomb"),
    ],
)
def test_bad_result_links(relay: RecordedServer, home: Path, fault: Fault, needles: list[str]) -> None:
    relay.faults.add(fault)
    line, proc = fails(home, relay.base_url, *GENERATE)
    for needle in needles:
        assert needle.lower() in line.lower(), line
    assert proc.stdout == ""


def test_stream_broken_after_the_first_image_keeps_it(paced_api: RecordedServer, home: Path) -> None:
    paced_api.faults.add(Fault("reset_after", events=3))  # partial #1, completed #1, partial #2, [reset]
    line, proc = fails(home, paced_api.base_url, *EDIT, "-n", "2", "--stream", "--partial-images", "1")
    assert "broke while receiving the result" in line
    assert proc.stdout.splitlines() == [str(Path("out") / "coffee-1.png")]
    with Image.open(home / "out" / "coffee-1.png") as written:
        assert written.size == (600, 400)
    (entry,) = history_entries(home)
    assert entry["status"] == "failed" and [r["index"] for r in entry["results"]] == [0]


def test_one_dead_link_of_two_keeps_the_other(relay: RecordedServer, home: Path) -> None:
    relay.faults.add(Fault("result_missing"))
    line, proc = fails(home, relay.base_url, *EDIT, "-n", "2")
    assert "Image 1 of 2" in line
    assert proc.stdout.splitlines() == [str(Path("out") / "coffee-2.png")]
    (entry,) = history_entries(home)
    assert [r["index"] for r in entry["results"]] == [1]


def test_json_summary_lists_what_arrived_and_the_failure(relay: RecordedServer, home: Path) -> None:
    relay.faults.add(Fault("result_missing"))
    line, proc = fails(home, relay.base_url, *EDIT, "-n", "2", "--json")
    summary = json.loads(proc.stdout)
    assert summary["ok"] is False and summary["exit_status"] == 1 and summary["error"] == line
    (written,) = summary["results"]
    assert written["index"] == 1 and Path(home / written["path"]).is_file()
    assert Path(written["history_file"]).is_file()


def test_results_of_an_unexpected_size_still_fit_the_image(api: RecordedServer, home: Path) -> None:
    api.faults.add(Fault("wrong_size", size="512x512"))
    proc = run_cli(*EDIT, "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=KEY)
    assert proc.returncode == 0, proc.stderr
    assert_nothing_left(home, proc)
    with Image.open(home / "out" / "coffee-1.png") as written:
        assert written.size == (600, 400)


# -- Ctrl+C at each stage of a real process ------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["uploading", "generating", "downloading"])
def test_interrupt_at_each_stage(relay: RecordedServer, home: Path, stage: str) -> None:
    # Hold the job in the stage: the answer is delayed, or the download trickles.
    if stage == "downloading":
        relay.faults.add(Fault("drip", endpoint="results", bytes_per_second=4096))
    else:
        relay.faults.add(Fault("delay", seconds=30))
    proc = subprocess.Popen(
        [*cli_command(), *EDIT, "--base-url", relay.base_url],
        cwd=home,
        env=cli_env(home, GPTIMAGE_API_KEY=KEY),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(stage):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(seen) + err)
    line = one_line_error(result, 130)
    assert line.startswith("Cancelled")
    assert_nothing_left(home, result)
    assert not (home / "out").exists()
    (entry,) = history_entries(home)
    assert entry["status"] == "cancelled" and entry["results"] == []


def test_killed_after_the_first_image_loses_nothing(paced_api: RecordedServer, home: Path) -> None:
    """kill -9 (a crash, a closed terminal) once the first of two images is out: it is in history, and the
    next `history list` says the request was interrupted."""
    proc = subprocess.Popen(
        [*cli_command(), *EDIT, "-n", "2", "--stream", "--base-url", paced_api.base_url],
        cwd=home,
        env=cli_env(home, GPTIMAGE_API_KEY=KEY),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    proc.kill()
    proc.wait(30)
    proc.stdout.close()
    assert first == str(Path("out") / "coffee-1.png")
    (entry,) = history_entries(home)
    assert [r["index"] for r in entry["results"]] == [0]
    listed = run_cli("history", "list", "--json", home=home)
    (shown,) = json.loads(listed.stdout)
    assert shown["status"] == "interrupted" and len(shown["results"]) == 1
    assert Path(shown["results"][0]["path"]).is_file()


def test_a_server_slower_than_the_timeout(api: RecordedServer, home: Path) -> None:
    api.faults.add(Fault("delay", seconds=5))
    line, _ = fails(home, api.base_url, *EDIT, "--timeout", "0.5")
    assert "did not answer in time" in line and "try again later" in line.lower()
    (entry,) = history_entries(home)
    assert entry["status"] == "failed" and entry["results"] == []
