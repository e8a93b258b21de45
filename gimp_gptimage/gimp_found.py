"""Which GIMP is installed on this computer, for `gimp-gptimage install` before GIMP has ever run.

GIMP creates its user folder (…/GIMP/3.0 or …/GIMP/3.2) at its first start, and only then moves the
settings of an older version across; a folder made by us beforehand would make GIMP skip that. So when no
user folder exists yet, install finds the installed GIMP and its version and says exactly what to do.
"""

from __future__ import annotations

import plistlib
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_VERSION = re.compile(r"\b(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class InstalledGimp:
    version: str  # full, e.g. "3.0.4"
    where: str  # the program (or "Flatpak org.gimp.GIMP")
    flatpak: bool = False

    @property
    def series(self) -> str:
        """'3.0', '3.2': the name of the user folder this GIMP creates."""
        return ".".join(self.version.split(".")[:2])

    @property
    def is_gimp3(self) -> bool:
        return self.version.startswith("3.")


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _version_in(text: str) -> str:
    match = _VERSION.search(text)
    if not match:
        return ""
    return ".".join(part for part in match.groups() if part is not None)


def find_installed(platform: str | None = None) -> list[InstalledGimp]:
    """Every GIMP found: programs on PATH (asked with --version), Flatpak, the Windows and macOS installers."""
    platform = sys.platform if platform is None else platform
    found: dict[str, InstalledGimp] = {}
    if platform == "win32":
        for base in (Path("C:/Program Files"), Path("C:/Program Files (x86)")):
            for exe in sorted(base.glob("GIMP */bin/gimp-[0-9]*.exe")):
                found[str(exe)] = InstalledGimp(_version_in(exe.stem), str(exe))
    elif platform == "darwin":
        for app in (Path("/Applications/GIMP.app"), Path.home() / "Applications" / "GIMP.app"):
            try:
                info = plistlib.loads((app / "Contents" / "Info.plist").read_bytes())
            except (OSError, ValueError):
                continue
            found[str(app)] = InstalledGimp(str(info.get("CFBundleShortVersionString", "")), str(app))
    else:
        for name in ("gimp-3.2", "gimp-3.0", "gimp"):
            program = shutil.which(name)
            if program is None or str(Path(program).resolve()) in found:
                continue
            version = _version_in(_run([program, "--version"]))
            if version:
                found[str(Path(program).resolve())] = InstalledGimp(version, program)
        flatpak = shutil.which("flatpak")
        if flatpak is not None:
            version = _version_in("".join(re.findall(r"Version:\s*(\S+)", _run([flatpak, "info", "org.gimp.GIMP"]))))
            if version:
                found["flatpak"] = InstalledGimp(version, "Flatpak org.gimp.GIMP", flatpak=True)
    return [gimp for gimp in found.values() if gimp.version]


def first_start_advice(installed: list[InstalledGimp], folder_for: Callable[[InstalledGimp], Path | None]) -> str:
    """What to do when no GIMP 3 user folder exists yet; `folder_for` names the folder a GIMP would create."""
    gimp3 = [g for g in installed if g.is_gimp3]
    if not gimp3:
        older = ", ".join(f"GIMP {g.version} ({g.where})" for g in installed)
        have = f" Found only {older}." if older else " No GIMP was found on this computer."
        return (
            "GPT Image needs GIMP 3.0 or 3.2." + have + " Install GIMP 3 (Debian/Ubuntu: sudo apt install gimp; "
            "Fedora: sudo dnf install gimp; Arch: sudo pacman -S gimp; Windows and macOS: gimp.org/downloads), "
            "start it once, then run 'gimp-gptimage install' again."
        )
    lines = []
    for gimp in gimp3:
        folder = folder_for(gimp)
        where = f" would create {folder}" if folder else ""
        lines.append(f"GIMP {gimp.version} ({gimp.where}) has not been started yet:{where}.")
        if gimp.flatpak:
            lines.append("(Flatpak GIMP's sandbox cannot start the dialog's Python: prefer your distribution's GIMP.)")
    return " ".join(
        [
            *lines,
            "Start GIMP once and quit it (at its first start GIMP creates its user folder and brings over the "
            "settings of an older version; a folder made beforehand would skip that), then run "
            "'gimp-gptimage install' again. Or install into a folder of your choice with --gimp-dir DIR.",
        ]
    )
