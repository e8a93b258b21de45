"""Settings: remembered between runs, the API key in the keychain and nowhere else, Test connection."""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QTableWidget, QTableWidgetItem
from qt_helpers import make_dialog, qrun, until

from gimp_gptimage.keystore import OFFLINE_NOTICE, SERVICE
from gimp_gptimage.server import LocalServer
from qt_ui.settings_dialog import SettingsDialog


def cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    item = table.item(row, column)
    assert item is not None, f"no cell ({row}, {column})"
    return item


pytest_plugins = ["qt_fixtures", "conftest_jobs"]

KEY = "sk-proj-UiTestKey0123456789abcdefXYZ"


def all_bytes_under(*folders: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def test_choices_persist_across_a_restart_of_the_dialog(qloop, qtbot, job_dir, temp_home, server) -> None:
    first = make_dialog(job_dir, temp_home, server)
    qtbot.addWidget(first)
    view = first.params_view
    view.model_combo.setCurrentIndex(view.model_combo.findData("gpt-image-1.5"))
    view.quality.setCurrentIndex(view.quality.findData("high"))
    view.n.setValue(3)
    view.output_format.setCurrentIndex(view.output_format.findData("webp"))
    view.compression.setValue(70)
    view.background.setCurrentIndex(view.background.findData("transparent"))
    view.stream.setChecked(False)
    context = first.context_view
    context.mode.setCurrentIndex(context.mode.findData("padding"))
    context.padding.setValue(300)
    context.colour_match.setChecked(False)

    async def run_once() -> None:
        first.model.prompt = "add a second cup"
        first.run()
        await until(lambda: first.model.state == "done", what="the run")

    qrun(qloop, run_once())
    first.close()
    saved = json.loads((temp_home.config / "gimp-gptimage" / "settings.json").read_text())
    assert saved["defaults"]["model"] == "gpt-image-1.5" and saved["recent_prompts"] == ["add a second cup"]

    second = make_dialog(job_dir, temp_home, server)
    qtbot.addWidget(second)
    m = second.model
    assert (m.model, m.quality, m.n, m.output_format, m.compression, m.background, m.stream) == (
        "gpt-image-1.5",
        "high",
        3,
        "webp",
        70,
        "transparent",
        False,
    )
    assert (m.context_mode, m.padding_px, m.colour_match) == ("padding", 300, False)
    assert second.params_view.quality.currentText() == "High"
    assert second.params_view.compression.isEnabled()
    # The recent prompt is offered again.
    actions = second.prompt_view.recent_menu.actions()
    assert [a.toolTip() for a in actions] == ["add a second cup"]
    actions[0].trigger()
    assert second.prompt_view.edit.toPlainText() == "add a second cup"


def test_the_key_goes_to_the_keychain_and_nowhere_else(qloop, qtbot, tmp_path, job_dir, temp_home, memory_keyring):
    with LocalServer(api_key=KEY) as server:  # answers 401 unless it gets exactly this key
        dialog = make_dialog(job_dir, temp_home)  # no fixed backend: resolved from settings + keychain
        qtbot.addWidget(dialog)
        assert dialog.banner_text.text().startswith(OFFLINE_NOTICE)

        dialog.open_settings()
        settings = dialog.settings_dialog
        qtbot.mouseClick(settings.add_button, Qt.MouseButton.LeftButton)
        row = settings.table.rowCount() - 1
        cell(settings.table, row, 0).setText("studio")
        cell(settings.table, row, 1).setText(server.base_url)
        settings.table.selectRow(row)
        qtbot.keyClicks(settings.key_edit, KEY)
        settings.active.setCurrentIndex(settings.active.findData("studio"))

        async def save_then_run() -> None:
            qtbot.mouseClick(settings.buttons.button(settings.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
            await until(lambda: dialog.model.provider == "studio", what="the settings to be saved")
            assert memory_keyring.store == {(SERVICE, "studio"): KEY}
            assert dialog.model.provider == "studio" and not dialog.banner.isVisible()
            dialog.model.prompt = "a lighthouse"
            dialog.run()
            await until(lambda: dialog.model.state != "running", what="the run")

        qrun(qloop, save_then_run())
        assert dialog.model.state == "done", dialog.model.error
        dialog.close()

    files = all_bytes_under(temp_home.config, temp_home.data, job_dir)
    assert any(p.name == "settings.json" for p, _ in files) and any(p.name == "record.json" for p, _ in files)
    leaks = [p for p, data in files if KEY.encode() in data]
    assert leaks == []
    saved = json.loads((temp_home.config / "gimp-gptimage" / "settings.json").read_text())
    assert saved["provider"] == "studio"


def test_test_connection_reports_success_and_a_rejected_key(qloop, qtbot, temp_home, memory_keyring) -> None:
    from gimp_gptimage.settings import Settings

    with LocalServer(api_key=KEY) as server:
        settings = Settings()
        dialog = SettingsDialog(settings)
        qtbot.addWidget(dialog)
        cell(dialog.table, 0, 1).setText(server.base_url)
        dialog.table.selectRow(0)

        async def scenario() -> None:
            dialog.key_edit.setText("sk-wrong-key-000000000000")
            await dialog.run_test()
            status = dialog.key_status.text()
            # The same funnel as a run: what happened, what to do, the status; never the key typed.
            assert status.startswith("Connection failed: The API key was not accepted")
            assert "Incorrect API key" in status and "HTTP 401" in status
            assert "sk-wrong-key-000000000000" not in status
            dialog.key_edit.setText(KEY)
            await dialog.run_test()
            status = dialog.key_status.text()
            assert status.startswith("Connected: the provider answered and accepted the key. Image models: ")
            assert "gpt-image-2.6-sunburst" in status and "gpt-image-1," not in status

        qrun(qloop, scenario())
    # Testing does not store anything.
    assert memory_keyring.store == {}


def test_bad_base_url_is_refused_with_the_reason(qloop, qtbot, memory_keyring) -> None:
    from gimp_gptimage.settings import Settings

    settings = Settings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    cell(dialog.table, 1, 1).setText("http://relay.example.com/v1")

    async def scenario() -> None:
        await until(lambda: "No key stored" in dialog.key_status.text(), what="the key status")
        dialog.accept()
        await until(dialog.buttons.isEnabled, what="the check")

    qrun(qloop, scenario())
    assert dialog.isVisible()
    assert dialog.table_message.isVisibleTo(dialog)
    assert "Refusing plain http://" in dialog.table_message.text()
    assert settings.providers[1].base_url == "https://cn.crazyrouter.com/v1"  # nothing saved


def test_history_limits_are_set_in_settings_and_applied_after_a_run(qloop, qtbot, job_dir, temp_home, server) -> None:
    from gimp_gptimage.history import HistoryRecord, HistoryStore
    from gimp_gptimage.settings import SettingsStore

    store = HistoryStore(temp_home.data / "history")
    old = store.begin(HistoryRecord(prompt="an old request"))
    store.add_result(old, 0, b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024), "png")
    store.finish(old)

    settings_store = SettingsStore(temp_home.config / "gimp-gptimage")
    settings = settings_store.load()
    assert settings.history.keeps_everything  # the default: nothing is ever deleted
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.history_mb.value() == 0 and dialog.history_days.value() == 0
    dialog.history_mb.setValue(1)

    async def save() -> None:
        await until(lambda: "No key stored" in dialog.key_status.text(), what="the key status")
        dialog.accept()
        await until(lambda: not dialog.isVisible(), what="the settings to close")

    qrun(qloop, save())
    assert settings.history.max_total_mb == 1 and settings.history.max_age_days is None
    settings_store.save(settings)

    main = make_dialog(job_dir, temp_home, server)
    qtbot.addWidget(main)

    async def run_once() -> None:
        main.model.prompt = "a new request"
        main.model.n = 1
        main.run()
        await until(lambda: main.model.state == "done", what="the run")
        await until(lambda: old not in [e.id for e in store.list()], what="the clean-up")

    qrun(qloop, run_once())
    # Over the 1 MB cap: the old 2 MB request went, the one just made (on screen) stayed.
    assert [e.prompt for e in store.list()] == ["a new request"]
