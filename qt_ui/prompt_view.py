"""The prompt: a multi-line box, the recent prompts, Ctrl+Enter to run."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from . import messages
from .model import DialogModel
from .widgets import FieldMessage


class PromptEdit(QPlainTextEdit):
    run_requested = pyqtSignal()

    def keyPressEvent(self, e: QKeyEvent | None) -> None:
        if (
            e is not None
            and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and e.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.run_requested.emit()
            return
        super().keyPressEvent(e)


class PromptView(QWidget):
    run_requested = pyqtSignal()

    def __init__(self, model: DialogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.recent: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        self.label = QLabel(self.tr("Prompt"))
        self.label.setStyleSheet("font-weight: 600;")
        self.recent_button = QToolButton()
        self.recent_button.setText(self.tr("Recent"))
        self.recent_button.setToolTip(self.tr("Use a prompt you ran before"))
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self.recent_button)
        self.recent_button.setMenu(self.recent_menu)
        header.addWidget(self.label)
        header.addStretch(1)
        header.addWidget(self.recent_button)
        layout.addLayout(header)
        self.edit = PromptEdit()
        self.edit.setPlaceholderText(self.placeholder(model.kind))
        self.edit.setTabChangesFocus(True)
        self.edit.setMinimumHeight(72)
        self.edit.setMaximumHeight(120)
        self.edit.setToolTip(self.tr("Ctrl+Enter runs"))
        layout.addWidget(self.edit)
        self.message = FieldMessage()
        layout.addWidget(self.message)

        self.edit.setPlainText(model.prompt)
        self.edit.textChanged.connect(self._store)
        self.edit.run_requested.connect(self.run_requested)
        model.prompt_changed.connect(self._show)
        model.violations_changed.connect(self._show_violation)
        self._show_violation(model.violations)
        self.set_recent([])

    def placeholder(self, kind: str) -> str:
        if kind == "generate":
            return self.tr("Describe the picture, e.g. “a lighthouse at dusk, watercolour”")
        if kind == "fuse":
            return self.tr("Describe how to combine the layers, e.g. “put the cat from the second on the sofa”")
        return self.tr("Describe the change, e.g. “replace the sky with a stormy sunset”")

    def set_recent(self, prompts: list[str]) -> None:
        self.recent = list(prompts)
        self.recent_menu.clear()
        for prompt in self.recent:
            shown = prompt if len(prompt) <= 80 else prompt[:77] + "…"
            action = self.recent_menu.addAction(shown.replace("\n", " "))
            assert action is not None
            action.setToolTip(prompt)
            action.triggered.connect(lambda _=False, p=prompt: setattr(self.model, "prompt", p))
        self.recent_button.setEnabled(bool(self.recent))

    def _store(self) -> None:
        self.model.prompt = self.edit.toPlainText()

    def _show(self, text: str) -> None:
        if self.edit.toPlainText() != text:
            self.edit.setPlainText(text)

    def _show_violation(self, violations: dict) -> None:
        v = violations.get("prompt")
        # An empty box on a fresh dialog is not an error worth red text: Run is simply disabled.
        document = self.edit.document()
        edited = document is not None and document.isModified()
        if v is None or (v.code == "missing_required_parameter" and not edited):
            self.message.show_message("")
        else:
            self.message.show_message(messages.sentence(v.message))
