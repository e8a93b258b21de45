"""Simplified Chinese: complete, compiled, loaded from the settings or the system locale, and visible."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PyQt6.QtCore import QCoreApplication, QTranslator
from qt_helpers import make_dialog, qrun, until

from gimp_gptimage.server import Fault, LocalServer
from qt_ui import i18n
from qt_ui.i18n import I18N_DIR, install_language, resolve_language

pytest_plugins = ["qt_fixtures"]

TS = I18N_DIR / "gimp_gptimage_zh_CN.ts"
QM = I18N_DIR / "gimp_gptimage_zh_CN.qm"


def ts_messages(path: Path) -> dict[tuple[str, str], str]:
    messages = {}
    for context in ET.parse(path).getroot().iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            translation = message.find("translation")
            assert translation is not None
            if translation.get("type") in ("obsolete", "vanished"):
                continue
            forms = translation.findall("numerusform")
            text = forms[0].text if forms else translation.text
            messages[(name, message.findtext("source"))] = text or ""
    return messages


def test_every_string_in_the_code_is_in_the_translation_file(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.ts"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from PyQt6.lupdate.pylupdate import main; main()",
            str(I18N_DIR.parent),
            "--ts",
            str(fresh),
            "--no-summary",
        ],
        check=True,
        capture_output=True,
    )
    in_code = set(ts_messages(fresh))
    assert in_code, "pylupdate found no strings"
    assert in_code - set(ts_messages(TS)) == set(), "run pylupdate6 and translate the new strings"


def test_every_message_is_translated_and_compiled(qapp) -> None:
    messages = ts_messages(TS)
    assert len(messages) > 150
    assert [k for k, v in messages.items() if not v.strip()] == []
    translator = QTranslator()
    assert translator.load(str(QM)), "the compiled .qm is missing"
    qapp.installTranslator(translator)  # QCoreApplication.translate passes UTF-8 (QTranslator.translate: ASCII)
    try:
        stale = [
            (context, source)
            for (context, source), text in messages.items()
            if QCoreApplication.translate(context, source, "", 2) != text.replace("%n", "2")
        ]
    finally:
        qapp.removeTranslator(translator)
    assert stale == [], "recompile the .qm with lrelease"


def test_language_comes_from_the_override_or_the_system_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_language("zh_CN") == "zh_CN"
    assert resolve_language("en") == "en"
    assert resolve_language("xx_YY") == "en"

    class FakeLocale:
        def __init__(self, name: str) -> None:
            self._name = name

        def name(self) -> str:
            return self._name

    for system, expected in (("zh_CN", "zh_CN"), ("zh_TW", "zh_CN"), ("de_DE", "en"), ("C", "en")):
        monkeypatch.setattr(i18n.QLocale, "system", staticmethod(lambda s=system: FakeLocale(s)))
        assert resolve_language(None) == expected
        assert resolve_language("system") == expected


def test_chinese_changes_what_the_user_sees(qloop, qtbot, job_dir, temp_home) -> None:
    assert install_language("zh_CN") == "zh_CN"
    with LocalServer(faults=()) as server:
        server.faults.add(Fault("status", status=401, message="Incorrect API key provided."))
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)
        assert dialog.run_button.text() == "运行 · 1 张图像"  # the offline engine: no price
        assert dialog.close_button.text() == "关闭"
        assert [dialog.tabs.tabText(i) for i in range(3)] == ["结果", "发送内容", "历史记录"]
        assert dialog.params_view.quality.itemText(0) == "自动"
        # The core's two sentences (keystore.offline_notice), each translated: none left in English.
        assert dialog.banner_text.text() == (
            "尚未设置服务商：使用内置的本地离线引擎（免费、私密，无需密钥）。"
            " 它使用 MI-GAN 修复模型：移除选区覆盖的内容，不会遵循提示词。"
        )
        dialog.model.prompt = "夜景"
        dialog.model.size = "1000x1000"
        assert dialog.params_view.messages["size"].text() == "尺寸 1000x1000：宽和高都必须是 16 的倍数。"
        assert dialog.run_hint.text() == "请先修正标红的设置。"
        dialog.model.size = "auto"

        async def failing_run() -> None:
            dialog.run()
            await until(lambda: dialog.model.state == "error", what="the error")

        qrun(qloop, failing_run())
    panel = dialog.run_view.error
    assert panel.title.text() == "API 密钥未被接受"
    assert panel.hint.text() == "请在设置中为该服务商输入有效的密钥。"
    assert panel.detail.text() == "Incorrect API key provided."  # the provider's own words are kept
    assert "HTTP 状态 401" in panel.meta.text()


def test_english_is_back_after_switching(qloop, qtbot, job_dir, temp_home) -> None:
    install_language("zh_CN")
    install_language("en")
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    assert dialog.run_button.text() == "Run · 1 image"
