"""The price next to Run: keeps `model.estimate` current, labels the Run button with it, and asks once
before a run beyond the user's limits (Settings). The figures come from gimp_gptimage.cost."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PyQt6.QtCore import QCoreApplication, QObject
from PyQt6.QtWidgets import QMessageBox, QPushButton, QWidget

from gimp_gptimage.api.params import parse_size
from gimp_gptimage.cost import Estimate, LearnedTokens, estimate, format_dollars
from gimp_gptimage.history import HistoryRecord
from gimp_gptimage.settings import CostLimits

from .model import PARAM_FIELDS, DialogModel
from .widgets import RUN_BUTTON_STYLE

translate = QCoreApplication.translate


def images_text(n: int) -> str:
    """ "1 image" / "4 images" (English without a translation file has no plural forms: chosen here)."""
    return translate("Price", "1 image") if n == 1 else translate("Price", "%1 images").replace("%1", str(n))


class PriceWatcher(QObject):
    """Re-estimates whenever the request changes, and learns from the history each time it is reloaded."""

    def __init__(self, model: DialogModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.learned = LearnedTokens()
        model.changed.connect(self._changed)
        model.references_changed.connect(self.update)
        self.update()

    def learn(self, records: Sequence[HistoryRecord]) -> None:
        self.learned = LearnedTokens.from_records(records)
        self.update()

    def _changed(self, name: str) -> None:
        if name in PARAM_FIELDS or name in ("sent_size", "provider"):
            self.update()

    def update(self) -> None:
        m = self.model
        editing = m.kind in ("edit", "fuse")
        first = parse_size(m.sent_size) or parse_size(m.size) if editing else None
        sizes = [first] if first else []
        sizes += [(ref.rgba.shape[1], ref.rgba.shape[0]) for ref in m.references if ref.rgba is not None]
        m.estimate = estimate(
            m.params(),
            provider=m.provider,
            sent_sizes=sizes,
            result_size=m.sent_size if editing else None,
            learned=self.learned,
        )


def run_label(found: Estimate | None) -> str:
    """ "Run · 4 images · ≈ $0.84": the number of images never hides in a remembered setting."""
    if found is None:
        return translate("Price", "Run")
    label = translate("Price", "Run · %1").replace("%1", images_text(found.images))
    if found.dollars is not None and found.source != "free":
        label += " · ≈ " + format_dollars(found.dollars)
    return label


def estimate_note(found: Estimate | None) -> str:
    """Where the figure comes from (the Run button's tooltip)."""
    if found is None:
        return ""
    if found.source == "free":
        return translate("Price", "The offline engine on this computer costs nothing.")
    if found.dollars is None:
        return translate("Price", "No price known for this model or quality yet; the cost is shown after the run.")
    if found.source == "history":
        return translate("Price", "Estimated from your own past results with this model, quality and size.")
    return translate("Price", "Estimate from built-in figures (no past results with this model, quality and size yet).")


class RunButton(QPushButton):
    """The dialog's Run button, labelled with what the run makes and costs."""

    def __init__(self, model: DialogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setDefault(False)
        self.setAutoDefault(False)
        self.setMinimumWidth(110)
        self.setStyleSheet(RUN_BUTTON_STYLE)
        model.estimate_changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_: object) -> None:
        found = self.model.estimate
        self.setText(run_label(found))
        tip = translate("Price", "Send the request (Ctrl+Enter)")
        self.setToolTip(f"{tip}\n{estimate_note(found)}" if found is not None else tip)


def ask_before_costly_run(
    parent: QWidget, found: Estimate | None, limits: CostLimits, go: Callable[[], None]
) -> QMessageBox | None:
    """Start the run at once, or (beyond the limits) after one question; returns the question shown."""
    if found is None or not found.exceeds(limits.ask_above_images, limits.ask_above_dollars):
        go()
        return None
    cost = format_dollars(found.dollars) if found.dollars is not None else translate("Price", "an unknown amount")
    text = translate("Price", "This run makes %1 and costs about %2.")
    box = QMessageBox(
        QMessageBox.Icon.Question,
        translate("Price", "Send a costly request?"),
        text.replace("%1", images_text(found.images)).replace("%2", cost),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setInformativeText(translate("Price", "It is above the limits set in Settings. Send it?"))
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    send = box.button(QMessageBox.StandardButton.Yes)
    assert send is not None
    send.setText(translate("Price", "Send"))
    box.finished.connect(lambda _result: go() if box.clickedButton() is send else None)
    box.open()
    return box
