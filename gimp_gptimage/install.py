"""`gimp-gptimage install | uninstall | doctor`: put the plug-in where GIMP 3 looks for it, and check the setup.

The plug-in folder is copied into every GIMP 3.0/3.2 user folder found (Linux, Flatpak, Snap, Windows,
macOS; GIMP3_DIRECTORY wins when set), together with a small JSON naming the Python that runs the worker
and dialog (the interpreter running this command) and the folder for the worker's logs. No key or other
secret is ever written.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import platformdirs

from gimp_gptimage import __version__, desktop, gimp_found
from gimp_gptimage.api.errors import GptImageError

PLUGIN_NAME = "gptimage"
CONFIG_NAME = "gptimage_python.json"  # read by plugin/gptimage/gptimage_ipc.py
GIMP_VERSIONS = ("3.0", "3.2")
PLUGIN_SOURCE = Path(__file__).resolve().parent / "plugin" / PLUGIN_NAME


class InstallError(GptImageError):
    """Nowhere to install, or the files could not be written."""


def candidate_gimp_dirs(
    environ: Mapping[str, str] | None = None, home: Path | None = None, platform: str | None = None
) -> list[Path]:
    """Every place a GIMP 3.0/3.2 user folder may live on this OS, whether it exists or not."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        bases = [Path(env.get("APPDATA") or home / "AppData" / "Roaming") / "GIMP"]
    elif platform == "darwin":
        bases = [home / "Library" / "Application Support" / "GIMP"]
    else:
        config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        bases = [
            config / "GIMP",
            home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP",  # Flatpak
            home / "snap" / "gimp" / "current" / ".config" / "GIMP",  # Snap
        ]
    return [base / version for base in bases for version in GIMP_VERSIONS]


def find_gimp_dirs(environ: Mapping[str, str] | None = None, home: Path | None = None) -> list[Path]:
    """GIMP3_DIRECTORY if set, else the GIMP 3 user folders that exist (GIMP creates one at first start)."""
    env = os.environ if environ is None else environ
    override = env.get("GIMP3_DIRECTORY", "").strip()
    if override:
        return [Path(override).expanduser()]
    return [d for d in candidate_gimp_dirs(env, home) if d.is_dir()]


def logs_dir() -> Path:
    """Where the plug-in keeps the worker's logs (the last few; see plugin/gptimage/gptimage_keep.py)."""
    return Path(platformdirs.user_data_dir("gimp-gptimage", appauthor=False)) / "logs"


def _targets(gimp_dir: Path | None) -> list[Path]:
    if gimp_dir is not None:
        return [Path(gimp_dir).expanduser()]
    found = find_gimp_dirs()
    if not found:
        candidates = candidate_gimp_dirs()

        def folder_for(gimp: gimp_found.InstalledGimp) -> Path | None:
            matches = [d for d in candidates if d.name == gimp.series and ("org.gimp.GIMP" in d.parts) == gimp.flatpak]
            return matches[0] if matches else None

        places = "\n  ".join(str(d) for d in candidates)
        advice = gimp_found.first_start_advice(gimp_found.find_installed(), folder_for)
        raise InstallError(f"No GIMP 3 user folder yet. {advice}\nLooked in:\n  {places}")
    return found


def install(gimp_dir: Path | None = None, python: str | None = None) -> list[Path]:
    """Install the plug-in; returns the plug-in folders written. `python` defaults to this interpreter."""
    python = python or sys.executable
    sources = sorted(PLUGIN_SOURCE.glob("*.py"))
    if (PLUGIN_SOURCE / f"{PLUGIN_NAME}.py") not in sources:
        raise InstallError(f"The plug-in files are missing from this installation ({PLUGIN_SOURCE}).")
    installed = []
    for user_dir in _targets(gimp_dir):
        plugins = user_dir / "plug-ins"
        final = plugins / PLUGIN_NAME
        staging = plugins / f".{PLUGIN_NAME}-installing"
        try:
            plugins.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            for source in sources:
                shutil.copyfile(source, staging / source.name)
            (staging / f"{PLUGIN_NAME}.py").chmod(0o755)
            record = {
                "python": python,
                "version": __version__,
                "installed": time.strftime("%Y-%m-%d %H:%M:%S"),
                "logs": str(logs_dir()),
            }
            (staging / CONFIG_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            # Swap in the new copy in one step, so GIMP never sees half a plug-in.
            shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise InstallError(f"Could not install into {plugins}: {exc}") from exc
        installed.append(final)
    return installed


def uninstall(gimp_dir: Path | None = None) -> list[Path]:
    """Remove the plug-in from the given or found GIMP user folders; returns the folders removed."""
    roots = [Path(gimp_dir).expanduser()] if gimp_dir is not None else find_gimp_dirs()
    removed = []
    for user_dir in roots:
        folder = user_dir / "plug-ins" / PLUGIN_NAME
        if folder.is_dir():
            try:
                shutil.rmtree(folder)
            except OSError as exc:
                raise InstallError(f"Could not remove {folder}: {exc}") from exc
            removed.append(folder)
    return removed


def installed_record(plugin_dir: Path) -> dict | None:
    try:
        data = json.loads((plugin_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def doctor(probe_timeout: float = 5.0) -> list[str]:
    """Human-readable report: GIMP folders, the recorded Python, whether it can open the dialog's window, the
    worker logs, the configured provider and if it answers."""
    lines = []
    pythons: list[str] = []
    found = find_gimp_dirs()
    if not found:
        lines.append("GIMP 3 user folder: none found (start GIMP 3 once, or use --gimp-dir / GIMP3_DIRECTORY)")
    for user_dir in found:
        plugin_dir = user_dir / "plug-ins" / PLUGIN_NAME
        record = installed_record(plugin_dir)
        if record is None:
            lines.append(f"GIMP folder {user_dir}: plug-in not installed (run 'gimp-gptimage install')")
            continue
        python = str(record.get("python", ""))
        state = "ok" if python and Path(python).exists() else "MISSING: run 'gimp-gptimage install' again"
        lines.append(f"GIMP folder {user_dir}: plug-in {record.get('version', '?')} installed")
        lines.append(f"  worker Python: {python} ({state})")
        if python and Path(python).exists() and python not in pythons:
            pythons.append(python)
        if "org.gimp.GIMP" in user_dir.parts:
            lines.append(
                "  note: Flatpak GIMP runs plug-ins in its sandbox, which cannot start a Python outside it; "
                "use GIMP from your distribution or the official installer for GPT Image"
            )
    for python in pythons or [sys.executable]:
        lines.extend(desktop.probe_window(python).lines())
    lines.append(f"worker logs: {logs_dir()} (the last few runs)")
    lines.extend(_provider_lines(probe_timeout))
    return lines


def _provider_lines(timeout: float) -> list[str]:
    from gimp_gptimage import keystore, settings

    try:
        backend = keystore.resolve_backend(settings.load_settings())
    except GptImageError as exc:
        return [f"provider: not usable: {exc}"]
    if backend is None:
        return ["provider: none configured; the embedded offline engine is used (no network, no key)"]
    line = f"provider: {backend.name} at {backend.base_url} (key from the {backend.key_source})"
    return [line, f"  answers: {_probe(backend.base_url, backend.api_key, timeout)}"]


def _probe(base_url: str, api_key: str, timeout: float) -> str:
    """GET /models: any HTTP answer means the endpoint is reachable; 401/403 means the key is refused."""
    import httpx

    try:
        response = httpx.get(f"{base_url}/models", headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"no ({type(exc).__name__})"
    if response.status_code in (401, 403):
        return f"yes, but the key was refused (HTTP {response.status_code})"
    return f"yes (HTTP {response.status_code})"
