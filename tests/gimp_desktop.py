"""A desktop inside a GIMP root, driven as a person would: Xvfb, a window manager (openbox), xdotool for keys
and clicks, screenshots of the whole screen, and buttons found on screen by their label.

Buttons are found by sight: the root's Qt renders a push button with the same label in the same style, and
OpenCV looks for that text on a screenshot. Nothing in the dialog exists for the test's sake.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from gimp_harness import VENV_PYTHON, GimpSession

SCREEN = "2320x880x24"  # GIMP's window and the dialog side by side, for screenshots a reader can follow

# Run by the root's venv Python (PyQt6 from PyPI, as the README installs it) on the test's display.
GRAB_SCREEN = """
import sys
from PyQt6.QtWidgets import QApplication
app = QApplication(["grab"])
sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)
"""
RENDER_LABEL = """
import sys
from PyQt6.QtWidgets import QApplication, QLabel, QPushButton
app = QApplication(["render"])
widget = QPushButton(sys.argv[2]) if sys.argv[3] == "button" else QLabel(sys.argv[2])
widget.setStyleSheet(sys.argv[4])
widget.adjustSize()
sys.exit(0 if widget.grab().save(sys.argv[1]) else 1)
"""


@dataclass
class Desktop:
    session: GimpSession
    display: str
    shots: Path  # where screenshots are kept (host side)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb", **(extra or {})}

    def run(self, argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        return self.session.chroot(argv, self.env(), timeout=timeout)

    def xdotool(self, *args: str, timeout: float = 30) -> str:
        done = self.run(["xdotool", *args], timeout=timeout)
        if done.returncode != 0:
            pytest.fail(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}", pytrace=False)
        return done.stdout.strip()

    def wait_window(self, title_regex: str, timeout: float = 60) -> str:
        """The id of a visible window whose title matches, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.run(["xdotool", "search", "--onlyvisible", "--name", title_regex])
            ids = found.stdout.split()
            if ids:
                return ids[-1]
            time.sleep(0.2)
        self.screenshot("timeout-waiting-for-window")
        pytest.fail(f"no window titled /{title_regex}/ within {timeout} s", pytrace=False)

    def window_gone(self, window: str) -> bool:
        return self.run(["xdotool", "getwindowname", window]).returncode != 0

    def screenshot(self, name: str) -> np.ndarray:
        """Grab the whole screen into shots/NAME.png; returns it as a BGR array."""
        inner = f"{self.session.inner_dir}/out/screen-{name}.png"
        done = self.run([VENV_PYTHON, "-c", GRAB_SCREEN, inner])
        if done.returncode != 0:
            pytest.fail(f"screenshot failed: {done.stderr[-2000:]}", pytrace=False)
        self.shots.mkdir(parents=True, exist_ok=True)
        target = self.shots / f"{name}.png"
        target.write_bytes(self.session.host(inner).read_bytes())
        shot = cv2.imread(str(target), cv2.IMREAD_COLOR)
        if shot is None:
            pytest.fail(f"the screenshot {target} cannot be read", pytrace=False)
        return shot

    def find_text(
        self, label: str, shot_name: str, kind: str = "button", style: str = "", timeout: float = 20
    ) -> tuple[int, int, int]:
        """Screen coordinates of the centre of `label` on a button (or a label with a style sheet), found by
        its rendered text; plus the text's height."""
        template = self._label_template(label, kind, style)
        deadline = time.monotonic() + timeout
        best = 0.0
        while time.monotonic() < deadline:
            gray = cv2.cvtColor(self.screenshot(shot_name), cv2.COLOR_BGR2GRAY)
            scores = cv2.matchTemplate(gray, template, cv2.TM_CCOEFF_NORMED)
            _, best, _, (x, y) = cv2.minMaxLoc(scores)
            if best > 0.9:
                return x + template.shape[1] // 2, y + template.shape[0] // 2, template.shape[0]
            time.sleep(0.5)
        pytest.fail(f"button {label!r} not found on screen (best match {best:.2f})", pytrace=False)

    def click(self, window: str, x: int, y: int) -> None:
        self.xdotool("windowactivate", "--sync", window)
        self.xdotool("mousemove", "--sync", str(x), str(y), "click", "1")

    def post_mortem(self, name: str) -> Path:
        """After a wait timed out: a screenshot, and what each process of the worker's Python inside the root
        was doing (every thread's stack, by py-spy from the test's venv), kept beside the screenshots."""
        with_stacks = self.shots / f"{name}-stacks.txt"
        self.shots.mkdir(parents=True, exist_ok=True)
        self.screenshot(name)
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent))
        lines = []
        for found in processes_in(self.session.root.path, VENV_PYTHON):
            pid = found.split(":", 1)[0]
            lines.append(found)
            if spy is not None:
                done = subprocess.run([spy, "dump", "--pid", pid], capture_output=True, text=True, timeout=60)
                lines.append(done.stdout + done.stderr)
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                lines += [line for line in status.read_text().splitlines() if line.startswith(("VmRSS", "VmHWM"))]
        with_stacks.write_text("\n".join(lines) or "no worker process was alive\n")
        for log in self.session.host_dir.glob("home/**/*.log"):  # the worker's own, kept by the plug-in
            shutil.copyfile(log, self.shots / f"{name}-{log.name}")
        return with_stacks

    def _label_template(self, label: str, kind: str, style: str) -> np.ndarray:
        """The text as the root's Qt draws it on that widget: the dark pixels' box, with a small margin."""
        inner = f"{self.session.inner_dir}/out/label-{abs(hash((label, kind, style)))}.png"
        done = self.run([VENV_PYTHON, "-c", RENDER_LABEL, inner, label, kind, style])
        if done.returncode != 0:
            pytest.fail(f"rendering the button {label!r} failed: {done.stderr[-2000:]}", pytrace=False)
        button = cv2.imread(str(self.session.host(inner)), cv2.IMREAD_GRAYSCALE)
        if button is None:
            pytest.fail(f"the rendered button {label!r} cannot be read", pytrace=False)
        h, w = button.shape
        inside = button[3 : h - 3, 3 : w - 3]  # drop the frame
        ys, xs = np.nonzero(inside < 128)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        return inside[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2].copy()


@contextmanager
def desktop(session: GimpSession, shots: Path) -> Iterator[Desktop]:
    """Xvfb and openbox inside the session's root, for the duration of the block."""
    root = str(session.root.path)
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["chroot", root, "/usr/bin/Xvfb", "-displayfd", str(write_fd), "-screen", "0", SCREEN, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    wm = None
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            pytest.fail("Xvfb did not start inside the GIMP root", pytrace=False)
        display = f":{number}"
        # openbox runs the --startup command once it manages the screen: before that, activating a window fails.
        ready = f"{session.inner_dir}/out/wm-ready"
        command = [
            *("chroot", root, "/usr/bin/env", "-i", *session.env({"DISPLAY": display})),
            *("openbox", "--sm-disable", "--startup", f"touch {ready}"),
        ]
        wm = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not session.host(ready).exists():
            if time.monotonic() > deadline or wm.poll() is not None:
                pytest.fail("the window manager (openbox) did not start inside the GIMP root", pytrace=False)
            time.sleep(0.1)
        yield Desktop(session, display, shots)
    finally:
        for proc in (wm, xvfb):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


def processes_in(root: Path, needle: str) -> list[str]:
    """Command lines of live processes running inside `root` whose command line contains `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "root") != str(root):
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if needle in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found
