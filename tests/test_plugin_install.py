"""`gimp-gptimage install / uninstall / doctor`: where the plug-in goes and what is recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gimp_gptimage import install as inst
from gimp_gptimage.server import LocalServer
from gimp_gptimage.settings import ProviderConfig, Settings, SettingsStore


def test_candidate_folders_per_platform(tmp_path: Path) -> None:
    home = tmp_path
    linux = inst.candidate_gimp_dirs({}, home, "linux")
    assert home / ".config/GIMP/3.0" in linux and home / ".config/GIMP/3.2" in linux
    assert home / ".var/app/org.gimp.GIMP/config/GIMP/3.0" in linux  # Flatpak
    assert inst.candidate_gimp_dirs({"XDG_CONFIG_HOME": "/xdg"}, home, "linux")[0] == Path("/xdg/GIMP/3.0")
    windows = inst.candidate_gimp_dirs({"APPDATA": "C:/Users/a/AppData/Roaming"}, home, "win32")
    assert windows == [Path("C:/Users/a/AppData/Roaming/GIMP/3.0"), Path("C:/Users/a/AppData/Roaming/GIMP/3.2")]
    mac = inst.candidate_gimp_dirs({}, home, "darwin")
    assert mac == [home / "Library/Application Support/GIMP/3.0", home / "Library/Application Support/GIMP/3.2"]


def test_only_existing_folders_are_found_and_gimp3_directory_wins(tmp_path: Path) -> None:
    (tmp_path / ".config/GIMP/3.2").mkdir(parents=True)
    (tmp_path / ".var/app/org.gimp.GIMP/config/GIMP/3.0").mkdir(parents=True)
    found = inst.find_gimp_dirs({}, tmp_path)
    assert sorted(found) == sorted([tmp_path / ".config/GIMP/3.2", tmp_path / ".var/app/org.gimp.GIMP/config/GIMP/3.0"])
    assert inst.find_gimp_dirs({"GIMP3_DIRECTORY": str(tmp_path / "g")}, tmp_path) == [tmp_path / "g"]


def test_install_writes_an_executable_plugin_and_records_this_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPTIMAGE_API_KEY", "sk-install-secret")
    (folder,) = inst.install(tmp_path / "gimp")
    assert folder == tmp_path / "gimp" / "plug-ins" / "gptimage"
    entry = folder / "gptimage.py"
    assert entry.stat().st_mode & 0o111 and entry.read_text().startswith("#!/usr/bin/env python3")
    assert {p.name for p in folder.glob("*.py")} == {p.name for p in inst.PLUGIN_SOURCE.glob("*.py")}
    record = json.loads((folder / inst.CONFIG_NAME).read_text())
    assert record["python"] == sys.executable
    assert not any(b"sk-install-secret" in p.read_bytes() for p in folder.iterdir())
    assert not list(folder.parent.glob(".gptimage-*")), "no staging folder left behind"


def test_reinstall_replaces_stale_files_and_uninstall_removes(tmp_path: Path) -> None:
    (folder,) = inst.install(tmp_path)
    (folder / "gptimage_old_module.py").write_text("stale")
    inst.install(tmp_path, python="/opt/other/python")
    assert not (folder / "gptimage_old_module.py").exists()
    assert json.loads((folder / inst.CONFIG_NAME).read_text())["python"] == "/opt/other/python"
    assert inst.uninstall(tmp_path) == [folder]
    assert not folder.exists() and (tmp_path / "plug-ins").is_dir()
    assert inst.uninstall(tmp_path) == []


def test_install_into_every_found_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIMP3_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    for version in ("3.0", "3.2"):
        (tmp_path / "config" / "GIMP" / version).mkdir(parents=True)
    installed = inst.install()
    assert sorted(installed) == [tmp_path / f"config/GIMP/{v}/plug-ins/gptimage" for v in ("3.0", "3.2")]


def test_no_gimp_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIMP3_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no GIMP on this "computer"
    with pytest.raises(inst.InstallError, match=r"No GIMP was found on this computer\. Install GIMP 3") as caught:
        inst.install()
    assert str(tmp_path / "config" / "GIMP" / "3.0") in str(caught.value)
    assert not (tmp_path / "config" / "GIMP").exists(), "never create GIMP's folder: it would skip migration"


def test_doctor_reports_folders_python_and_the_embedded_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIMP3_DIRECTORY", str(tmp_path / "gimp"))
    lines = inst.doctor()
    assert "plug-in not installed" in lines[0]
    inst.install(python=str(tmp_path / "missing-python"))
    lines = inst.doctor()
    assert any("worker Python" in line and "MISSING" in line for line in lines)
    inst.install()
    text = "\n".join(inst.doctor())
    assert f"worker Python: {sys.executable} (ok)" in text
    assert "embedded offline engine" in text


def test_doctor_checks_that_the_configured_provider_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIMP3_DIRECTORY", str(tmp_path / "gimp"))
    monkeypatch.setenv("GPTIMAGE_API_KEY", "sk-doctor-secret")
    with LocalServer() as server:
        SettingsStore().save(Settings(providers=[ProviderConfig("mine", server.base_url)], provider="mine"))
        text = "\n".join(inst.doctor())
    assert f"provider: mine at {server.base_url}" in text and "answers: yes" in text
    assert "sk-doctor-secret" not in text
    text = "\n".join(inst.doctor(probe_timeout=2))  # the server is gone now
    assert "answers: no" in text


def test_cli_install_and_uninstall(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "gimp_gptimage.cli.main"]
    done = subprocess.run([*cli, "install", "--gimp-dir", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plug-ins/gptimage/gptimage.py").exists()
    done = subprocess.run([*cli, "uninstall", "--gimp-dir", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "plug-ins/gptimage").exists()


def test_doctor_warns_about_flatpak_sandboxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flatpak = tmp_path / ".var/app/org.gimp.GIMP/config/GIMP/3.0"
    monkeypatch.setenv("GIMP3_DIRECTORY", str(flatpak))
    inst.install()
    assert any("Flatpak GIMP runs plug-ins in its sandbox" in line for line in inst.doctor())
