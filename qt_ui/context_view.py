"""Context controls (how much surrounding image is sent, mask grow/feather, colour match) and a preview of
exactly what will be sent: the region at the model's size with the editable area tinted."""

from __future__ import annotations

from PyQt6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PyQt6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from .bind import bind_check, bind_combo, bind_spin
from .model import DialogModel
from .more import MoreToggle
from .widgets import ImageView

CTX = "ContextView"
MODES = (
    ("auto", QT_TRANSLATE_NOOP("ContextView", "Automatic (selection + surroundings)")),
    ("padding", QT_TRANSLATE_NOOP("ContextView", "Selection box + padding")),
    ("whole", QT_TRANSLATE_NOOP("ContextView", "Whole layer")),
)


def _spin(maximum: int, suffix: str = " px") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, maximum)
    spin.setSuffix(suffix)
    return spin


class ContextView(QWidget):
    def __init__(self, model: DialogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(6)
        self.mode = QComboBox()
        for value, label in MODES:
            self.mode.addItem(QCoreApplication.translate(CTX, label), value)
        self.padding = _spin(4096)
        self.padding.setToolTip(self.tr("Pixels of surroundings around the selection box"))
        self.grow = _spin(256)
        self.grow.setToolTip(self.tr("Widen the editable area beyond the selection so the model can blend"))
        self.feather = _spin(256)
        self.feather.setToolTip(self.tr("Soft edge of the editable area"))
        self.colour_match = QCheckBox(self.tr("Match colours to the surroundings"))
        form.addRow(self.tr("Context"), self.mode)
        form.addRow("", self.colour_match)
        self.more = MoreToggle(model, "context", form, self.tr("Padding, mask growth and feathering"))
        for label, spin in ((self.tr("Padding"), self.padding), (self.tr("Grow mask"), self.grow)):
            form.addRow(label, spin)
            self.more.add(spin)
        form.addRow(self.tr("Feather"), self.feather)
        self.more.add(self.feather)
        bind_combo(self.mode, model, "context_mode")
        bind_spin(self.padding, model, "padding_px")
        bind_spin(self.grow, model, "grow_px")
        bind_spin(self.feather, model, "feather_px")
        bind_check(self.colour_match, model, "colour_match")
        model.context_mode_changed.connect(lambda mode: self.padding.setEnabled(mode == "padding"))
        self.padding.setEnabled(model.context_mode == "padding")


class SentPreview(QWidget):
    """The region exactly as it will be uploaded, editable area tinted; computed off the GUI thread."""

    def __init__(self, model: DialogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.view = ImageView(self.tr("The preview of what will be sent appears here."))
        self.view.setMinimumHeight(150)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #6b7280;")
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        model.preview_changed.connect(self.view.set_image)

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)
