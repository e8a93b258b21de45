"""`python -m qt_ui.probe`: can this Python open a Qt window here? Used by `gimp-gptimage doctor` and install.

Opens a tiny frameless tool window off-screen, lets the window system map it, closes it and prints
"ok PLATFORM". When Qt cannot start its platform plug-in it aborts with its own explanation on stderr,
which the caller reads (gimp_gptimage/desktop.py). `--where` prints the xcb platform plug-in's path
without loading Qt, so the caller can ask `ldd` which system libraries it lacks.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PyQt6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "Qt6" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def open_window() -> str:
    from PyQt6.QtCore import Qt, QTimer
    from PyQt6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv[:1])
    flags = Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowDoesNotAcceptFocus
    window = QWidget(None, flags)
    window.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    window.setGeometry(-64, -64, 2, 2)  # off-screen: nothing flickers on the user's desktop
    window.setWindowOpacity(0.0)  # and invisible where a window manager pulls it back on screen
    window.show()
    shown: list[bool] = []

    def look() -> None:  # after the window system had time to map it
        handle = window.windowHandle()
        shown.append(handle is not None and handle.isExposed())
        window.close()
        app.quit()

    QTimer.singleShot(200, look)
    app.exec()
    if not shown or not shown[0]:
        raise SystemExit("Qt started but the window system did not show its window")
    return app.platformName()


def main(argv: list[str]) -> int:
    if argv[1:] == ["--where"]:
        print(xcb_plugin() or "")
        return 0
    print("ok", open_window())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
