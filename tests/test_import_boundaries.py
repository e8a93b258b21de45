"""The core knows neither GIMP nor Qt; the plug-in knows nothing but the standard library and gi."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "gimp_gptimage"
PLUGIN = CORE / "plugin" / "gptimage"


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def core_files() -> list[Path]:
    # The worker entry is the one core module allowed to hand over to the Qt dialog (lazily).
    return [p for p in CORE.rglob("*.py") if PLUGIN not in p.parents and p.name != "worker.py"]


def test_core_imports_neither_gimp_nor_qt() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_roots(p) & {"gi", "PyQt6", "qasync", "qt_ui"}) for p in core_files()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_plugin_imports_only_stdlib_and_gi() -> None:
    files = sorted(PLUGIN.glob("*.py"))
    assert files, "the plug-in folder must hold the plug-in"
    siblings = {p.stem for p in files}
    allowed = set(sys.stdlib_module_names) | {"gi"} | siblings
    offenders = {p.name: sorted(imported_roots(p) - allowed) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}
