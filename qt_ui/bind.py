"""Two-way bindings between plain Qt controls and DialogModel attributes (views hold no state of their own)."""

from __future__ import annotations

from typing import Any

from PyQt6.QtWidgets import QCheckBox, QComboBox, QSpinBox

from .model import DialogModel


def bind_combo(combo: QComboBox, model: DialogModel, name: str) -> None:
    """Item data ↔ attribute. An editable combo also accepts typed text (e.g. a model name)."""

    def show(value: Any) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)
        elif combo.isEditable():
            combo.setEditText(str(value))

    def store(*_: object) -> None:
        if combo.isEditable():
            text = combo.currentText().strip()
            index = combo.findText(text)
            setattr(model, name, combo.itemData(index) if index >= 0 else text)
        elif combo.currentIndex() >= 0:
            setattr(model, name, combo.currentData())

    show(getattr(model, name))
    getattr(model, f"{name}_changed").connect(show)
    if combo.isEditable():
        combo.currentTextChanged.connect(store)
    else:
        combo.currentIndexChanged.connect(store)


def bind_spin(spin: QSpinBox, model: DialogModel, name: str) -> None:
    spin.setValue(getattr(model, name))
    getattr(model, f"{name}_changed").connect(spin.setValue)
    spin.valueChanged.connect(lambda value: setattr(model, name, value))


def bind_check(check: QCheckBox, model: DialogModel, name: str) -> None:
    check.setChecked(getattr(model, name))
    getattr(model, f"{name}_changed").connect(check.setChecked)
    check.toggled.connect(lambda value: setattr(model, name, value))
