"""Provider, model and every request parameter; each rule's message appears right under its control."""

from __future__ import annotations

from collections.abc import Awaitable

from PyQt6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gimp_gptimage.api.catalog import ListedModel
from gimp_gptimage.api.params import FIXED_SIZES, MAX_N, MAX_PARTIAL_IMAGES, MODELS, parse_size

from . import messages
from .bind import bind_check, bind_combo, bind_spin
from .model import DialogModel
from .more import MoreToggle
from .widgets import FieldMessage

# Popular gpt-image-2 sizes (api-contract.md, "Size rules"); any other valid WxH goes through "Custom".
# Rows behind "More": what a painter rarely touches (the everyday case is a prompt, a size, Run).
MORE_PARAMS = frozenset(
    {"complexity", "background", "output_format", "output_compression", "moderation", "stream", "partial_images"}
)
FREE_SIZE_PRESETS = ("1024x1024", "1536x1024", "1024x1536", "2048x2048", "2048x1152", "3840x2160", "2160x3840")
CUSTOM = "custom"
CTX = "ParamsView"
CHOICES = {
    "quality": (
        ("auto", QT_TRANSLATE_NOOP("ParamsView", "Auto")),
        ("low", QT_TRANSLATE_NOOP("ParamsView", "Low")),
        ("medium", QT_TRANSLATE_NOOP("ParamsView", "Medium")),
        ("high", QT_TRANSLATE_NOOP("ParamsView", "High")),
        ("xhigh", QT_TRANSLATE_NOOP("ParamsView", "Extra high")),
        ("max", QT_TRANSLATE_NOOP("ParamsView", "Maximum")),
    ),
    "complexity": (
        ("", QT_TRANSLATE_NOOP("ParamsView", "Model default")),
        ("low", QT_TRANSLATE_NOOP("ParamsView", "Low")),
        ("medium", QT_TRANSLATE_NOOP("ParamsView", "Medium")),
        ("high", QT_TRANSLATE_NOOP("ParamsView", "High")),
    ),
    "background": (
        ("auto", QT_TRANSLATE_NOOP("ParamsView", "Auto")),
        ("opaque", QT_TRANSLATE_NOOP("ParamsView", "Opaque")),
        ("transparent", QT_TRANSLATE_NOOP("ParamsView", "Transparent")),
    ),
    "output_format": (("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WebP")),
    "moderation": (("auto", QT_TRANSLATE_NOOP("ParamsView", "Auto")), ("low", QT_TRANSLATE_NOOP("ParamsView", "Low"))),
}


def _combo(items: tuple[tuple[str, str], ...]) -> QComboBox:
    combo = QComboBox()
    for value, label in items:
        combo.addItem(QCoreApplication.translate(CTX, label), value)
    return combo


class ParamsView(QWidget):
    def __init__(self, model: DialogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(6)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.messages: dict[str, FieldMessage] = {}

        self.provider = QComboBox()
        self.provider.setToolTip(self.tr("Where requests go; manage providers and keys in Settings"))
        self._row(self.tr("Provider"), self.provider, "provider")

        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.set_listed_models([])
        self._row(self.tr("Model"), self.model_combo, "model")

        self.size_combo = QComboBox()
        self.width_spin = self._size_spin()
        self.height_spin = self._size_spin()
        size_row = QWidget()
        size_layout = QHBoxLayout(size_row)
        size_layout.setContentsMargins(0, 0, 0, 0)
        size_layout.addWidget(self.size_combo, 1)
        self.custom_box = QWidget()
        custom_layout = QHBoxLayout(self.custom_box)
        custom_layout.setContentsMargins(0, 0, 0, 0)
        custom_layout.addWidget(self.width_spin)
        custom_layout.addWidget(QLabel("×"))
        custom_layout.addWidget(self.height_spin)
        size_layout.addWidget(self.custom_box)
        self._row(self.tr("Size"), size_row, "size")

        self.quality = _combo(CHOICES["quality"])
        self._row(self.tr("Quality"), self.quality, "quality")
        self.markup = QCheckBox()
        self._row(self.tr("Markup"), self.markup, "markup")
        # Only an image with a markup layer has a choice to make here (README: "Markup").
        self.form.setRowVisible(self.form.rowCount() - 1, bool(model.markup_name))
        self.n = QSpinBox()
        self.n.setRange(1, MAX_N)
        self.n.setToolTip(self.tr("How many variations to make"))
        self._row(self.tr("Images"), self.n, "n")
        self.more = MoreToggle(
            model, "params", self.form, self.tr("Planning, background, format, moderation and streaming")
        )
        self.complexity = _combo(CHOICES["complexity"])
        self._row(self.tr("Planning"), self.complexity, "complexity")

        self.background = _combo(CHOICES["background"])
        self._row(self.tr("Background"), self.background, "background")

        self.output_format = _combo(CHOICES["output_format"])
        self.compression = QSpinBox()
        self.compression.setRange(0, 100)
        self.compression.setSuffix(" %")
        self.compression.setToolTip(self.tr("Output compression (JPEG and WebP only)"))
        fmt_row = QWidget()
        fmt_layout = QHBoxLayout(fmt_row)
        fmt_layout.setContentsMargins(0, 0, 0, 0)
        fmt_layout.addWidget(self.output_format, 1)
        self.compression_label = QLabel(self.tr("Compression"))
        fmt_layout.addWidget(self.compression_label)
        fmt_layout.addWidget(self.compression)
        self._row(self.tr("Format"), fmt_row, "output_format", extra=("output_compression",))

        self.moderation = _combo(CHOICES["moderation"])
        self._row(self.tr("Moderation"), self.moderation, "moderation")

        self.stream = QCheckBox(self.tr("Show progress"))
        self.stream.setToolTip(self.tr("Show the image while it is being made"))
        self.partials = QSpinBox()
        self.partials.setRange(0, MAX_PARTIAL_IMAGES)
        self.partials.setToolTip(self.tr("Partial images to show before the final one"))
        stream_row = QWidget()
        stream_layout = QHBoxLayout(stream_row)
        stream_layout.setContentsMargins(0, 0, 0, 0)
        stream_layout.addWidget(self.stream)
        stream_layout.addStretch(1)
        self.partials_label = QLabel(self.tr("Partial images"))
        stream_layout.addWidget(self.partials_label)
        stream_layout.addWidget(self.partials)
        self._row(self.tr("Streaming"), stream_row, "stream", extra=("partial_images",))

        self.provider.currentIndexChanged.connect(self._provider_chosen)
        model.provider_changed.connect(self._show_provider)
        bind_combo(self.model_combo, model, "model")
        bind_combo(self.quality, model, "quality")
        bind_combo(self.complexity, model, "complexity")
        bind_check(self.markup, model, "use_markup")
        bind_spin(self.n, model, "n")
        bind_combo(self.background, model, "background")
        bind_combo(self.output_format, model, "output_format")
        bind_spin(self.compression, model, "compression")
        bind_combo(self.moderation, model, "moderation")
        bind_check(self.stream, model, "stream")
        bind_spin(self.partials, model, "partial_images")

        self.size_combo.currentIndexChanged.connect(self._size_chosen)
        self.width_spin.valueChanged.connect(self._custom_size_changed)
        self.height_spin.valueChanged.connect(self._custom_size_changed)
        model.model_changed.connect(self._model_family_changed)
        model.size_changed.connect(self._show_size)
        model.changed.connect(self._update_enabled)
        model.kind_changed.connect(self._model_rules_changed)
        model.violations_changed.connect(self._show_violations)
        self._model_family_changed()
        self._update_enabled()
        self._show_violations(model.violations)

    # -- providers ------------------------------------------------------------------------------------

    def set_providers(self, providers: list[tuple[str, str]]) -> None:
        """(name, label) pairs; the model's provider is selected."""
        self.provider.blockSignals(True)
        self.provider.clear()
        for name, label in providers:
            self.provider.addItem(label, name)
        self.provider.blockSignals(False)
        self._show_provider(self.model.provider)

    def _show_provider(self, name: str) -> None:
        index = self.provider.findData(name)
        if index >= 0:
            self.provider.setCurrentIndex(index)

    def _provider_chosen(self, index: int) -> None:
        if index >= 0:
            self.model.provider = self.provider.itemData(index)

    # -- models -------------------------------------------------------------------------------------------

    def set_listed_models(self, listed: list[ListedModel]) -> None:
        """The table's models, or the provider's own list (`GET /models`) when it has one: models the table
        does not know are offered too, marked unknown (they are sent without local rules)."""
        current = self.model.model
        entries = [(m.id, m.label, m.summary or self.tr("Not in gimp-gptimage's table: sent as is")) for m in listed]
        if not entries:
            entries = [(name, name, spec.summary) for name, spec in MODELS.items()]
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for value, label, tip in entries:
            self.model_combo.addItem(label, value)
            self.model_combo.setItemData(self.model_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findData(current)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        else:
            self.model_combo.setEditText(current)
        self.model_combo.blockSignals(False)

    async def show_models(self, listed: Awaitable[list[ListedModel]]) -> None:
        self.set_listed_models(await listed)

    def _model_rules_changed(self, *_: object) -> None:
        """Each control, and each choice in a list, is enabled only where the chosen model takes it; the
        reason is the tooltip."""
        name = self.model.model.strip() or "?"
        for value, _label in CHOICES["quality"]:
            self._enable_item(
                self.quality,
                value,
                self.model.takes(value),
                self.tr("%1 does not offer this quality").replace("%1", name),
            )
        self._enable_item(
            self.background,
            "transparent",
            self.model.takes("transparent"),
            self.tr("%1 cannot make transparent backgrounds").replace("%1", name),
        )
        complexity = self.model.takes("complexity")
        self.complexity.setEnabled(complexity)
        self.complexity.setToolTip(
            self.tr("How long the model plans before it draws (no extra cost)")
            if complexity
            else self.tr("%1 does not take a planning depth; 2.6 models do").replace("%1", name)
        )
        layer = self.model.markup_name
        takes = self.model.takes("markup") and self.model.kind == "edit"
        self.markup.setEnabled(bool(layer) and takes)
        if not layer:
            text = self.tr("No markup layer")
            reason = self.tr("Draw arrows, circles and notes on a visible layer named 'markup' to guide 2.6 models")
        elif not takes:
            # The reason is the label itself: a greyed-out tick must not look as if the layer were sent.
            text = reason = self.tr("%1 does not read markup; 2.6 models do").replace("%1", name)
        else:
            text = self.tr("Use the layer '%1' as markup").replace("%1", layer)
            reason = self.tr("The marks tell the model what to change; the layer is never sent as a reference")
        self.markup.setText(text)
        self.markup.setToolTip(reason)

    @staticmethod
    def _enable_item(combo: QComboBox, value: str, enabled: bool, reason: str) -> None:
        item = combo.model().item(combo.findData(value))  # type: ignore[union-attr]
        if item is not None:
            item.setEnabled(enabled)
            item.setToolTip("" if enabled else reason)

    # -- layout helpers -------------------------------------------------------------------------------

    def _row(self, label: str, field: QWidget, param: str, extra: tuple[str, ...] = ()) -> None:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(field)
        message = FieldMessage()
        layout.addWidget(message)
        self.form.addRow(label, box)
        if param in MORE_PARAMS:
            self.more.add(box)
        for name in (param, *extra):
            self.messages[name] = message

    def _size_spin(self) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(16, 8192)
        spin.setSingleStep(16)
        spin.setSuffix(" px")
        spin.setKeyboardTracking(True)
        return spin

    # -- size -----------------------------------------------------------------------------------------

    def _model_family_changed(self, *_: object) -> None:
        presets = FREE_SIZE_PRESETS if self.model.free_sizes() else FIXED_SIZES
        self.size_combo.blockSignals(True)
        self.size_combo.clear()
        self.size_combo.addItem(self._auto_size_label(), "auto")
        for size in presets:
            self.size_combo.addItem(size.replace("x", " × "), size)
        if self.model.free_sizes():
            self.size_combo.addItem(self.tr("Custom…"), CUSTOM)
        self.size_combo.blockSignals(False)
        self._model_rules_changed()
        self._show_size(self.model.size)

    def _auto_size_label(self) -> str:
        if self.model.kind == "generate":  # no region: the model picks, the result is scaled to the canvas
            return self.tr("Auto (the model chooses)")
        return self.tr("Auto (fit the region)")

    def _show_size(self, size: str) -> None:
        # While the user works in "Custom", stay there even if the numbers happen to match a preset.
        custom_chosen = self.size_combo.currentData() == CUSTOM and self.model.free_sizes()
        index = -1 if custom_chosen else self.size_combo.findData(size)
        wh = parse_size(size)
        self.size_combo.blockSignals(True)
        if index >= 0:
            self.size_combo.setCurrentIndex(index)
            self.custom_box.setVisible(False)
        else:
            custom = self.size_combo.findData(CUSTOM)
            self.size_combo.setCurrentIndex(custom if custom >= 0 else 0)
            self.custom_box.setVisible(custom >= 0)
            if wh:
                for spin, value in ((self.width_spin, wh[0]), (self.height_spin, wh[1])):
                    spin.blockSignals(True)
                    spin.setValue(value)
                    spin.blockSignals(False)
        self.size_combo.blockSignals(False)

    def _size_chosen(self, index: int) -> None:
        value = self.size_combo.itemData(index)
        if value == CUSTOM:
            wh = parse_size(self.model.size) or (1536, 1024)
            self.width_spin.setValue(wh[0])
            self.height_spin.setValue(wh[1])
            self.custom_box.setVisible(True)
            self._custom_size_changed()
        elif value:
            self.custom_box.setVisible(False)
            self.model.size = value

    def _custom_size_changed(self, *_: object) -> None:
        if self.size_combo.currentData() == CUSTOM:
            self.model.size = f"{self.width_spin.value()}x{self.height_spin.value()}"

    # -- enabled state and messages -------------------------------------------------------------------

    def _update_enabled(self, *_: object) -> None:
        allowed = self.model.compression_allowed()
        self.compression.setEnabled(allowed)
        self.compression_label.setEnabled(allowed)
        self.partials.setEnabled(self.model.stream)
        self.partials_label.setEnabled(self.model.stream)

    def _show_violations(self, violations: dict) -> None:
        if any(param in MORE_PARAMS for param in violations):
            self.more.unfold()  # a rule broken behind "More" must be seen where it is broken
        shown: dict[FieldMessage, list[str]] = {m: [] for m in self.messages.values()}
        for param, v in violations.items():
            target = self.messages.get(param)
            if target is not None:
                shown[target].append(messages.sentence(v.message))
        for message, texts in shown.items():
            message.show_message("\n".join(texts))
