"""What a painter meets in the dialog started from GIMP: words that fit the command, a form that fits the
window, tiles and status lines that stay true after Cancel or an undo, and the ties to GIMP's session
(status bar, the plug-in ended by GIMP's Cancel). Real widgets on the real event loop (offscreen)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QScrollArea, QScrollBar
from qt_helpers import make_dialog, qrun, until, write_job

from gimp_gptimage.jobs.jobfile import ParentWindow
from gimp_gptimage.server import LocalServer
from qt_ui.gimp_link import GimpLink
from qt_ui.stacking import make_transient

pytest_plugins = ["qt_fixtures"]


def outbox(job: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((job / "outbox").glob("*.json"))]


def progress(job: Path) -> dict:
    return json.loads((job / "progress.json").read_text())


def close_button(box: QMessageBox) -> QAbstractButton:
    button = box.button(QMessageBox.StandardButton.Close)
    assert button is not None
    return button


def scroll_bar(area: QScrollArea) -> QScrollBar:
    bar = area.verticalScrollBar()
    assert bar is not None
    return bar


def left_column(dialog) -> QScrollArea:  # type: ignore[no-untyped-def]
    return next(s for s in dialog.findChildren(QScrollArea) if s.widget().isAncestorOf(dialog.params_view))


def test_edit_words_name_the_selection_and_the_title_says_it_once(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Edit Selection — photo.xcf"
    assert "GPT Image" not in dialog.windowTitle()  # Qt appends the application's name on its own
    assert dialog.source_label.text() == "Editing photo.xcf · layer “Background” (640 × 480) · selection"
    assert dialog.prompt_view.edit.placeholderText().startswith("Describe the change")
    assert dialog.params_view.size_combo.itemText(0) == "Auto (fit the region)"
    assert dialog.context_group.isVisibleTo(dialog)


def test_fuse_speaks_of_layers_and_shows_no_selection_settings(qloop, qtbot, tmp_path, temp_home) -> None:
    job = write_job(tmp_path / "job", command="fuse", references=2)
    dialog = make_dialog(job, temp_home)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Fuse Layers — photo.xcf"
    text = dialog.source_label.text()
    assert text == "Fusing 3 layer(s) of photo.xcf · “Background” (640 × 480) first; the result becomes a new layer"
    assert "Editing" not in text and "whole layer" not in text
    assert not dialog.context_group.isVisibleTo(dialog)
    assert dialog.references_group.isVisibleTo(dialog)
    assert dialog.prompt_view.edit.placeholderText().startswith("Describe how to combine the layers")


def test_at_the_default_size_the_left_column_fits_with_the_whole_reference_list(qloop, qtbot, tmp_path, temp_home):
    job = write_job(tmp_path / "job", references=2)
    dialog = make_dialog(job, temp_home)
    qtbot.addWidget(dialog)

    async def scenario() -> None:
        await until(lambda: len(dialog.model.references) == 2, what="the layers as references")
        await until(lambda: scroll_bar(left_column(dialog)).maximum() == 0, timeout=2, what="the layout")

    qrun(qloop, scenario())
    assert (dialog.width(), dialog.height()) == (1180, 800)
    column = left_column(dialog)
    refs = dialog.references_view
    viewport = column.viewport()
    assert viewport is not None
    bottom = refs.mapTo(viewport, refs.rect().bottomLeft()).y()
    assert bottom <= viewport.height(), "the reference list and its buttons are cut off"


def test_more_sections_start_folded_and_are_remembered(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    params, context = dialog.params_view, dialog.context_view
    assert not params.background.isVisibleTo(dialog) and not params.moderation.isVisibleTo(dialog)
    assert not context.feather.isVisibleTo(dialog) and context.mode.isVisibleTo(dialog)
    assert params.model_combo.isVisibleTo(dialog) and params.size_combo.isVisibleTo(dialog)
    qtbot.mouseClick(params.more, Qt.MouseButton.LeftButton)
    assert params.background.isVisibleTo(dialog) and params.stream.isVisibleTo(dialog)
    assert not context.feather.isVisibleTo(dialog)  # each section folds on its own
    dialog.close()

    again = make_dialog(job_dir, temp_home)
    qtbot.addWidget(again)
    assert again.params_view.background.isVisibleTo(again) and again.params_view.more.isChecked()
    assert not again.context_view.feather.isVisibleTo(again)
    qtbot.mouseClick(again.params_view.more, Qt.MouseButton.LeftButton)
    assert not again.params_view.background.isVisibleTo(again)


def test_a_rule_broken_behind_more_unfolds_it(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    dialog.model.output_format = "jpeg"
    dialog.model.background = "transparent"
    assert "background" in dialog.model.violations
    assert dialog.params_view.background.isVisibleTo(dialog)
    assert dialog.params_view.messages["background"].text()


def test_after_cancel_no_tile_is_still_waiting(qloop, qtbot, job_dir, temp_home) -> None:
    with LocalServer(latency=3.0) as server:
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "a red flower"
            dialog.model.n = 3
            dialog.model.partial_images = 1
            dialog.run()
            await until(lambda: dialog.model.partials, what="a partial image")
            dialog.controller.cancel()
            await until(lambda: dialog.model.state == "idle", timeout=3, what="the cancel")

        qrun(qloop, scenario())
    tiles = dialog.results_view.tiles.values()
    assert all(t.view._placeholder != "Waiting…" or not t.view.image().isNull() for t in tiles)
    captions = [t.caption.text() for t in tiles]
    with_partial = [t for t in tiles if not t.view.image().isNull()]
    assert with_partial and all(t.caption.text().endswith("· Cancelled (not finished)") for t in with_partial)
    empty = [t for t in tiles if t.view.image().isNull()]
    assert all(t.view._placeholder == "Cancelled" for t in empty), captions


def test_insert_is_reported_as_an_event_with_its_time(qloop, qtbot, job_dir, temp_home, server) -> None:
    dialog = make_dialog(job_dir, temp_home, server)
    qtbot.addWidget(dialog)

    async def scenario() -> None:
        dialog.model.prompt = "fog"
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state == "done", what="the run")
        qtbot.mouseClick(dialog.results_view.tiles[0].insert_button, Qt.MouseButton.LeftButton)
        await until(lambda: outbox(job_dir), what="the outbox message")
        await until(lambda: "Inserted" in dialog.run_view.info.text(), what="the report")

    qrun(qloop, scenario())
    # After Ctrl+Z in GIMP the layer is gone but this stays true: it says when, not that it is there now.
    assert re.search(r"Inserted at \d\d:\d\d: fog #1", dialog.run_view.info.text()), dialog.run_view.info.text()
    assert dialog.model.inserted == {0}
    assert dialog.results_view.tiles[0].insert_button.text() == "Insert again"


def test_gimp_status_bar_says_open_while_idle_and_the_stage_while_running(qloop, qtbot, job_dir, temp_home):
    with LocalServer(latency=2.0) as server:
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)
        GimpLink(dialog, job_dir, None)
        idle = progress(job_dir)
        assert idle["text"].startswith("GPT Image dialog open") and "waiting for the model" not in idle["text"]
        assert idle["fraction"] == 0.0
        seen: list[str] = []

        async def scenario() -> None:
            dialog.model.prompt = "fog"
            dialog.run()
            await until(lambda: dialog.model.stage == "generating", what="the request")
            seen.append(progress(job_dir)["text"])
            await until(lambda: dialog.model.state == "done", what="the run")

        qrun(qloop, scenario())
    assert seen == ["GPT Image: Generating…"]
    assert progress(job_dir)["text"].startswith("GPT Image dialog open")


def test_gimps_cancel_while_idle_closes_at_once_when_nothing_is_left(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    link = GimpLink(dialog, job_dir, None)
    link._plugin_pid = -1  # as if GIMP had killed the plug-in: the dialog's parent is another process now

    async def scenario() -> None:
        await until(lambda: not dialog.isVisible(), timeout=3, what="the dialog to close")

    qrun(qloop, scenario())


def test_gimps_cancel_with_results_not_inserted_says_they_are_in_history(qloop, qtbot, job_dir, temp_home, server):
    dialog = make_dialog(job_dir, temp_home, server)
    qtbot.addWidget(dialog)
    link = GimpLink(dialog, job_dir, None)
    found: list[QMessageBox] = []

    async def scenario() -> None:
        dialog.model.prompt = "fog"
        dialog.model.n = 2
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state == "done", what="the run")
        qtbot.mouseClick(dialog.results_view.tiles[0].insert_button, Qt.MouseButton.LeftButton)
        await until(lambda: dialog.model.inserted == {0}, what="the insert")
        link._plugin_pid = -1
        await until(lambda: link.box is not None, timeout=3, what="the notice")
        assert link.box is not None
        found.append(link.box)
        assert dialog.isVisible()  # it waits for the painter to read where the results are
        close_button(link.box).click()
        await until(lambda: not dialog.isVisible(), timeout=3, what="the dialog to close")

    qrun(qloop, scenario())
    box = found[0]
    assert box.text().startswith("GIMP ended this GPT Image session (Cancel in its status bar, or GIMP closing)")
    assert box.informativeText().startswith("1 result(s) you did not insert are kept in history.")
    assert "History tab" in box.informativeText()


def test_transient_parent_is_only_set_where_qt_can_use_the_handle(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home, show=False)
    qtbot.addWidget(dialog)
    assert QApplication.platformName() == "offscreen"
    assert make_transient(dialog, ParentWindow("x11", 0x400007)) is None  # not on xcb: nothing to tie to
    assert make_transient(dialog, ParentWindow("wayland", "abc")) is None
    assert make_transient(dialog, None) is None


GIMP_WINDOW = """
import sys
from PyQt6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv[:1])
window = QWidget()
window.setWindowTitle("GIMP image window")
window.resize(400, 300)
window.show()
app.processEvents()
print(hex(int(window.winId())), flush=True)
sys.stdin.readline()
"""


def test_on_x11_the_dialog_is_transient_for_gimps_image_window(tmp_path: Path) -> None:
    """Real X server, two processes: a stand-in for GIMP's image window, and the dialog as the worker
    builds it; the X server then holds WM_TRANSIENT_FOR(dialog) = that window."""
    import os
    import subprocess
    import sys

    from desktop_helpers import xvfb

    job = write_job(tmp_path / "job")
    here = Path(__file__).resolve().parent
    with xvfb() as display:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(here)}
        gimp = subprocess.Popen(
            [sys.executable, "-c", GIMP_WINDOW], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert gimp.stdout is not None
            parent = gimp.stdout.readline().strip()
            assert parent.startswith("0x"), "the stand-in window did not start"
            run = subprocess.run(
                [
                    sys.executable,
                    str(here / "transient_check.py"),
                    parent,
                    str(job),
                    str(tmp_path / "home"),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert run.returncode == 0, run.stderr
            prop = run.stdout.strip().splitlines()[-1]
        finally:
            gimp.communicate("\n", timeout=10)
    assert prop == f"WM_TRANSIENT_FOR(WINDOW): window id # {parent}", prop


FAKE_PLUGIN = """
import sys, time
sys.path.insert(0, sys.argv[1])
import gptimage_ipc as ipc
job_dir = ipc.Path(sys.argv[2])
proc = ipc.start_worker(sys.executable, job_dir)
print(proc.pid, flush=True)
time.sleep(3600)  # like GIMP's plug-in waiting on its dialog, until GIMP's Cancel kills it
"""


def test_gimps_cancel_kills_the_plugin_and_the_idle_dialog_ends_with_its_worker(tmp_path: Path) -> None:
    """The real processes: a plug-in stand-in starts the real worker, whose dialog comes up (offscreen) and
    reports itself open; SIGKILL of the plug-in (what GIMP's Cancel does) ends the dialog, the worker and
    the job folder within moments."""
    import os
    import signal
    import subprocess
    import sys
    import time

    plugin_dir = Path(__file__).resolve().parent.parent / "gimp_gptimage" / "plugin" / "gptimage"
    job = write_job(tmp_path / "job", prompt="fog")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    plugin = subprocess.Popen(
        [sys.executable, "-c", FAKE_PLUGIN, str(plugin_dir), str(job)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert plugin.stdout is not None
        worker = int(plugin.stdout.readline())
        deadline = time.monotonic() + 60
        while not (job / "progress.json").exists() or "dialog open" not in progress(job)["text"]:
            assert time.monotonic() < deadline, (job / "worker.log").read_text(errors="replace")
            time.sleep(0.05)
        plugin.send_signal(signal.SIGKILL)
        plugin.wait(timeout=10)
        deadline = time.monotonic() + 20
        while True:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            # The worker is our grandchild: once it exits it is reaped by init, not left a zombie of ours.
            assert time.monotonic() < deadline, "the worker outlived the plug-in"
            time.sleep(0.05)
    finally:
        if plugin.poll() is None:
            plugin.kill()
    assert not job.exists(), "the worker removes the job folder of a plug-in that is gone"


def test_gimps_cancel_during_a_run_cancels_it_and_says_what_was_kept(qloop, qtbot, job_dir, temp_home) -> None:
    from gimp_gptimage.history import HistoryStore

    with LocalServer(latency=3.0) as server:
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)
        link = GimpLink(dialog, job_dir, None)
        texts: list[str] = []

        async def scenario() -> None:
            dialog.model.prompt = "a red flower"
            dialog.run()
            await until(lambda: dialog.model.stage == "generating", what="the request")
            link._plugin_pid = -1
            await until(lambda: link.box is not None, timeout=3, what="the notice")
            assert link.box is not None
            await until(lambda: dialog.model.state == "idle", timeout=3, what="the run to be cancelled")
            texts.append(link.box.informativeText())
            close_button(link.box).click()
            await until(lambda: not dialog.isVisible(), timeout=3, what="the dialog to close")

        qrun(qloop, scenario())
    assert texts[0].startswith("The run was cancelled; whatever had arrived is kept in history.")
    assert [e.status for e in HistoryStore(temp_home.data / "history").list()] == ["cancelled"]
