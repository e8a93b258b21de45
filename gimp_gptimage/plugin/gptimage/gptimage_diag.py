"""What went wrong when the dialog's Python could not open a window, in words a user can act on.

Standard library only: the plug-in uses it for the message shown when the worker dies, and
`gimp-gptimage doctor` (gimp_gptimage/desktop.py) for its probe. PyQt6's wheels bundle Qt but not the
X11/EGL system libraries its xcb platform plug-in loads; which ones are missing, and the package that
brings each on the common Linux distributions, is written down here once.
"""

from __future__ import annotations

import re

# soname -> (Debian/Ubuntu, Fedora, Arch) package. Qt 6's xcb platform plug-in and QtGui need these.
SYSTEM_LIBRARIES: dict[str, tuple[str, str, str]] = {
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libSM.so.6": ("libsm6", "libSM", "libsm"),
    "libICE.so.6": ("libice6", "libICE", "libice"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb", "libxcb"),
}
# What a desktop with GIMP but without Qt usually lacks (checked on Debian/Ubuntu): the README's list.
USUALLY_MISSING = (
    "libEGL.so.1",
    "libxkbcommon-x11.so.0",
    "libxcb-cursor.so.0",
    "libxcb-icccm.so.4",
    "libxcb-keysyms.so.1",
    "libxcb-xkb.so.1",
    "libxcb-image.so.0",
    "libxcb-render-util.so.0",
    "libxcb-shape.so.0",
)
DISTRIBUTIONS = (
    ("Debian/Ubuntu", "sudo apt install"),
    ("Fedora", "sudo dnf install"),
    ("Arch", "sudo pacman -S --needed"),
)

_MISSING_OBJECT = re.compile(r"(lib[\w.+-]+\.so(?:\.\d+)*): cannot open shared object file")
_XCB_CURSOR_NEEDED = re.compile(r"xcb-cursor0 or libxcb-cursor0 is needed")
_NO_DISPLAY = re.compile(r"could not connect to display", re.IGNORECASE)
_LDD_NOT_FOUND = re.compile(r"^\s*(lib[\w.+-]+\.so(?:\.\d+)*)\s+=>\s+not found", re.MULTILINE)

# Lines that say what is wrong, best first. Qt ends with "Available platform plugins are: ..." and Python's
# abort with nothing useful: the last line is rarely the one to show.
_TELLING = (
    re.compile(r"cannot open shared object file"),
    _NO_DISPLAY,
    re.compile(r"is needed to load the Qt xcb platform plugin"),
    re.compile(r"Could not load the Qt platform plugin"),
    re.compile(r"^\w*(Error|Exception)\b.*:"),  # a Python exception's last line
)
_NOISE = re.compile(
    r"^(Available platform plugins are|This application failed to start|Reinstalling the application|"
    r"Aborted|Traceback|\s+File |\s+\^)"
)


def telling_line(log: str) -> str:
    """The line of a worker's (or probe's) output that explains a failure; '' when there is nothing."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for pattern in _TELLING:
        for line in lines:
            if pattern.search(line):
                return _strip_category(line)
    useful = [line for line in lines if not _NOISE.match(line)]
    return _strip_category(useful[-1]) if useful else ""


def is_window_failure(log: str) -> bool:
    """Did Qt fail to reach the window system (platform plug-in, display, a missing system library)?"""
    return bool(_MISSING_OBJECT.search(log) or _NO_DISPLAY.search(log) or "Qt platform plugin" in log)


def _strip_category(line: str) -> str:
    return re.sub(r"^qt\.[\w.]+:\s*", "", line)


def missing_libraries(text: str) -> list[str]:
    """Sonames that Qt's output or `ldd`'s report as missing, in order of appearance, without repeats."""
    found = [*_MISSING_OBJECT.findall(text), *_LDD_NOT_FOUND.findall(text)]
    if not found and _XCB_CURSOR_NEEDED.search(text) and not _NO_DISPLAY.search(text):
        # Qt 6.5+ says this whenever its xcb plug-in fails, even for an unreachable display: trust it only
        # when nothing else explains the failure.
        found.append("libxcb-cursor.so.0")
    return list(dict.fromkeys(found))


def install_commands(libraries: list[str]) -> list[str]:
    """One 'Debian/Ubuntu: sudo apt install ...' line per distribution for the given sonames."""
    lines = []
    for column, (name, command) in enumerate(DISTRIBUTIONS):
        packages = [SYSTEM_LIBRARIES[lib][column] for lib in libraries if lib in SYSTEM_LIBRARIES]
        if packages:
            lines.append(f"{name}: {command} {' '.join(dict.fromkeys(packages))}")
    return lines
