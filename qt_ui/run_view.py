"""While running: stage, progress and elapsed time with a Cancel; afterwards: the error panel or usage line."""

from __future__ import annotations

from PyQt6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, pyqtSignal
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from gimp_gptimage.api.errors import UserMessage
from gimp_gptimage.api.types import Usage
from gimp_gptimage.cost import format_dollars

from . import messages
from .model import DialogModel

CTX = "RunView"
STAGES = {
    "preparing": QT_TRANSLATE_NOOP("RunView", "Preparing"),
    "uploading": QT_TRANSLATE_NOOP("RunView", "Uploading"),
    "generating": QT_TRANSLATE_NOOP("RunView", "Generating"),
    "downloading": QT_TRANSLATE_NOOP("RunView", "Downloading"),
    "finishing": QT_TRANSLATE_NOOP("RunView", "Finishing"),
    "saving": QT_TRANSLATE_NOOP("RunView", "Saving"),
    "done": QT_TRANSLATE_NOOP("RunView", "Done"),
}


def stage_text(stage: str) -> str:
    label = STAGES.get(stage)
    return QCoreApplication.translate(CTX, label) if label else stage.capitalize()


def usage_text(usage: Usage, cost: float | None = None) -> str:
    """ "Usage: input 1,105 tokens, output 4,160 tokens, total 5,265 · cost $0.13" """
    translate = QCoreApplication.translate
    if cost == 0:  # the offline engine: its token counts only imitate the API's
        return translate("RunView", "No cost: the offline engine is free.")
    parts = []
    if usage.input_tokens is not None:
        parts.append(translate("RunView", "input %1 tokens").replace("%1", f"{usage.input_tokens:,}"))
    if usage.output_tokens is not None:
        parts.append(translate("RunView", "output %1 tokens").replace("%1", f"{usage.output_tokens:,}"))
    if usage.total_tokens is not None:
        parts.append(translate("RunView", "total %1").replace("%1", f"{usage.total_tokens:,}"))
    if not parts:
        return ""
    text = translate("RunView", "Usage: %1").replace("%1", ", ".join(parts))
    if cost is not None:
        text += " · " + translate("RunView", "cost %1").replace("%1", format_dollars(cost))
    return text


class ErrorPanel(QFrame):
    """What went wrong, in the dialog itself: title, the provider's message, what to do, status and request id."""

    dismissed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ErrorPanel")
        self.setStyleSheet(
            "#ErrorPanel { background: #fdecea; border: 1px solid #f1aeb5; border-radius: 6px; }"
            "#ErrorPanel QLabel { color: #5f2120; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(3)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600;")
        self.title.setWordWrap(True)
        self.close_button = QPushButton("✕")
        self.close_button.setFlat(True)
        self.close_button.setFixedWidth(28)
        self.close_button.setToolTip(self.tr("Dismiss"))
        self.close_button.clicked.connect(self.dismissed)
        top.addWidget(self.title, 1)
        top.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.detail = QLabel()
        self.hint = QLabel()
        self.meta = QLabel()
        for label in (self.detail, self.hint, self.meta):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        self.meta.setStyleSheet("font-family: monospace; font-size: 11px;")
        self.hide()

    def show_error(self, message: UserMessage | None) -> None:
        if message is None:
            self.hide()
            return
        shown = messages.user_message(message)
        self.title.setText(shown.title)
        self.detail.setText(shown.detail if shown.detail != shown.title else "")
        self.detail.setVisible(bool(self.detail.text()))
        self.hint.setText(shown.hint)
        self.hint.setVisible(bool(shown.hint))
        meta = []
        if shown.status_code:
            meta.append(self.tr("HTTP status %1").replace("%1", str(shown.status_code)))
        if shown.request_id:
            meta.append(self.tr("request id %1").replace("%1", shown.request_id))
        self.meta.setText(" · ".join(meta))
        self.meta.setVisible(bool(meta))
        self.show()


class RunView(QWidget):
    cancel_requested = pyqtSignal()

    def __init__(self, model: DialogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        row = QHBoxLayout()
        self.stage = QLabel()
        self.stage.setMinimumWidth(110)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(10)
        self.elapsed = QLabel()
        self.elapsed.setMinimumWidth(56)
        self.elapsed.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.stage)
        row.addWidget(self.bar, 1)
        row.addWidget(self.elapsed)
        row.addWidget(self.cancel_button)
        self.progress_row = QWidget()
        self.progress_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress_row)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setStyleSheet("color: #6b7280;")
        layout.addWidget(self.info)
        self.error = ErrorPanel()
        self.error.dismissed.connect(lambda: setattr(model, "error", None))
        layout.addWidget(self.error)

        model.state_changed.connect(self._show_state)
        model.stage_changed.connect(self._show_stage)
        model.progress_changed.connect(self._show_progress)
        model.elapsed_changed.connect(self._show_elapsed)
        model.error_changed.connect(self.error.show_error)
        model.usage_changed.connect(self._show_info)
        model.cost_changed.connect(self._show_info)
        model.info_changed.connect(self._show_info)
        self._show_state(model.state)
        self._show_info()

    def _show_state(self, state: str) -> None:
        running = state == "running"
        self.progress_row.setVisible(running)
        self.cancel_button.setEnabled(running)

    def _show_stage(self, stage: str) -> None:
        self.stage.setText(stage_text(stage) if stage else "")

    def _show_progress(self, fraction: float | None) -> None:
        if fraction is None:
            self.bar.setRange(0, 0)  # busy indicator: the provider tells us nothing
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(fraction * 1000))

    def _show_elapsed(self, seconds: float) -> None:
        minutes, secs = divmod(int(seconds), 60)
        self.elapsed.setText(f"{minutes}:{secs:02d}")

    def _show_info(self, *_: object) -> None:
        usage = usage_text(self.model.usage, self.model.cost) if self.model.usage else ""
        parts = [p for p in (self.model.info, usage) if p]
        self.info.setText("\n".join(parts))
        self.info.setVisible(bool(parts))
