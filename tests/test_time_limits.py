"""The time limits in Settings (the stall limit above all) reach the client from every front end: the CLI,
the dialog and the batch worker, through `TimeoutDefaults.timeouts()`; the client's defaults stay the one
source of the numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import TempHome
from faults_helpers import KEY as FAULT_KEY
from faults_helpers import RecordedServer, one_line_error, run_cli
from jobs_samples import write_spoon_job
from qt_helpers import make_dialog, qrun, until

import gimp_gptimage
from gimp_gptimage.api import Timeouts
from gimp_gptimage.api.timeouts import DEFAULT_TIMEOUTS
from gimp_gptimage.server import Fault, LocalServer
from gimp_gptimage.settings import Settings, SettingsStore, TimeoutDefaults
from qt_ui.settings_dialog import SettingsDialog

pytest_plugins = ["qt_fixtures", "conftest_faults", "conftest_jobs"]

STALLED = "stopped sending in the middle of the answer"


def save_stall_limit(config_dir: Path, seconds: float) -> None:
    settings = Settings()
    settings.defaults.stream = False  # a stream's pauses fall under the read limit, not the stall limit
    settings.timeouts.stall = seconds
    SettingsStore(config_dir).save(settings)


def test_saved_limits_over_the_clients_defaults_and_this_runs_over_both(tmp_path: Path) -> None:
    assert Settings().timeouts.timeouts() == DEFAULT_TIMEOUTS == Timeouts()  # nothing saved: the client's own
    saved = TimeoutDefaults(stall=30)
    assert saved.timeouts() == Timeouts(stall=30)
    assert saved.timeouts(read=900, stall=5) == Timeouts(read=900, stall=5)  # the CLI's --timeout/--stall-timeout
    store = SettingsStore(tmp_path)
    store.save(Settings(timeouts=saved))
    assert store.load().timeouts == saved and store.problem is None
    assert json.loads(store.path.read_text())["timeouts"] == {"read": None, "stall": 30}


def test_a_file_without_limits_reads_and_a_bad_limit_is_named(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"version": 1, "provider": "openai"}))
    assert store.load().timeouts == TimeoutDefaults() and store.problem is None
    store.path.write_text(json.dumps({"version": 1, "timeouts": {"stall": -1}}))
    assert store.load() == Settings()
    assert store.problem is not None and "TimeoutDefaults.stall must be a positive number" in store.problem


def test_the_cli_uses_the_saved_stall_limit(api: RecordedServer, home: Path, temp_home: TempHome) -> None:
    save_stall_limit(temp_home.settings_dir, 0.3)
    api.faults.add(Fault("stall", seconds=5))
    proc = run_cli(
        "generate", "--prompt", "a red fox", "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=FAULT_KEY
    )
    line = one_line_error(proc, 1)
    assert STALLED in line and "0.3 s" in line


def test_the_dialog_uses_the_saved_stall_limit(qloop, qtbot, job_dir: Path, temp_home: TempHome) -> None:
    save_stall_limit(temp_home.settings_dir, 0.3)
    with LocalServer(faults=()) as server:
        server.faults.add(Fault("stall", seconds=5))
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "make it night"
            dialog.run()
            await until(lambda: dialog.model.state != "running", what="the run to give up")

        qrun(qloop, scenario())
    assert dialog.model.state == "error" and dialog.model.error is not None
    assert STALLED in dialog.model.error.detail and "0.3 s" in dialog.model.error.detail


def test_the_batch_worker_uses_the_saved_stall_limit(
    api: RecordedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(Path(gimp_gptimage.__file__).parent / "plugin" / "gptimage"))
    import gptimage_ipc as ipc

    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("GPTIMAGE_API_KEY", FAULT_KEY)
    save_stall_limit(SettingsStore().dir, 0.3)
    api.faults.add(Fault("stall", seconds=5))
    job_dir = ipc.create_job_dir()
    try:
        proc = ipc.start_worker(sys.executable, job_dir)
        write_spoon_job(job_dir, base_url=api.base_url)
        with pytest.raises(ipc.JobError) as caught:
            ipc.wait_for_job(proc, job_dir, lambda item: None, lambda progress: None, interval=0.05)
        proc.wait(30)
    finally:
        ipc.remove_job_dir(job_dir)
    assert STALLED in str(caught.value) and "0.3 s" in str(caught.value)


def test_the_settings_dialog_shows_the_limits_and_saves_only_what_differs(qloop, qtbot, memory_keyring) -> None:
    settings = Settings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.read_timeout.value() == DEFAULT_TIMEOUTS.read
    assert dialog.stall_timeout.value() == DEFAULT_TIMEOUTS.stall
    dialog.stall_timeout.setValue(20)

    async def save() -> None:
        await until(lambda: "No key stored" in dialog.key_status.text(), what="the key status")
        dialog.accept()
        await until(lambda: not dialog.isVisible(), what="the settings to close")

    qrun(qloop, save())
    assert settings.timeouts == TimeoutDefaults(read=None, stall=20)  # the read limit stays the client's own
    again = SettingsDialog(settings)
    qtbot.addWidget(again)
    assert again.stall_timeout.value() == 20
