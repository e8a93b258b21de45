"""A folded "More" part of a form: the rows a painter rarely touches, hidden until asked for.

Each form names its section; which sections are unfolded is part of the model (DialogModel.unfolded)
and is remembered in the settings, so the dialog opens the way the painter left it.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFormLayout, QToolButton, QWidget

from .model import DialogModel


class MoreToggle(QToolButton):
    def __init__(self, model: DialogModel, section: str, form: QFormLayout, tooltip: str = "") -> None:
        super().__init__()
        self.model = model
        self.section = section
        self.form = form
        self.rows: list[QWidget] = []
        self.setText(self.tr("More"))
        self.setToolTip(tooltip)
        self.setCheckable(True)
        self.setAutoRaise(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        form.addRow(self)
        self.toggled.connect(self._chosen)
        model.unfolded_changed.connect(self._show)
        self._show()

    def add(self, field: QWidget) -> None:
        """A row already in the form (by its field widget) that belongs behind this toggle."""
        self.rows.append(field)
        self.form.setRowVisible(field, self.unfolded())

    def unfolded(self) -> bool:
        return self.section in self.model.unfolded

    def unfold(self) -> None:
        if not self.unfolded():
            self.model.unfolded = (*self.model.unfolded, self.section)

    def _chosen(self, on: bool) -> None:
        others = tuple(s for s in self.model.unfolded if s != self.section)
        self.model.unfolded = (*others, self.section) if on else others

    def _show(self, *_: object) -> None:
        on = self.unfolded()
        self.blockSignals(True)
        self.setChecked(on)
        self.blockSignals(False)
        self.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        for field in self.rows:
            self.form.setRowVisible(field, on)
