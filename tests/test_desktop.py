"""The dialog's Python on a desktop: the window probe (real Qt, real X server), what it says when system
libraries are missing (really removed from the process's view), and the worker-death message and logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from desktop_helpers import hiding, xvfb

from gimp_gptimage import desktop, gimp_found
from gimp_gptimage import install as inst
from gimp_gptimage.plugin.gptimage import gptimage_diag as diag

PLUGIN_DIR = Path(inst.PLUGIN_SOURCE)
sys.path.insert(0, str(PLUGIN_DIR))
import gptimage_ipc as ipc  # noqa: E402
import gptimage_keep as keep  # noqa: E402

# What Qt 6.9 really printed here when libxcb-icccm.so.4 was missing (without QT_DEBUG_PLUGINS): it blames
# xcb-cursor, which was installed. Only ldd or Qt's plug-in debugging names the real culprit.
QT_ABORT = """\
qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin.
qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.
This application failed to start because no Qt platform plugin could be initialized. Reinstalling the \
application may fix this problem.

Available platform plugins are: minimal, linuxfb, offscreen, xcb, wayland-egl, wayland, eglfs, vnc.
"""


def probe_env(display: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    if display:
        env["DISPLAY"] = display
    return env


def test_probe_opens_and_closes_a_real_window_on_x() -> None:
    with xvfb() as display:
        result = desktop.probe_window(sys.executable, probe_env(display))
    assert result.ok and result.platform == "xcb", result
    assert result.lines() == [f"dialog window: ok (Qt platform 'xcb', {sys.executable})"]


def test_missing_system_libraries_are_named_with_install_commands() -> None:
    with xvfb() as display:
        run = subprocess.run(
            hiding(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"], [sys.executable, "-m", "gimp_gptimage.desktop"]),
            env=probe_env(display),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(
        "dialog window: CANNOT OPEN: missing system libraries libxcb-icccm.so.4, libxcb-keysyms.so.1"
    )
    assert "    Debian/Ubuntu: sudo apt install libxcb-icccm4 libxcb-keysyms1" in lines
    assert "    Fedora: sudo dnf install xcb-util-wm xcb-util-keysyms" in lines
    assert "    Arch: sudo pacman -S --needed xcb-util-wm xcb-util-keysyms" in lines


def test_missing_egl_breaks_qtgui_itself_and_is_named() -> None:
    with xvfb() as display:
        run = subprocess.run(
            hiding(["libEGL.so.1"], [sys.executable, "-m", "gimp_gptimage.desktop"]),
            env=probe_env(display),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert "missing system libraries libEGL.so.1" in run.stdout, run.stdout + run.stderr
    assert "Debian/Ubuntu: sudo apt install libegl1" in run.stdout


def test_without_a_display_only_the_libraries_are_checked() -> None:
    result = desktop.probe_window(sys.executable, probe_env(None))
    assert not result.ok and not result.tried
    assert result.lines() == [
        "dialog window: not tried (no X display: $DISPLAY is not set); Qt's system libraries: all found"
    ]


def test_an_unreachable_display_is_said_as_such_not_blamed_on_libraries() -> None:
    result = desktop.probe_window(sys.executable, probe_env(":4711"))
    assert not result.ok and result.missing == []
    assert "could not connect to display :4711" in result.lines()[0]


def test_qt_output_gives_its_telling_line_not_the_last() -> None:
    assert diag.telling_line(QT_ABORT) == (
        "From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin."
    )
    assert diag.missing_libraries(QT_ABORT) == ["libxcb-cursor.so.0"]
    gui = (
        'Traceback (most recent call last):\n  File "x", line 1\n'
        "ImportError: libEGL.so.1: cannot open shared object file: No such file or directory\n"
    )
    assert diag.telling_line(gui).startswith("ImportError: libEGL.so.1: cannot open shared object file")
    assert diag.missing_libraries(gui) == ["libEGL.so.1"]
    ldd = "\tlibxcb-icccm.so.4 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n"
    assert diag.missing_libraries(QT_ABORT + ldd) == ["libxcb-icccm.so.4"]  # a named culprit beats Qt's guess
    assert diag.telling_line("plain\nRuntimeError: boom\nAborted\n") == "RuntimeError: boom"


def test_every_library_maps_to_a_package_on_each_distribution() -> None:
    for soname, packages in diag.SYSTEM_LIBRARIES.items():
        assert len(packages) == len(diag.DISTRIBUTIONS) and all(packages), soname
    assert set(diag.USUALLY_MISSING) <= set(diag.SYSTEM_LIBRARIES)


def test_the_readme_lists_the_same_packages_as_doctor() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for line in diag.install_commands(list(diag.USUALLY_MISSING)):
        name, command = line.split(": ", 1)
        if name == "Debian/Ubuntu":
            command = command.replace("apt install", "apt install python3-venv")
        assert f"| {name} | `{command}` |" in readme, line


def fake_qt_worker(tmp_path: Path) -> str:
    """A 'Python' that dies as the dialog's did in GIMP 3.0.4 on a fresh desktop; `-m gimp_gptimage.desktop`
    (the diagnosis the plug-in asks for) answers like the real probe would there."""
    path = tmp_path / "python"
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$2" = gimp_gptimage.desktop ]; then\n'
        "  echo 'dialog window: CANNOT OPEN: missing system libraries libxcb-icccm.so.4 (python)'\n"
        "  echo '    Debian/Ubuntu: sudo apt install libxcb-icccm4'; exit 1\nfi\n"
        f"cat >&2 <<'T'\n{QT_ABORT}T\nkill -ABRT $$\n"
    )
    path.chmod(0o755)
    return str(path)


def test_worker_death_shows_qts_line_the_diagnosis_and_the_kept_log(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    logs = tmp_path / "data" / "logs"
    (plugin / inst.CONFIG_NAME).write_text(json.dumps({"python": "x", "logs": str(logs)}))
    job_dir = ipc.create_job_dir()
    try:
        log = keep.new_log(plugin)
        python = fake_qt_worker(tmp_path)
        proc = ipc.start_worker(python, job_dir, log)
        with pytest.raises(ipc.JobError) as caught:
            ipc.wait_for_job(proc, job_dir, lambda _r: None, lambda _p: None, 0.02, log=log, python=python)
    finally:
        ipc.remove_job_dir(job_dir)
    lines = str(caught.value).splitlines()
    assert lines[0] == (
        "The GPT Image worker stopped unexpectedly (exit code -6): From 6.5.0, xcb-cursor0 or libxcb-cursor0 "
        "is needed to load the Qt xcb platform plugin."
    )
    assert "missing system libraries libxcb-icccm.so.4" in lines[1]
    assert "sudo apt install libxcb-icccm4" in lines[2]
    assert lines[-1] == f"Its log is kept in {log}"
    assert log is not None and log.parent == logs and "Available platform plugins" in log.read_text()


def test_logs_are_kept_to_the_last_few(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    logs = tmp_path / "logs"
    (plugin / inst.CONFIG_NAME).write_text(json.dumps({"python": "x", "logs": str(logs)}))
    logs.mkdir()
    for i in range(keep.KEEP_LOGS + 5):
        old = logs / f"worker-old-{i:02d}.log"
        old.write_text("x")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    fresh = keep.new_log(plugin)
    assert fresh is not None
    fresh.write_text("new")
    names = sorted(p.name for p in logs.glob("worker-*.log"))
    assert len(names) == keep.KEEP_LOGS and fresh.name in names
    assert "worker-old-00.log" not in names and f"worker-old-{keep.KEEP_LOGS + 4:02d}.log" in names
    assert keep.new_log(tmp_path / "no-record") is None  # an older install: the log stays in the job folder


def test_job_folders_of_dead_runs_are_removed_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan, live, fresh = (tmp_path / f"{ipc.JOB_PREFIX}{name}" for name in ("orphan", "live", "fresh"))
    for folder in (orphan, live, fresh):
        folder.mkdir()
    (orphan / keep.PIDS_FILE).write_text(json.dumps([dead.pid, dead.pid]))
    (live / keep.PIDS_FILE).write_text(json.dumps([dead.pid, os.getpid()]))  # its worker (here: us) lives
    old = time.time() - 3600
    for folder in (orphan, live):
        os.utime(folder, (old, old))
    assert keep.remove_orphan_job_dirs(tmp_path) == [orphan]
    assert live.is_dir() and fresh.is_dir()


def fake_gimp(tmp_path: Path, version: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / f"gimp-{version[:3]}"
    program.write_text(f"#!/bin/sh\necho 'GNU Image Manipulation Program version {version}'\n")
    program.chmod(0o755)
    return bin_dir


def test_install_before_gimp_ever_ran_names_the_version_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GIMP3_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(fake_gimp(tmp_path, "3.2.6")))
    assert gimp_found.find_installed("linux") == [gimp_found.InstalledGimp("3.2.6", str(tmp_path / "bin/gimp-3.2"))]
    with pytest.raises(inst.InstallError) as caught:
        inst.install()
    message = str(caught.value)
    program, folder = tmp_path / "bin" / "gimp-3.2", tmp_path / "config" / "GIMP" / "3.2"
    assert f"GIMP 3.2.6 ({program}) has not been started yet: would create {folder}." in message
    assert "Start GIMP once and quit it" in message and "--gimp-dir" in message
    assert not (tmp_path / "config" / "GIMP").exists(), "never create GIMP's folder: it would skip migration"


def test_install_with_only_gimp2_says_gimp3_is_needed(tmp_path: Path) -> None:
    advice = gimp_found.first_start_advice([gimp_found.InstalledGimp("2.10.34", "/usr/bin/gimp")], lambda _g: None)
    assert advice.startswith("GPT Image needs GIMP 3.0 or 3.2. Found only GIMP 2.10.34 (/usr/bin/gimp).")


def test_install_records_the_logs_folder(tmp_path: Path) -> None:
    (folder,) = inst.install(tmp_path / "gimp")
    record = json.loads((folder / inst.CONFIG_NAME).read_text())
    assert record["logs"] == str(inst.logs_dir())
    assert keep.logs_dir(folder) == inst.logs_dir()


@pytest.mark.parametrize(
    ("raw", "platform", "expected"),
    [
        ((0x04A00007).to_bytes(8, sys.byteorder), "linux", {"system": "x11", "handle": 0x04A00007}),
        ((0x1234).to_bytes(8, sys.byteorder), "win32", {"system": "windows", "handle": 0x1234}),
        (b"7b1c-wayland-handle\0", "linux", {"system": "wayland", "handle": "7b1c-wayland-handle"}),
        (b"", "linux", None),
        (bytes(8), "linux", None),
    ],
)
def test_gimp_window_handles_are_decoded_as_libgimpwidgets_does(raw: bytes, platform: str, expected: object) -> None:
    assert ipc.describe_window_handle(raw, platform) == expected


PLUGIN_STAND_IN = """
import json, sys
sys.path.insert(0, sys.argv[1])
import gptimage_ipc as ipc, gptimage_keep as keep
plugin_dir, job_dir = ipc.Path(sys.argv[2]), ipc.Path(sys.argv[3])
log = keep.new_log(plugin_dir)
proc = ipc.start_worker(sys.executable, job_dir, log)
try:
    ipc.wait_for_job(proc, job_dir, lambda r: None, lambda p: None, 0.05, log=log, python=sys.executable)
except ipc.JobError as exc:
    print(exc)
"""


def gimp_run_without(sonames: list[str], tmp_path: Path, display: str) -> list[str]:
    """An interactive job run as GIMP runs it (plug-in side, real worker, real Qt on X), on a desktop that
    lacks `sonames`; returns the lines of the message GIMP would show."""
    from qt_helpers import write_job

    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / inst.CONFIG_NAME).write_text(json.dumps({"python": sys.executable, "logs": str(tmp_path / "logs")}))
    job = write_job(tmp_path / "job", prompt="fog")
    env = {**probe_env(display), "QT_QPA_PLATFORM": "xcb"}
    argv = [sys.executable, "-c", PLUGIN_STAND_IN, str(PLUGIN_DIR), str(plugin), str(job)]
    run = subprocess.run(hiding(sonames, argv), env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()


def test_in_gimp_a_missing_xcb_library_is_named_where_qt_blames_another(tmp_path: Path) -> None:
    with xvfb() as display:
        lines = gimp_run_without(["libxcb-icccm.so.4"], tmp_path, display)
    assert lines[0].startswith("The GPT Image worker stopped unexpectedly (exit code -6): From 6.5.0, xcb-cursor0")
    assert lines[1].startswith("dialog window: CANNOT OPEN: missing system libraries libxcb-icccm.so.4")
    assert "    Debian/Ubuntu: sudo apt install libxcb-icccm4" in lines
    assert lines[-1].startswith(f"Its log is kept in {tmp_path / 'logs'}/worker-")
    log = Path(lines[-1].removeprefix("Its log is kept in "))
    assert "Could not load the Qt platform plugin" in log.read_text()


def test_in_gimp_a_missing_egl_is_named_with_its_package(tmp_path: Path) -> None:
    with xvfb() as display:
        lines = gimp_run_without(["libEGL.so.1"], tmp_path, display)
    assert lines[0].startswith("Configuration problem")
    assert "a system library Qt needs is missing (libEGL.so.1: cannot open shared object file" in lines[0]
    assert any(line.startswith("dialog window: CANNOT OPEN: missing system libraries libEGL.so.1") for line in lines)
    assert "    Debian/Ubuntu: sudo apt install libegl1" in lines
    assert lines[-1].startswith("Its log is kept in ")


def test_a_flatpak_gimp_is_found_with_its_own_folder_and_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GIMP3_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    flatpak = bin_dir / "flatpak"
    flatpak.write_text(
        "#!/bin/sh\nprintf 'GNU Image Manipulation Program\\n\\n  Version: 3.0.4\\n  Branch: stable\\n'\n"
    )
    flatpak.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(inst.InstallError) as caught:
        inst.install()
    folder = tmp_path / ".var/app/org.gimp.GIMP/config/GIMP/3.0"
    assert f"GIMP 3.0.4 (Flatpak org.gimp.GIMP) has not been started yet: would create {folder}." in str(caught.value)
    assert "sandbox cannot start the dialog's Python" in str(caught.value)


def cli_install(tmp_path: Path, display: str | None, hide: list[str] | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "gimp_gptimage", "install", "--gimp-dir", str(tmp_path / "gimp")]
    env = {**probe_env(display), "XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)}
    return subprocess.run(hiding(hide, argv) if hide else argv, env=env, capture_output=True, text=True, timeout=120)


def test_install_warns_when_the_dialog_could_not_open_and_says_what_to_install(tmp_path: Path) -> None:
    with xvfb() as display:
        run = cli_install(tmp_path, display, ["libxcb-cursor.so.0"])
    assert run.returncode == 0 and run.stdout.startswith("installed: "), run.stderr
    err = run.stderr.splitlines()
    assert err[0] == "Warning: the GPT Image dialog will not open on this desktop yet."
    assert err[1].startswith("dialog window: CANNOT OPEN: missing system libraries libxcb-cursor.so.0")
    assert "    Debian/Ubuntu: sudo apt install libxcb-cursor0" in err


def test_install_without_a_display_only_says_what_it_could_check(tmp_path: Path) -> None:
    run = cli_install(tmp_path, None)
    assert run.returncode == 0 and "Warning" not in run.stderr, run.stderr
    assert (
        "dialog window: not tried (no X display: $DISPLAY is not set); Qt's system libraries: all found" in run.stderr
    )


def test_an_x11_gimp_window_asks_qt_for_xcb_unless_the_user_chose_a_platform() -> None:
    x11 = {"system": "x11", "handle": 0x400007}
    wayland_session = {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "PYTHONPATH": "/usr/lib/gimp/python"}
    env = ipc.worker_env(x11, wayland_session)
    assert env["QT_QPA_PLATFORM"] == "xcb" and "PYTHONPATH" not in env  # GIMP's own Python path stays out
    assert ipc.worker_env(x11, {**wayland_session, "QT_QPA_PLATFORM": "wayland"})["QT_QPA_PLATFORM"] == "wayland"
    assert "QT_QPA_PLATFORM" not in ipc.worker_env({"system": "wayland", "handle": "h"}, wayland_session)
    assert "QT_QPA_PLATFORM" not in ipc.worker_env(None, wayland_session)
