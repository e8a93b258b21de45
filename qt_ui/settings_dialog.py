"""Settings: providers (name, base URL, default model), the API key (OS keychain only), Test connection,
the provider to use, the language, history and spending limits, and how long to wait for a provider.
Non-secret choices go to settings.json via the caller."""

from __future__ import annotations

import asyncio

import httpx
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gimp_gptimage import keystore
from gimp_gptimage.api.catalog import image_models
from gimp_gptimage.api.download import shared_ssl_context
from gimp_gptimage.api.error_mapping import connection_error
from gimp_gptimage.api.errors import ConfigError, explain, redact, status_error_class
from gimp_gptimage.api.params import DEFAULT_MODEL, MAX_N
from gimp_gptimage.api.providers import PRESETS, check_base_url, key_from_env
from gimp_gptimage.api.timeouts import DEFAULT_TIMEOUTS
from gimp_gptimage.history import HistoryPolicy
from gimp_gptimage.settings import CostLimits, ProviderConfig, Settings, TimeoutDefaults

from .i18n import LANGUAGES
from .messages import user_message
from .tasks import TaskBag, soon

TEST_TIMEOUT = httpx.Timeout(10.0)


async def test_connection(base_url: str, key: str) -> tuple[bool, str]:
    """Ask the provider's model list with the key: proves the address answers and the key is accepted, and
    tells which image models it has (the detail on success, "" when its list names none).
    Failures go through the same funnel as a run's, so they read the same (and are translated)."""
    try:
        url = check_base_url(base_url)
        async with httpx.AsyncClient(timeout=TEST_TIMEOUT, follow_redirects=False, verify=shared_ssl_context()) as http:
            response = await http.get(f"{url}/models", headers={"Authorization": f"Bearer {key}"})
    except ConfigError as exc:
        return False, user_message(explain(exc, key)).one_line()
    except httpx.TransportError as exc:
        error = connection_error(exc, f"{base_url}/models", phase="while testing", scrub=lambda t: redact(t, key))
        return False, user_message(explain(error, key)).one_line()
    if response.status_code == 200:
        try:
            listed = image_models(response.json())
        except ValueError:
            listed = []
        return True, ", ".join(m.label for m in listed)
    status = status_error_class(response.status_code)(
        _error_text(response) or f"The provider answered HTTP {response.status_code}.",
        status_code=response.status_code,
        request_id=response.headers.get("x-request-id"),
    )
    return False, user_message(explain(status, key)).one_line()


def _error_text(response: httpx.Response) -> str:
    """The API's own error message, when the answer is the usual {"error": {"message": ...}}."""
    try:
        error = response.json().get("error")
    except ValueError:
        return ""
    message = error.get("message") if isinstance(error, dict) else error
    return message.strip() if isinstance(message, str) else ""


def _seconds_box(low: int, value: float) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, 3600)
    box.setSuffix(" s")
    box.setValue(round(value))
    return box


def _unless(value: float, default: float) -> float | None:
    return None if value == default else value


class SettingsDialog(QDialog):
    saved = pyqtSignal(bool)  # True when the language changed

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.bag = TaskBag()
        self.setWindowTitle(self.tr("GPT Image settings"))
        self.resize(760, 760)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)

        providers_box = QGroupBox(self.tr("Providers"))
        pb = QVBoxLayout(providers_box)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Base URL"), self.tr("Default model")])
        header = self.table.horizontalHeader()
        assert header is not None
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)  # type: ignore[union-attr]
        rows = self.table.verticalHeader().defaultSectionSize()  # type: ignore[union-attr]
        self.table.setMinimumHeight(header.sizeHint().height() + 4 * rows + 2 * self.table.frameWidth())  # 4 presets
        for p in settings.providers:
            self._add_row(p.name, p.base_url, p.model)
        pb.addWidget(self.table)
        row = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add provider"))
        self.remove_button = QPushButton(self.tr("Remove"))
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        pb.addLayout(row)
        self.table_message = QLabel()
        self.table_message.setStyleSheet("color: #b3261e;")
        self.table_message.setWordWrap(True)
        self.table_message.hide()
        pb.addWidget(self.table_message)
        layout.addWidget(providers_box)

        key_box = QGroupBox(self.tr("API key for the selected provider"))
        kf = QFormLayout(key_box)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText(self.tr("Paste the key; it is kept in the system keychain, never in a file"))
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        self.save_key_button = QPushButton(self.tr("Save key"))
        self.forget_key_button = QPushButton(self.tr("Forget key"))
        self.test_button = QPushButton(self.tr("Test connection"))
        key_row.addWidget(self.save_key_button)
        key_row.addWidget(self.forget_key_button)
        key_row.addWidget(self.test_button)
        kf.addRow(self.tr("Key"), key_row)
        self.key_status = QLabel()
        self.key_status.setWordWrap(True)
        self.key_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        kf.addRow("", self.key_status)
        layout.addWidget(key_box)

        general = QGroupBox(self.tr("General"))
        gf = QFormLayout(general)
        self.active = QComboBox()
        gf.addRow(self.tr("Use provider"), self.active)
        self.language = QComboBox()
        self.language.addItem(self.tr("System default"), "system")
        self.language.addItem(LANGUAGES["en"], "en")
        self.language.addItem(LANGUAGES["zh_CN"], "zh_CN")
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language or "system")))
        gf.addRow(self.tr("Language"), self.language)
        note = QLabel(self.tr("A new language applies the next time the dialog opens."))
        note.setStyleSheet("color: #6b7280;")
        gf.addRow("", note)
        waits = QHBoxLayout()
        self.read_timeout = _seconds_box(10, settings.timeouts.read or DEFAULT_TIMEOUTS.read)
        self.read_timeout.setToolTip(self.tr("High quality can take minutes to draw."))
        self.stall_timeout = _seconds_box(5, settings.timeouts.stall or DEFAULT_TIMEOUTS.stall)
        self.stall_timeout.setToolTip(self.tr("An answer under way arrives quickly; one that stops is given up on."))
        waits.addWidget(self.read_timeout)
        waits.addWidget(QLabel(self.tr("or, once it has begun, if it stops for")))
        waits.addWidget(self.stall_timeout)
        gf.addRow(self.tr("Wait for an answer up to"), waits)
        layout.addWidget(general)

        history = QGroupBox(self.tr("History"))
        hf = QFormLayout(history)
        policy = settings.history
        self.history_mb = QSpinBox()
        self.history_mb.setRange(0, 1_000_000)
        self.history_mb.setSuffix(" MB")
        self.history_mb.setSpecialValueText(self.tr("No limit"))
        self.history_mb.setValue(round(policy.max_total_mb or 0))
        hf.addRow(self.tr("Keep at most"), self.history_mb)
        self.history_days = QSpinBox()
        self.history_days.setRange(0, 36_500)
        self.history_days.setSuffix(self.tr(" days"))
        self.history_days.setSpecialValueText(self.tr("Forever"))
        self.history_days.setValue(round(policy.max_age_days or 0))
        hf.addRow(self.tr("Keep results for"), self.history_days)
        history_note = QLabel(self.tr("Nothing is ever deleted unless you set a limit here; oldest go first."))
        history_note.setStyleSheet("color: #6b7280;")
        hf.addRow("", history_note)
        layout.addWidget(history)

        spending = QGroupBox(self.tr("Spending"))
        sf = QFormLayout(spending)
        self.ask_images = QSpinBox()
        self.ask_images.setRange(1, MAX_N)
        self.ask_images.setValue(max(1, min(MAX_N, settings.cost.ask_above_images)))
        self.ask_images.setSuffix(self.tr(" images"))
        sf.addRow(self.tr("Ask before a run of more than"), self.ask_images)
        self.ask_dollars = QDoubleSpinBox()
        self.ask_dollars.setRange(0, 1000)
        self.ask_dollars.setDecimals(2)
        self.ask_dollars.setSingleStep(0.25)
        self.ask_dollars.setPrefix("$")
        self.ask_dollars.setSpecialValueText(self.tr("No limit"))
        self.ask_dollars.setValue(settings.cost.ask_above_dollars or 0)
        sf.addRow(self.tr("or costing more than"), self.ask_dollars)
        spending_note = QLabel(self.tr("Costs are estimated at OpenAI's token prices; a relay bills by its own."))
        spending_note.setStyleSheet("color: #6b7280;")
        sf.addRow("", spending_note)
        layout.addWidget(spending)
        layout.addStretch(1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        layout.addWidget(self.buttons)

        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.add_button.clicked.connect(self._add_provider)
        self.remove_button.clicked.connect(self._remove_provider)
        self.save_key_button.clicked.connect(lambda: self.bag.spawn(self.save_key()))
        self.forget_key_button.clicked.connect(lambda: self.bag.spawn(self._forget_key()))
        self.test_button.clicked.connect(lambda: self.bag.spawn(self.run_test()))
        self.table.currentCellChanged.connect(lambda *_: self._show_key_status())
        self.table.itemChanged.connect(lambda *_: self._refresh_active())
        self._refresh_active()
        if self.table.rowCount():
            self.table.selectRow(0)
        soon(self, self._show_key_status)

    # -- providers table --------------------------------------------------------------------------------

    def _add_row(self, name: str, base_url: str, model: str) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, text in enumerate((name, base_url, model)):
            self.table.setItem(row, col, QTableWidgetItem(text))

    def _cell(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text().strip() if item is not None else ""

    def _add_provider(self) -> None:
        self._add_row(self.tr("custom"), "https://", DEFAULT_MODEL)
        self.table.selectRow(self.table.rowCount() - 1)
        self.table.editItem(self.table.item(self.table.rowCount() - 1, 0))

    def _remove_provider(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self._refresh_active()

    def current_provider(self) -> str:
        row = self.table.currentRow()
        return self._cell(row, 0) if row >= 0 else ""

    def providers(self) -> list[ProviderConfig]:
        return [
            ProviderConfig(self._cell(r, 0), self._cell(r, 1), self._cell(r, 2) or DEFAULT_MODEL)
            for r in range(self.table.rowCount())
            if self._cell(r, 0)
        ]

    def _refresh_active(self) -> None:
        wanted = self.active.currentData() if self.active.count() else (self.settings.provider or "local")
        self.active.blockSignals(True)
        self.active.clear()
        self.active.addItem(self.tr("Local offline engine (no key)"), "local")
        for p in self.providers():
            preset = PRESETS.get(p.name.lower())
            self.active.addItem(preset.label if preset else p.name, p.name)
        self.active.setCurrentIndex(max(0, self.active.findData(wanted)))
        self.active.blockSignals(False)

    # -- key --------------------------------------------------------------------------------------------

    def _show_key_status(self) -> None:
        self.bag.spawn(self.refresh_key_status())

    async def refresh_key_status(self) -> None:
        name = self.current_provider()
        if not name:
            self.key_status.setText(self.tr("Select a provider above."))
            return
        stored = await asyncio.to_thread(keystore.stored_key, name)  # the keychain may be slow or locked
        if name != self.current_provider():
            return  # the selection moved on meanwhile
        if stored:
            self.key_status.setText(self.tr("A key for “%1” is stored in the system keychain.").replace("%1", name))
        elif key_from_env():
            self.key_status.setText(
                self.tr("No key stored; GPTIMAGE_API_KEY / OPENAI_API_KEY from the environment is used.")
            )
        else:
            self.key_status.setText(self.tr("No key stored for “%1”.").replace("%1", name))

    async def save_key(self) -> bool:
        """Store the typed key in the keychain (in a worker thread: a locked keychain may ask to be unlocked)."""
        name = self.current_provider()
        key = self.key_edit.text().strip()
        if not name or not key:
            return True
        try:
            await asyncio.to_thread(keystore.set_key, name, key)
        except ConfigError as exc:
            self.key_status.setText(exc.message)
            return False
        self.key_edit.clear()
        await self.refresh_key_status()
        return True

    async def _forget_key(self) -> None:
        name = self.current_provider()
        if name:
            await asyncio.to_thread(keystore.delete_key, name)
            await self.refresh_key_status()

    async def run_test(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        name, base_url = self._cell(row, 0), self._cell(row, 1)
        key = self.key_edit.text().strip() or await asyncio.to_thread(keystore.get_key, name) or ""
        if not key:
            self.key_status.setText(self.tr("Enter a key first."))
            return
        self.test_button.setEnabled(False)
        self.key_status.setText(self.tr("Testing %1 …").replace("%1", base_url))
        try:
            ok, detail = await test_connection(base_url, key)
        except asyncio.CancelledError:
            raise
        finally:
            self.test_button.setEnabled(True)
        if ok:
            text = self.tr("Connected: the provider answered and accepted the key.")
            if detail:
                text += " " + self.tr("Image models: %1.").replace("%1", detail)
            self.key_status.setText(text)
        else:
            self.key_status.setText(self.tr("Connection failed: %1").replace("%1", detail))

    # -- saving -----------------------------------------------------------------------------------------

    def accept(self) -> None:
        if not self.buttons.isEnabled():
            return
        self.buttons.setEnabled(False)
        self.bag.spawn(self._accept())

    async def _accept(self) -> None:
        try:
            await self._save_and_close()
        finally:
            self.buttons.setEnabled(True)

    async def _save_and_close(self) -> None:
        providers = self.providers()
        names = [p.name.lower() for p in providers]
        for p in providers:
            try:
                p.base_url = check_base_url(p.base_url)
            except ConfigError as exc:
                self.table_message.setText(f"{p.name}: {exc.message}")
                self.table_message.show()
                return
        if len(set(names)) != len(names):
            self.table_message.setText(self.tr("Each provider needs its own name."))
            self.table_message.show()
            return
        if not await self.save_key():
            return
        language = self.language.currentData()
        old_language = self.settings.language or "system"
        self.settings.providers = providers
        active = self.active.currentData()
        self.settings.provider = None if active == "local" else active
        self.settings.language = None if language == "system" else language
        self.settings.history = HistoryPolicy(
            max_total_mb=self.history_mb.value() or None, max_age_days=self.history_days.value() or None
        )
        self.settings.cost = CostLimits(self.ask_images.value(), self.ask_dollars.value() or None)
        self.settings.timeouts = TimeoutDefaults(  # the client's defaults stay unsaved, so they can change
            read=_unless(self.read_timeout.value(), DEFAULT_TIMEOUTS.read),
            stall=_unless(self.stall_timeout.value(), DEFAULT_TIMEOUTS.stall),
        )
        super().accept()
        self.saved.emit(language != old_language)

    def reject(self) -> None:
        self.bag.cancel_all()
        super().reject()
