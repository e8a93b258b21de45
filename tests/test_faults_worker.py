"""Faults on the GIMP path: the plug-in's job folder, the real worker process, and what the plug-in gets back.

The plug-in side here is the plug-in's own module (gptimage_ipc, standard library only), so what these tests
see is what GIMP would insert and show: only results that arrived, and one line for the failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psutil
import pytest
from conftest import TempHome
from faults_helpers import KEY, RecordedServer, closed_port_url
from jobs_samples import write_spoon_job

import gimp_gptimage
from gimp_gptimage.server import Fault
from gimp_gptimage.settings import Settings, SettingsStore

pytest_plugins = ["conftest_faults"]

PLUGIN_DIR = Path(gimp_gptimage.__file__).parent / "plugin" / "gptimage"
sys.path.insert(0, str(PLUGIN_DIR))
import gptimage_ipc as ipc  # noqa: E402


@pytest.fixture
def worker_home(temp_home: TempHome, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user whose settings ask for plain (not streamed) answers; the key is in the environment."""
    home = temp_home.root
    monkeypatch.setenv("GPTIMAGE_API_KEY", KEY)
    settings = Settings()
    settings.defaults.stream = False
    SettingsStore().save(settings)
    return home


def set_streaming(partial_images: int | None) -> None:
    store = SettingsStore()
    settings = store.load()
    settings.defaults.stream = partial_images is not None
    settings.defaults.partial_images = partial_images
    store.save(settings)


def run_plugin_job(home: Path, base_url: str, *, n: int = 1) -> tuple[list[ipc.OutboxResult], str | None, Path]:
    """What the plug-in does: job folder, worker process, insert results as they come; (inserted, error)."""
    job_dir = ipc.create_job_dir()
    proc = ipc.start_worker(sys.executable, job_dir)
    write_spoon_job(job_dir, n=n, base_url=base_url)
    inserted: list[ipc.OutboxResult] = []
    error = None
    try:
        ipc.wait_for_job(proc, job_dir, inserted.append, lambda progress: None, interval=0.05)
    except ipc.JobError as exc:
        error = str(exc)
    assert proc.wait(30) in (0, 1)
    log = (job_dir / ipc.WORKER_LOG).read_text(errors="replace")
    assert "Traceback" not in log, log
    assert KEY not in log and (error is None or KEY not in error)
    ipc.remove_job_dir(job_dir)
    assert psutil.Process().children(recursive=True) == []
    assert sorted((home / "tmp").rglob("*")) == []
    return inserted, error, home / "data" / "gimp-gptimage" / "history"


def only_entry(history: Path) -> dict:
    (folder,) = history.iterdir()
    return json.loads((folder / "record.json").read_text())


@pytest.mark.parametrize(
    ("fault", "needles"),
    [
        (Fault("status", status=401), ["API key was not accepted", "Enter a valid key"]),
        (Fault("html", status=502, times=3), ["502 Bad Gateway", "try again"]),
        (Fault("truncate"), ["cut off"]),
        (Fault("empty_data"), ["contains no images"]),
    ],
    ids=["401", "502-html", "truncated", "empty-data"],
)
def test_failures_reach_the_plugin_as_one_line(
    api: RecordedServer, worker_home: Path, fault: Fault, needles: list[str]
) -> None:
    api.faults.add(fault)
    inserted, error, history = run_plugin_job(worker_home, api.base_url)
    assert inserted == []  # the image is not touched
    assert error is not None and "\n" not in error
    for needle in needles:
        assert needle.lower() in error.lower(), error
    assert only_entry(history)["status"] == "failed"


def test_connection_refused_reaches_the_plugin(worker_home: Path) -> None:
    inserted, error, _ = run_plugin_job(worker_home, closed_port_url())
    assert inserted == [] and error is not None and "Could not reach the provider" in error


def test_invalid_job_parameters_are_one_line(api: RecordedServer, worker_home: Path) -> None:
    inserted, error, history = run_plugin_job(worker_home, api.base_url, n=0)
    assert inserted == [] and error is not None
    assert error.startswith("Invalid parameters") and "Nothing was sent" in error
    assert api.image_requests() == 0 and not history.exists()


def test_plain_http_base_url_in_the_job_is_refused(worker_home: Path) -> None:
    inserted, error, history = run_plugin_job(worker_home, "http://192.0.2.10:8000/v1")
    assert inserted == [] and error is not None
    assert "Refusing plain http://" in error and "unencrypted" in error
    assert not history.exists()


def test_a_provider_without_a_key_says_where_to_enter_it(
    api: RecordedServer, worker_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPTIMAGE_API_KEY")
    store = SettingsStore()
    settings = store.load()
    settings.provider = "openai"
    store.save(settings)
    inserted, error, history = run_plugin_job(worker_home, "")
    assert inserted == [] and error is not None
    assert "No API key" in error and "Settings" in error
    assert api.image_requests() == 0 and not history.exists()


def test_stream_broken_after_an_image_inserts_what_arrived(paced_api: RecordedServer, worker_home: Path) -> None:
    # The worker streams without previews: completed #1, (0.27 s), completed #2, [reset]. Image 1 arrived long
    # before the reset; image 2 may be lost with it (an RST discards unread data), image 3 never exists.
    set_streaming(0)
    paced_api.faults.add(Fault("reset_after", events=2))
    inserted, error, history = run_plugin_job(worker_home, paced_api.base_url, n=3)
    assert 1 <= len(inserted) <= 2 and all(r.history_id for r in inserted)
    assert error is not None and "broke while receiving the result" in error
    entry = only_entry(history)
    assert entry["status"] == "failed" and len(entry["results"]) == len(inserted)


def test_one_dead_link_of_two_inserts_the_other(relay: RecordedServer, worker_home: Path) -> None:
    relay.faults.add(Fault("result_missing"))
    inserted, error, history = run_plugin_job(worker_home, relay.base_url, n=2)
    assert error is not None and "Image 1 of 2" in error
    assert len(inserted) == 1
    assert [r["index"] for r in only_entry(history)["results"]] == [1]
