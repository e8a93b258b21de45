"""Keep the dialog above GIMP's image window it was started from, as GIMP keeps its own plug-in dialogs.

The plug-in passes that window's native handle (gptimage_ipc.describe_window_handle). On X11 the dialog is
made transient for it (WM_TRANSIENT_FOR; the window manager keeps it above). On Windows GIMP's window is
made the dialog's owner window (SetWindowLongPtr GWLP_HWNDPARENT, what GDK's win32 backend does for GIMP's
own plug-in dialogs): Qt's windows plug-in sets no owner for a foreign transient parent and clears any
owner each time it shows the window (Qt 6.8, qwindowswindow.cpp, updateTransientParent: windowsWindowOf()
is null for a foreign window), so the owner is set just after each show. On Wayland GIMP's handle is an
xdg-foreign string Qt offers no public way to use, and on macOS GIMP passes no usable handle: there the
dialog is an ordinary window (README, "Use it in GIMP 3")."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from PyQt6.QtCore import QTimer
from PyQt6.QtGui import QGuiApplication, QWindow
from PyQt6.QtWidgets import QWidget

from gimp_gptimage.jobs.jobfile import ParentWindow

# (handle kind from the plug-in, Qt platform) pairs where QWindow.fromWinId gives a usable parent.
TRANSIENT_PLATFORMS = {("x11", "xcb"), ("windows", "windows")}
GWLP_HWNDPARENT = -8  # SetWindowLongPtr's index of a top-level window's owner


def set_win32_owner(hwnd: int, owner: int) -> None:
    """Make `owner` the owner window of `hwnd`: Windows keeps an owned window above its owner."""
    import ctypes

    set_long = ctypes.windll.user32.SetWindowLongPtrW  # type: ignore[attr-defined]
    set_long.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
    set_long.restype = ctypes.c_void_p
    set_long(hwnd, GWLP_HWNDPARENT, owner)


def transient_handle(parent: ParentWindow | None, qt_platform: str) -> int | None:
    """GIMP's window handle when this Qt platform can use it as a transient parent (TRANSIENT_PLATFORMS)."""
    if parent is None or not isinstance(parent.handle, int) or isinstance(parent.handle, bool):
        return None
    if (parent.system, qt_platform) not in TRANSIENT_PLATFORMS:
        return None
    return parent.handle


def make_transient(
    widget: QWidget,
    parent: ParentWindow | None,
    *,
    qt_platform: str | None = None,
    foreign_window: Callable[[int], QWindow | None] = QWindow.fromWinId,  # type: ignore[assignment]  # WId: an int works
    set_owner: Callable[[int, int], None] = set_win32_owner,
) -> QWindow | None:
    """Make `widget`'s window transient for GIMP's window (call before it is shown); returns the foreign
    parent (keep it alive).

    `qt_platform` (default: the running one), `foreign_window` (QWindow.fromWinId: an X Window id on xcb, an
    HWND on windows) and `set_owner` (the Win32 call) are parameters so the Windows path runs on Linux too."""
    handle = transient_handle(parent, qt_platform or QGuiApplication.platformName())
    if handle is None:
        return None
    foreign = foreign_window(handle)
    if foreign is None:
        return None
    widget.winId()  # creates the native window, so there is a QWindow to tie
    window = widget.windowHandle()
    if window is None:
        return None
    window.setTransientParent(foreign)
    if parent is not None and parent.system == "windows":
        # visibleChanged comes before Qt shows the native window (and clears its owner): set it a turn later.
        def own() -> None:
            with contextlib.suppress(RuntimeError):  # the dialog was deleted in between: nothing to own
                set_owner(int(widget.winId()), handle)

        def own_later(shown: bool) -> None:
            if shown:
                QTimer.singleShot(0, own)

        window.visibleChanged.connect(own_later)
    return foreign
