"""The price in the dialog: the Run button's label, one question before a costly run, the cost after the
run, and the History tab's costs and monthly total — real widgets against the real local server."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt6.QtWidgets import QMessageBox
from qt_helpers import make_dialog, qrun, until

from gimp_gptimage.cost import estimate, format_dollars, record_cost
from gimp_gptimage.cost import tokens as builtin
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.keystore import resolve_backend
from gimp_gptimage.server import LocalServer
from gimp_gptimage.settings import CostLimits, Settings, SettingsStore
from qt_ui.settings_dialog import SettingsDialog

pytest_plugins = ["qt_fixtures"]


def _priced_dialog(job_dir: Path, temp_home, server: LocalServer, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The dialog set up for a provider that bills (OpenAI in Settings), its requests going to the local server
    under a custom base URL as a relay's would (the offline engine itself costs nothing)."""
    monkeypatch.setenv("GPTIMAGE_API_KEY", "sk-price-test-key")
    store = SettingsStore(temp_home.settings_dir)
    settings = store.load()
    settings.provider = "openai"
    store.save(settings)
    return make_dialog(job_dir, temp_home, server, backend=resolve_backend(Settings(), None, server.base_url))


def _question(dialog) -> QMessageBox | None:  # type: ignore[no-untyped-def]
    box = dialog.cost_question
    return box if box is not None and box.isVisible() else None


def _answer(box: QMessageBox | None, which: QMessageBox.StandardButton) -> None:
    assert box is not None
    button = box.button(which)
    assert button is not None
    button.click()


def test_run_label_shows_images_and_price_and_a_costly_run_asks_once(
    qloop, qtbot, job_dir, temp_home, monkeypatch
) -> None:
    with LocalServer() as server:
        dialog = _priced_dialog(job_dir, temp_home, server, monkeypatch)
        qtbot.addWidget(dialog)
        history = HistoryStore(temp_home.data / "history")

        async def scenario() -> None:
            m = dialog.model
            m.prompt = "remove the yellow disc"
            m.model, m.quality, m.n = "gpt-image-2", "medium", 5
            await until(lambda: m.sent_size, what="the preview's request size")
            expected = estimate(
                m.params(), provider="openai", sent_sizes=[builtin.size_of(m.sent_size)], result_size=m.sent_size
            )
            assert expected.dollars is not None
            assert dialog.run_button.text() == f"Run · 5 images · ≈ {format_dollars(expected.dollars)}"
            assert "built-in figures" in dialog.run_button.toolTip()

            dialog.run_button.click()  # 5 images > the default limit of 4: asks, sends nothing yet
            box = _question(dialog)
            assert box is not None and dialog.model.state == "idle"
            assert "5 images" in box.text() and format_dollars(expected.dollars) in box.text()
            _answer(box, QMessageBox.StandardButton.Cancel)
            await until(lambda: _question(dialog) is None, what="the question to close")
            assert dialog.model.state == "idle" and history.list() == []

            dialog.run_button.click()
            box = _question(dialog)
            assert box is not None
            _answer(box, QMessageBox.StandardButton.Yes)  # labelled "Send"
            await until(lambda: dialog.model.state == "done", timeout=60, what="the run")
            assert _question(dialog) is None  # asked once, not again on the way

            (entry,) = history.list()
            cost = record_cost(entry.record)
            assert cost is not None and cost == pytest.approx(expected.dollars)  # the estimate before = the cost after
            assert f"cost {format_dollars(cost)}" in dialog.run_view.info.text()

            view = dialog.history_view
            await until(lambda: view.loaded and view.list.count() == 5, what="the history list")
            texts = [view.list.item(i).text() for i in range(view.list.count())]  # type: ignore[union-attr]
            assert sum(format_dollars(cost) in t for t in texts) == 1  # the request's cost, once
            assert view.spending.text() == f"Spent: {entry.created_at[:7]} {format_dollars(cost)} (1 request)"
            # Learned from that run: the next estimate says it comes from the user's own results.
            await until(lambda: "your own past results" in dialog.run_button.toolTip(), what="the learned estimate")

            m.n = 2  # within the limits: no question
            dialog.run_button.click()
            assert _question(dialog) is None and m.state == "running"
            assert dialog.run_button.text().startswith("Run · 2 images · ≈ $")
            await until(lambda: m.state == "done", timeout=60, what="the second run")

        qrun(qloop, scenario(), timeout=120)


def test_the_amount_limit_asks_too_and_settings_keep_the_limits(qloop, qtbot, job_dir, temp_home, monkeypatch) -> None:
    store = SettingsStore(temp_home.settings_dir)
    settings = store.load()
    settings.cost = CostLimits(ask_above_images=10, ask_above_dollars=0.05)
    store.save(settings)
    with LocalServer() as server:
        dialog = _priced_dialog(job_dir, temp_home, server, monkeypatch)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "remove the yellow disc"
            dialog.model.quality, dialog.model.n = "high", 1  # one high-quality image: about $0.13 > $0.05
            await until(lambda: dialog.model.sent_size, what="the preview's request size")
            dialog.run_button.click()
            assert _question(dialog) is not None and dialog.model.state == "idle"
            _answer(_question(dialog), QMessageBox.StandardButton.Cancel)

            panel = SettingsDialog(dialog.settings, dialog)
            qtbot.addWidget(panel)
            assert panel.ask_images.value() == 10 and panel.ask_dollars.value() == pytest.approx(0.05)
            panel.ask_images.setValue(3)
            panel.ask_dollars.setValue(0)  # "No limit"
            assert panel.ask_dollars.text() == "No limit"
            panel.accept()
            await until(lambda: dialog.settings.cost == CostLimits(3, None), what="the settings to be saved")
            dialog.run_button.click()  # now within the limits
            assert _question(dialog) is None
            await until(lambda: dialog.model.state == "done", timeout=60, what="the run")

        qrun(qloop, scenario(), timeout=90)
    dialog.close()
    assert SettingsStore(temp_home.settings_dir).load().cost == CostLimits(3, None)


def test_unknown_price_says_so_and_still_runs(qloop, qtbot, job_dir: Path, temp_home, monkeypatch) -> None:
    with LocalServer() as server:
        dialog = _priced_dialog(job_dir, temp_home, server, monkeypatch)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "remove the yellow disc"
            dialog.model.model = "chatgpt-image-latest"  # no published token prices
            assert dialog.run_button.text() == "Run · 1 image"
            assert "No price known" in dialog.run_button.toolTip()

        qrun(qloop, scenario())


def test_a_remembered_costly_number_of_images_shows_and_asks(qloop, qtbot, job_dir, temp_home, monkeypatch) -> None:
    """Last session's n = 8 comes back as a default: it is on the Run button, and Run asks first."""
    store = SettingsStore(temp_home.settings_dir)
    settings = store.load()
    settings.defaults.n = 8
    store.save(settings)
    with LocalServer() as server:
        dialog = _priced_dialog(job_dir, temp_home, server, monkeypatch)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "remove the yellow disc"
            assert dialog.run_button.text().startswith("Run · 8 images · ≈ $")
            dialog.run_button.click()
            assert _question(dialog) is not None and dialog.model.state == "idle"
            _answer(_question(dialog), QMessageBox.StandardButton.Cancel)

        qrun(qloop, scenario())


def test_the_offline_engine_is_free_and_never_asks(qloop, qtbot, job_dir: Path, temp_home) -> None:
    """No provider set up: the Run button names no price, eight images ask nothing, and the run costs nothing
    in the dialog and in History (its usage figures only imitate the API's)."""
    with LocalServer() as server:
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)
        history = HistoryStore(temp_home.data / "history")

        async def scenario() -> None:
            m = dialog.model
            m.prompt = "remove the yellow disc"
            m.model, m.quality, m.n = "gpt-image-2", "high", 8
            assert dialog.run_button.text() == "Run · 8 images"
            assert "costs nothing" in dialog.run_button.toolTip()
            m.n = 1
            dialog.run_button.click()
            assert _question(dialog) is None
            await until(lambda: m.state == "done", timeout=60, what="the run")
            (entry,) = history.list()
            assert entry.record.usage is not None and record_cost(entry.record) == 0
            view = dialog.history_view
            await until(lambda: view.loaded and view.list.count() == 1, what="the history list")
            assert "Spent" not in view.spending.text()

        qrun(qloop, scenario(), timeout=90)
