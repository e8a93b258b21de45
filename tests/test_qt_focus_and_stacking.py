"""Focus and stacking of the dialog GIMP starts (offscreen, real widgets).

- Focus: the painter types the prompt at once, without clicking into it; Enter in a field presses no button
  (Run is Ctrl+Enter).
- Stacking: the dialog is kept above GIMP's image window where the system allows it. X11 is proven on a real
  X server (test_qt_gimp_window.py). The Windows path (GIMP's HWND bytes -> job -> QWindow.fromWinId ->
  transient parent, then GIMP's window made the owner after each show) runs here with Qt's platform name
  given and the two native calls (QWindow.fromWinId, SetWindowLongPtrW) replaced by recorders; macOS and
  Wayland are shown to leave the dialog an ordinary window. Not covered on Linux: the Win32 call itself
  (ctypes, user32.SetWindowLongPtrW(dialog, GWLP_HWNDPARENT, GIMP's window)), that it keeps the dialog above
  GIMP's window, and that GIMP on Windows hands over that window's HWND.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QWindow
from PyQt6.QtWidgets import QApplication, QPushButton
from qt_helpers import make_dialog, qrun, until, write_job

from gimp_gptimage import install as inst
from gimp_gptimage.jobs.jobfile import ParentWindow, load_job
from qt_ui.stacking import make_transient, transient_handle

sys.path.insert(0, str(inst.PLUGIN_SOURCE))
import gptimage_ipc as ipc  # the plug-in's module, imported as GIMP's Python does

pytest_plugins = ["qt_fixtures"]

HWND = 0x0003_04E2


class StandIn:
    """QWindow.fromWinId's place: records the handle asked for, answers with a local window."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.window = QWindow()

    def __call__(self, handle: int) -> QWindow:
        self.asked.append(handle)
        return self.window


def job_with_parent(tmp_path: Path, parent: dict | None) -> Path:
    job = write_job(tmp_path / "job")
    raw = json.loads((job / "job.json").read_text())
    raw["parent_window"] = parent
    (job / "job.json").write_text(json.dumps(raw))
    return job


def test_the_prompt_has_the_keyboard_focus_when_the_dialog_opens(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home, show=False)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qrun(qloop, until(lambda: QApplication.focusWidget() is not None, what="a focused widget"))
    focused = QApplication.focusWidget()
    assert focused is dialog.prompt_view.edit
    qtbot.keyClicks(focused, "a small green teapot")  # typed where the focus is, without a click
    assert dialog.model.prompt == "a small green teapot"


def test_a_prompt_passed_by_gimp_is_focused_with_the_cursor_at_its_end(qloop, qtbot, tmp_path, temp_home) -> None:
    job = write_job(tmp_path / "job", prompt="a teapot")
    dialog = make_dialog(job, temp_home, show=False)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qrun(qloop, until(lambda: QApplication.focusWidget() is dialog.prompt_view.edit, what="the prompt focused"))
    qtbot.keyClicks(dialog.prompt_view.edit, ", steaming")
    assert dialog.model.prompt == "a teapot, steaming"


def test_enter_in_a_field_presses_no_button(qloop, qtbot, job_dir, temp_home) -> None:
    """Qt makes the first auto-default button after the focused widget the dialog's default when it is shown
    (here "Add file…"): Enter in the Images box would open a file chooser."""
    dialog = make_dialog(job_dir, temp_home, show=False)
    qtbot.addWidget(dialog)
    dialog.references_view.add_requested.disconnect()  # were it clicked, no modal file chooser blocks the test
    dialog.show()
    buttons = dialog.findChildren(QPushButton)
    assert [b.text() for b in buttons if b.isDefault()] == []
    clicked: list[str] = []
    for button in buttons:
        button.clicked.connect(lambda _=False, b=button: clicked.append(b.text()))
    dialog.params_view.n.setFocus()
    qtbot.keyClick(dialog.params_view.n, Qt.Key.Key_Return)
    qtbot.wait(50)
    assert clicked == [] and dialog.model.state == "idle"


def test_gimps_hwnd_travels_from_the_plugin_to_the_dialogs_owner_window(qloop, qtbot, tmp_path, temp_home):
    parent = ipc.describe_window_handle(HWND.to_bytes(8, sys.byteorder), "win32")
    assert parent == {"system": "windows", "handle": HWND}
    assert "QT_QPA_PLATFORM" not in ipc.worker_env(parent, {"PATH": "C:\\Windows"})  # Qt's own default: windows
    job = job_with_parent(tmp_path, parent)
    assert load_job(job).parent_window == ParentWindow("windows", HWND)
    dialog = make_dialog(job, temp_home, show=False)
    qtbot.addWidget(dialog)
    stand_in, owners = StandIn(), []
    foreign = make_transient(
        dialog,
        load_job(job).parent_window,
        qt_platform="windows",
        foreign_window=stand_in,
        set_owner=lambda hwnd, owner: owners.append((hwnd, owner)),
    )
    assert stand_in.asked == [HWND]
    assert foreign is stand_in.window
    window = dialog.windowHandle()
    assert window is not None and window.transientParent() is stand_in.window
    assert owners == [], "the owner is set once the window is shown (Qt clears it while showing)"
    dialog.show()
    qtbot.waitUntil(lambda: len(owners) == 1)
    assert owners == [(int(dialog.winId()), HWND)]
    dialog.hide()
    dialog.show()  # Qt clears the owner on every show: it is set again
    qtbot.waitUntil(lambda: len(owners) == 2)
    assert owners[1] == (int(dialog.winId()), HWND)


def test_on_x11_no_owner_call_is_made(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home, show=False)
    qtbot.addWidget(dialog)
    stand_in, owners = StandIn(), []
    foreign = make_transient(
        dialog,
        ParentWindow("x11", HWND),
        qt_platform="xcb",
        foreign_window=stand_in,
        set_owner=lambda *a: owners.append(a),
    )
    assert foreign is stand_in.window and stand_in.asked == [HWND]
    dialog.show()
    qtbot.wait(50)
    assert owners == [], "on X11 WM_TRANSIENT_FOR (set by Qt) is all the window manager needs"


@pytest.mark.parametrize(
    ("parent", "qt_platform"),
    [
        (ParentWindow("macos", HWND), "cocoa"),  # GIMP's handle on macOS is no window Qt can adopt
        (ParentWindow("wayland", "xdg-foreign-handle"), "wayland"),  # no public Qt API for xdg-foreign
        (ParentWindow("windows", HWND), "offscreen"),
        (ParentWindow("x11", HWND), "windows"),  # a handle from another system than Qt's
        (ParentWindow("windows", "not-a-number"), "windows"),
        (ParentWindow("windows", True), "windows"),
        (None, "windows"),
    ],
)
def test_elsewhere_the_dialog_stays_an_ordinary_window(qloop, qtbot, job_dir, temp_home, parent, qt_platform):
    dialog = make_dialog(job_dir, temp_home, show=False)
    qtbot.addWidget(dialog)
    stand_in = StandIn()
    assert transient_handle(parent, qt_platform) is None
    owners = []
    made = make_transient(
        dialog, parent, qt_platform=qt_platform, foreign_window=stand_in, set_owner=lambda *a: owners.append(a)
    )
    assert made is None
    dialog.show()
    qtbot.wait(50)
    assert owners == []
    assert stand_in.asked == [], "no foreign window is even looked up"
    window = dialog.windowHandle()
    assert window is None or window.transientParent() is None


def test_a_macos_gimp_handle_is_passed_as_macos_and_changes_nothing_in_the_workers_environment() -> None:
    parent = ipc.describe_window_handle((0x7F00_1234_5678).to_bytes(8, sys.byteorder), "darwin")
    assert parent == {"system": "macos", "handle": 0x7F00_1234_5678}
    assert "QT_QPA_PLATFORM" not in ipc.worker_env(parent, {"DISPLAY": ":0"})
