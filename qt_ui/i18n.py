"""Language choice: the system locale unless the settings override it; English is the source language.

Updating the translation after changing visible strings (the compiled .qm is committed, so running the
program never needs these tools):

    .venv/bin/pylupdate6 qt_ui --ts qt_ui/i18n/gimp_gptimage_zh_CN.ts     # collect new/changed strings
    # translate the new entries (Qt Linguist, or edit the .ts), then compile:
    lrelease qt_ui/i18n/gimp_gptimage_zh_CN.ts
    # lrelease: Debian/Ubuntu `apt-get install qt6-l10n-tools` (/usr/lib/qt6/bin/lrelease),
    # or from PyPI `pip install PySide6-Essentials` (pyside6-lrelease).

tests/test_qt_i18n.py fails when a visible string is missing from the .ts, untranslated, or not compiled.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

I18N_DIR = Path(__file__).resolve().parent / "i18n"
LANGUAGES = {"system": "System default", "en": "English", "zh_CN": "简体中文"}

_installed: list[QTranslator] = []


def resolve_language(override: str | None) -> str:
    """ "en" or "zh_CN" (the languages we ship), from the override or the system locale."""
    if override and override != "system":
        return override if override in LANGUAGES else "en"
    name = QLocale.system().name()  # e.g. "zh_CN", "zh_TW", "de_DE"
    return "zh_CN" if name.startswith("zh") else "en"


def install_language(override: str | None = None) -> str:
    """Install (or replace) the translators on the running application; returns the language used."""
    app = QCoreApplication.instance()
    assert app is not None, "create the QApplication first"
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    language = resolve_language(override)
    if language != "en":
        ours = QTranslator(app)
        if ours.load(f"gimp_gptimage_{language}", str(I18N_DIR)):
            app.installTranslator(ours)
            _installed.append(ours)
        qt_base = QTranslator(app)  # Qt's own strings: standard buttons, file dialogs
        if qt_base.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt_base)
            _installed.append(qt_base)
    return language
