"""Every past result (thumbnail, prompt, date), any of which can be inserted again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PyQt6.QtCore import QCoreApplication, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QIcon, QPixmap
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from gimp_gptimage.api.errors import explain
from gimp_gptimage.cost import MonthTotal, format_dollars, monthly_totals, record_cost
from gimp_gptimage.history import HistoryEntry, HistoryRecord, HistoryResult, HistoryStore

from . import messages
from .history_insert import history_item
from .images import RawRGBA, bytes_thumbnail, to_qimage
from .source import EditSource
from .tasks import TaskBag, soon

translate = QCoreApplication.translate
MAX_SHOWN = 120  # newest results listed; older ones stay on disk (and in `gimp-gptimage history`)


@dataclass(frozen=True)
class HistoryRow:
    entry: HistoryEntry
    result: HistoryResult
    thumbnail: RawRGBA | None


@dataclass(frozen=True)
class HistoryLoad:
    rows: list[HistoryRow]  # the newest MAX_SHOWN results
    records: list[HistoryRecord]  # every entry, newest first: what was spent, and what the estimate learns


def load_rows(store: HistoryStore) -> HistoryLoad:
    """Entries and thumbnails, newest first (call off the GUI thread)."""
    entries = store.list()
    rows: list[HistoryRow] = []
    for entry in entries:
        for result in entry.results:
            if len(rows) >= MAX_SHOWN:
                break
            try:
                thumb = bytes_thumbnail(result.path.read_bytes(), 96)
            except Exception:
                thumb = None
            rows.append(HistoryRow(entry, result, thumb))
    return HistoryLoad(rows, [e.record for e in entries])


def entry_cost_text(entry: HistoryEntry) -> str:
    cost = record_cost(entry.record)
    if cost is not None:
        return format_dollars(cost)
    return translate("HistoryView", "cost unknown") if entry.results else ""


def spending_text(months: list[MonthTotal], shown: int = 3) -> str:
    """ "Spent: 2026-12 $1.23 (5 requests) · 2026-11 $0.40 (2 requests)" """
    parts = []
    for m in months[:shown]:
        text = (
            translate("HistoryView", "%1 %2 (1 request)")
            if m.requests == 1
            else translate("HistoryView", "%1 %2 (%3 requests)")
        )
        text = text.replace("%1", m.month).replace("%2", format_dollars(m.dollars)).replace("%3", str(m.requests))
        if m.unpriced:
            text += " " + translate("HistoryView", "+%1 of unknown cost").replace("%1", str(m.unpriced))
        parts.append(text)
    return translate("HistoryView", "Spent: %1").replace("%1", " · ".join(parts)) if parts else ""


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class HistoryView(QWidget):
    insert_requested = pyqtSignal(object)  # JobResult
    records_loaded = pyqtSignal(object)  # list[HistoryRecord], every entry, after each (re)load

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.source: EditSource | None = None
        self.rows: list[HistoryRow] = []
        self._task: asyncio.Task[Any] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setIconSize(QSize(72, 72))
        self.list.setSpacing(2)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemDoubleClicked.connect(lambda _item: self._insert())
        layout.addWidget(self.list, 1)
        self.spending = QLabel()
        self.spending.setWordWrap(True)
        self.spending.setToolTip(self.tr("From the usage each provider reported, at OpenAI's token prices."))
        layout.addWidget(self.spending)
        self.status = QLabel()
        self.status.setStyleSheet("color: #6b7280;")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        self.reload_button = QPushButton(self.tr("Reload"))
        self.insert_button = QPushButton(self.tr("Insert again"))
        self.insert_button.setEnabled(False)
        buttons.addWidget(self.reload_button)
        buttons.addStretch(1)
        buttons.addWidget(self.insert_button)
        layout.addLayout(buttons)
        self.reload_button.clicked.connect(self.reload)
        self.insert_button.clicked.connect(self._insert)
        self.list.currentRowChanged.connect(lambda row: self.insert_button.setEnabled(row >= 0))
        self.bag = TaskBag()
        self.loaded = False
        soon(self, self.reload)

    def reload(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.loaded = False
        self._task = self.bag.spawn(self._reload())

    async def _reload(self) -> None:
        try:
            found = await asyncio.to_thread(load_rows, self.store)
        except Exception as exc:
            self.status.setText(explain(exc).one_line())
            self.loaded = True
            return
        self.rows = rows = found.rows
        self.list.clear()
        priced: set[str] = set()
        for row in rows:
            icon = QIcon(QPixmap.fromImage(to_qimage(row.thumbnail))) if row.thumbnail else QIcon()
            prompt = row.entry.prompt.replace("\n", " ")
            if len(prompt) > 90:
                prompt = prompt[:89] + "…"
            details = [_when(row.entry.created_at), f"#{row.result.index + 1}", row.entry.record.model]
            if row.entry.id not in priced:  # a request's cost once, on its first result
                priced.add(row.entry.id)
                details.append(entry_cost_text(row.entry))
                if shortfall := row.entry.record.shortfall:
                    details.append(messages.sentence(shortfall))
            text = prompt + "\n" + " · ".join(d for d in details if d)
            item = QListWidgetItem(icon, text)
            item.setToolTip(row.entry.prompt)
            item.setData(Qt.ItemDataRole.UserRole, row.entry.id)
            self.list.addItem(item)
        self.status.setText(
            self.tr("No results yet: every result is kept here, even after a crash.")
            if not rows
            else self.tr("%1 result(s). Double-click one to insert it again.").replace("%1", str(len(rows)))
        )
        self.spending.setText(spending_text(monthly_totals(found.records)))
        self.spending.setVisible(bool(self.spending.text()))
        self.loaded = True
        self.records_loaded.emit(found.records)

    def _insert(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.rows) and self.source is not None:
            self.bag.spawn(self._insert_row(self.rows[row]))

    async def _insert_row(self, row: HistoryRow) -> None:
        assert self.source is not None
        try:
            item = await asyncio.to_thread(history_item, row.entry, row.result, self.source)
        except Exception as exc:
            self.status.setText(explain(exc).one_line())
            return
        self.insert_requested.emit(item)
