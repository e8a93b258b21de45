"""The entry points the GIMP worker and the CLI call, run for real: they build their own qasync loop, find
no provider configured, start the embedded local server, and end when the dialog closes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from PIL import Image
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication
from qt_helpers import until, write_job

from gimp_gptimage.keystore import OFFLINE_NOTICE
from gimp_gptimage.migan import MODEL_NOTICE
from qt_ui.app import run_job_dialog, run_standalone
from qt_ui.dialog import GptImageDialog

pytest_plugins = ["qt_fixtures", "conftest_jobs"]


def drive(qapp: QApplication, scenario) -> dict:  # type: ignore[no-untyped-def]
    """Run `scenario(dialog)` inside the entry point's own loop; always closes the dialog at the end."""
    outcome: dict = {}

    async def wrapper() -> None:
        dialog = None
        try:
            await until(lambda: any(isinstance(w, GptImageDialog) for w in qapp.topLevelWidgets()), what="dialog")
            dialog = next(w for w in qapp.topLevelWidgets() if isinstance(w, GptImageDialog) and w.isVisible())
            await scenario(dialog)
            outcome["ok"] = True
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            if dialog is not None:
                dialog.close()

    def start() -> None:
        outcome["task"] = asyncio.ensure_future(wrapper())

    QTimer.singleShot(0, start)
    return outcome


def test_job_dialog_runs_on_the_embedded_server_and_inserts_into_the_job(qapp, tmp_path, temp_home, memory_keyring):
    job = write_job(tmp_path / "job", prompt="remove the yellow disc")

    async def scenario(dialog: GptImageDialog) -> None:
        # What the offline engine is, in the CLI's words (test_cli.py)
        assert dialog.banner.isVisible() and dialog.banner_text.text() == f"{OFFLINE_NOTICE} {MODEL_NOTICE}"
        assert dialog.model.prompt == "remove the yellow disc"
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state != "running", timeout=60, what="the run")
        assert dialog.model.state == "done", dialog.model.error
        dialog.results_view.insert_all_button.click()
        await until(lambda: list((job / "outbox").glob("*.json")), what="the outbox message")

    outcome = drive(qapp, scenario)
    assert run_job_dialog(job) == 0
    assert outcome.get("ok"), outcome.get("error")
    message = json.loads(next((job / "outbox").glob("*.json")).read_text())
    assert message["name"].startswith("remove the yellow disc") and (job / "outbox" / message["pixels"]).is_file()
    # done.json is the worker's to write, after this returns.
    assert not (job / "done.json").exists()


def test_standalone_ui_saves_next_to_the_image(qapp, tmp_path, temp_home, memory_keyring) -> None:
    image = tmp_path / "beach.png"
    Image.new("RGB", (320, 240), (200, 180, 120)).save(image)

    async def scenario(dialog: GptImageDialog) -> None:
        dialog.model.prompt = "a starfish"
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state != "running", timeout=60, what="the run")
        dialog.results_view.tiles[0].insert_button.click()
        await until(lambda: (tmp_path / "beach-gptimage-1.png").exists(), what="the saved file")

    outcome = drive(qapp, scenario)
    assert run_standalone(image) == 0
    assert outcome.get("ok"), outcome.get("error")
    with Image.open(tmp_path / "beach-gptimage-1.png") as saved:
        assert saved.size == (320, 240)
    assert not any(Path(tmp_path).glob("*.tmp"))
