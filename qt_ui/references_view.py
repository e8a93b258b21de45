"""Reference images sent with the edit: thumbnails, drag to reorder, add or drop files, at most 16 in all."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QPixmap
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gimp_gptimage.api.params import MAX_IMAGES

from . import messages
from .model import DialogModel
from .widgets import FieldMessage


class _ReferenceList(QListWidget):
    """Reorders by dragging inside, and takes image files dropped from a file manager."""

    files_dropped = pyqtSignal(list)  # [Path]

    @staticmethod
    def _files(event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> list[Path]:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, e: QDragEnterEvent | None) -> None:
        if e is not None and e.source() is None and self._files(e):
            e.acceptProposedAction()
            return
        super().dragEnterEvent(e)

    def dragMoveEvent(self, e: QDragMoveEvent | None) -> None:
        if e is not None and e.source() is None and self._files(e):
            e.acceptProposedAction()
            return
        super().dragMoveEvent(e)

    def dropEvent(self, event: QDropEvent | None) -> None:
        files = self._files(event) if event is not None and event.source() is None else []
        if files:
            event.acceptProposedAction()  # type: ignore[union-attr]
            self.files_dropped.emit(files)
            return
        super().dropEvent(event)


class ReferencesView(QWidget):
    add_requested = pyqtSignal()
    files_dropped = pyqtSignal(list)  # [Path] dropped from a file manager

    def __init__(self, model: DialogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.list = _ReferenceList()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setFlow(QListWidget.Flow.LeftToRight)
        self.list.setWrapping(False)
        self.list.setIconSize(QSize(72, 72))
        self.list.setGridSize(QSize(96, 100))
        self.list.setFixedHeight(118)
        self.list.setMovement(QListWidget.Movement.Snap)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setToolTip(
            self.tr("Drag to change the order; the first images weigh most. Image files can be dropped here.")
        )
        self.list.files_dropped.connect(self.files_dropped)
        self.list.model().rowsMoved.connect(self._rows_moved)  # type: ignore[union-attr]
        layout.addWidget(self.list)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add file…"))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.left_button = QPushButton("◀")
        self.right_button = QPushButton("▶")
        for b in (self.left_button, self.right_button):
            b.setFixedWidth(32)
        self.left_button.setToolTip(self.tr("Move earlier"))
        self.right_button.setToolTip(self.tr("Move later"))
        self.count = QLabel()
        self.count.setStyleSheet("color: #6b7280;")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.left_button)
        buttons.addWidget(self.right_button)
        buttons.addStretch(1)
        buttons.addWidget(self.count)
        layout.addLayout(buttons)
        self.message = FieldMessage()
        layout.addWidget(self.message)

        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(self._remove)
        self.left_button.clicked.connect(lambda: self._move(-1))
        self.right_button.clicked.connect(lambda: self._move(1))
        self.list.currentRowChanged.connect(self._update_buttons)
        model.references_changed.connect(self.refresh)
        model.violations_changed.connect(self._show_violation)
        model.kind_changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_: object) -> None:
        row = self.list.currentRow()
        self.list.clear()
        for ref in self.model.references:
            item = QListWidgetItem(QIcon(QPixmap.fromImage(ref.thumbnail)), ref.name)
            item.setToolTip(ref.path or ref.name)
            self.list.addItem(item)
        if self.model.references:
            self.list.setCurrentRow(min(max(row, 0), len(self.model.references) - 1))
        self.count.setText(
            self.tr("%1 of %2 images (the layer counts as one)")
            .replace("%1", str(self.model.image_count()))
            .replace("%2", str(MAX_IMAGES))
        )
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        row = self.list.currentRow()
        has = row >= 0 and bool(self.model.references)
        self.add_button.setEnabled(self.model.can_add_reference())
        self.remove_button.setEnabled(has)
        self.left_button.setEnabled(has and row > 0)
        self.right_button.setEnabled(has and row < len(self.model.references) - 1)

    def _remove(self) -> None:
        self.model.remove_reference(self.list.currentRow())

    def _move(self, step: int) -> None:
        row = self.list.currentRow()
        self.model.move_reference(row, row + step)
        self.list.setCurrentRow(row + step)

    def _rows_moved(self, _parent: object, start: int, _end: int, _dest: object, row: int) -> None:
        # A drag inside the list: mirror it in the model (which then redraws the list from scratch).
        to = row - 1 if row > start else row
        QTimer.singleShot(0, lambda: self.model.move_reference(start, to))

    def _show_violation(self, violations: dict) -> None:
        v = violations.get("image")
        self.message.show_message(messages.sentence(v.message) if v else "")
