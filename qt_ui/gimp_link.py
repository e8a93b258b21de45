"""The dialog's ties to the GIMP session that started it: stacking, GIMP's status bar, the plug-in's life.

- Stacking: the dialog is kept above the image window it was started from where the system allows it
  (qt_ui/stacking.py).
- Status bar: the plug-in shows whatever the dialog writes to progress.json. Idle, it says the dialog is
  open (never "waiting for the model"); running, the stage.
- GIMP's status-bar Cancel kills the plug-in. The dialog notices (on POSIX its parent process changes, on
  Windows the parent's process handle is signalled) and closes as its own Close does; results shown but
  not inserted are in history, and it says so first.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtWidgets import QMessageBox

from gimp_gptimage.jobs.jobfile import ParentWindow, write_progress

from .run_view import stage_text
from .stacking import make_transient

if TYPE_CHECKING:
    from .dialog import GptImageDialog

WATCH_INTERVAL_MS = 500


def plugin_alive(pid: int) -> bool:
    """Is the process that started this one (the plug-in) still there?"""
    if os.name == "posix":
        return os.getppid() == pid  # an orphan is adopted by another process
    import ctypes  # Windows: a parent's exit does not change getppid(); ask the process handle

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    synchronize, wait_timeout = 0x00100000, 0x102
    handle = kernel32.OpenProcess(synchronize, False, pid)
    if not handle:
        return False
    try:
        return kernel32.WaitForSingleObject(handle, 0) == wait_timeout
    finally:
        kernel32.CloseHandle(handle)


class GimpLink(QObject):
    """Attach to a dialog started by the plug-in (see module docstring)."""

    def __init__(self, dialog: GptImageDialog, job_dir: Path, parent: ParentWindow | None) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self.model = model = dialog.model
        self.job_dir = Path(job_dir)
        self.foreign_parent = make_transient(dialog, parent)
        self._plugin_pid = os.getppid()
        self._gone = False
        self.box: QMessageBox | None = None  # the notice shown when GIMP ended the session
        model.state_changed.connect(self._report)
        model.stage_changed.connect(self._report)
        model.progress_changed.connect(self._report)
        self._report()
        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_INTERVAL_MS)
        self._watch.timeout.connect(self._check_plugin)
        self._watch.start()

    # -- GIMP's status bar ----------------------------------------------------------------------------------

    def status(self) -> tuple[str, float | None]:
        """The text and fraction GIMP's status bar should show now (None: a busy pulse)."""
        m = self.model
        if m.state == "running":
            stage = stage_text(m.stage) if m.stage else self.tr("Working")
            return self.tr("GPT Image: %1…").replace("%1", stage), m.progress
        return self.tr("GPT Image dialog open (Cancel here closes it; results stay in its history)"), 0.0

    def _report(self, *_: object) -> None:
        text, fraction = self.status()
        with contextlib.suppress(OSError):  # the job folder went with the plug-in: nobody reads it any more
            write_progress(self.job_dir, self.model.state, fraction, text)

    # -- the plug-in's life -------------------------------------------------------------------------------

    def _check_plugin(self) -> None:
        if not plugin_alive(self._plugin_pid):
            self.plugin_gone()

    def plugin_gone(self) -> None:
        """GIMP's Cancel (or GIMP closing) ended the plug-in: nothing can be inserted any more. Close like
        Close does; if a run was going or shown results were never inserted, first say where they are."""
        if self._gone:
            return
        self._gone = True
        self._watch.stop()
        m = self.dialog.model
        was_running = m.state == "running"
        if was_running:
            self.dialog.controller.cancel()  # whatever had arrived is in history already
        left = [r for r in m.results if r.index not in m.inserted]
        if not left and not was_running:
            self.dialog.close()
            return
        parts = []
        if was_running:
            parts.append(self.tr("The run was cancelled; whatever had arrived is kept in history."))
        if left:
            parts.append(self.tr("%n result(s) you did not insert are kept in history.", "", len(left)))
        parts.append(self.tr("Open GPT Image again and insert them from its History tab."))
        box = QMessageBox(
            QMessageBox.Icon.Information,
            self.tr("GPT Image"),
            self.tr(
                "GIMP ended this GPT Image session (Cancel in its status bar, or GIMP closing): results can no "
                "longer be inserted into the image."
            ),
            QMessageBox.StandardButton.Close,
            self.dialog,
        )
        box.setInformativeText(" ".join(parts))
        box.finished.connect(lambda _code: self.dialog.close())
        self.box = box
        box.open()
