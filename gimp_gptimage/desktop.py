"""Can the dialog's Python open a window on this desktop? If not, which system libraries are missing?

`gimp-gptimage doctor` and `install` ask this, and so does the plug-in when its worker dies (it runs
`python -m gimp_gptimage.desktop`). The probe is real: the recorded Python starts Qt with the platform the
dialog will use (xcb on Linux: GIMP 3's windows are X11 or XWayland ones) and opens and closes a hidden
window (qt_ui/probe.py). On Linux `ldd` then names the libraries Qt's xcb plug-in cannot find; which
package brings each is written down in plugin/gptimage/gptimage_diag.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from gimp_gptimage.plugin.gptimage import gptimage_diag as diag

PROBE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class WindowProbe:
    python: str
    ok: bool
    tried: bool = True  # False: there was no display to open a window on (only the libraries were checked)
    platform: str = ""
    reason: str = ""  # what Qt or Python said, when not ok
    missing: list[str] = field(default_factory=list)  # sonames

    def lines(self) -> list[str]:
        """Doctor's report: one status line, then what to do."""
        if self.ok:
            return [f"dialog window: ok (Qt platform '{self.platform}', {self.python})"]
        if not self.tried and not self.missing:
            return [f"dialog window: not tried ({self.reason}); Qt's system libraries: all found"]
        head = "dialog window: not tried" if not self.tried else "dialog window: CANNOT OPEN"
        if self.missing:
            lines = [f"{head}: missing system libraries {', '.join(self.missing)} ({self.python})"]
            lines.append("  install them with one of:")
            lines.extend(f"    {command}" for command in diag.install_commands(self.missing))
            return lines
        return [f"{head}: {self.reason or 'Qt stopped without saying why'} ({self.python})"]


def _no_display(env: dict[str, str]) -> str:
    """Why no window can be tried here, or '' when it can (Windows and macOS always have a desktop)."""
    if not sys.platform.startswith("linux") or env.get("DISPLAY"):
        return ""
    if env.get("WAYLAND_DISPLAY"):
        return "a Wayland session without XWayland's $DISPLAY"
    return "no X display: $DISPLAY is not set"


def probe_window(python: str | None = None, environ: dict[str, str] | None = None) -> WindowProbe:
    """Start `python -m qt_ui.probe` as the dialog would start, and explain a failure."""
    python = python or sys.executable
    env = dict(os.environ if environ is None else environ)
    linux = sys.platform.startswith("linux")
    if linux:
        env["QT_QPA_PLATFORM"] = "xcb"
        env["QT_DEBUG_PLUGINS"] = "1"  # the only way Qt names the library its xcb plug-in failed on
    for name in ("PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    no_display = _no_display(env)
    output, ok, platform = "", False, ""
    if not no_display:
        try:
            run = subprocess.run(
                [python, "-m", "qt_ui.probe"],
                env=env,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=PROBE_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return WindowProbe(python, False, reason=f"Qt did not open a window within {PROBE_TIMEOUT_S:.0f} s")
        except OSError as exc:
            return WindowProbe(python, False, reason=f"cannot run {python}: {exc.strerror or exc}")
        output = run.stdout + run.stderr
        words = run.stdout.split()
        ok = run.returncode == 0 and words[:1] == ["ok"]
        platform = words[1] if ok and len(words) > 1 else ""
    missing = diag.missing_libraries(output + (_ldd_report(python, env) if linux else ""))
    if ok:
        return WindowProbe(python, True, platform=platform)
    if no_display:
        return WindowProbe(python, False, tried=False, reason=no_display, missing=missing)
    return WindowProbe(python, False, reason=diag.telling_line(_without_debug(output)), missing=missing)


def _without_debug(output: str) -> str:
    """Qt's plug-in debugging output is long; the reason is in its ordinary messages."""
    return "\n".join(
        line
        for line in output.splitlines()
        if not line.startswith(("qt.core.plugin", "qt.core.library")) and not line.startswith((" ", "\t", "{", "}"))
    )


def _ldd_report(python: str, env: dict[str, str]) -> str:
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        where = subprocess.run(
            [python, "-m", "qt_ui.probe", "--where"], env=env, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        ).stdout.strip()
        if not where:
            return ""
        return subprocess.run([ldd, where], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def main() -> int:
    """For the plug-in: print what doctor would say about the window, exit 1 when it cannot open."""
    result = probe_window()
    print("\n".join(result.lines()))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
