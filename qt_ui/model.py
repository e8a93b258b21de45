"""The dialog's observable state: every view reads and writes this model and nothing else.

Modelled on Krita AI Diffusion's `Model`: plain attributes with one `<name>_changed` signal each plus a
generic `changed(name)`, so views stay thin and a test can drive the whole dialog through the model.
Parameter rules are not re-implemented here: `api.params.check_params` is asked on every change and its
violations are published per field, so the view can show each message next to the control that breaks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QImage

from gimp_gptimage.api.errors import UserMessage
from gimp_gptimage.api.models import MARKUP_WITH_MASK, ModelSpec
from gimp_gptimage.api.params import (
    ALL_QUALITIES,
    DEFAULT_MODEL,
    MAX_IMAGES,
    Background,
    Complexity,
    ImageParams,
    Moderation,
    OutputFormat,
    Quality,
    Violation,
    check_params,
    model_spec,
)
from gimp_gptimage.api.types import Usage
from gimp_gptimage.cost import Estimate
from gimp_gptimage.jobs.run import JobResult
from gimp_gptimage.pipeline import ContextOptions

T = TypeVar("T")
_CONTEXT = ContextOptions()  # the pipeline's defaults are the dialog's

# Fields that make up the request; a change to any of them re-runs validation.
PARAM_FIELDS = frozenset(
    {
        "kind",
        "prompt",
        "model",
        "size",
        "quality",
        "complexity",
        "use_markup",
        "n",
        "background",
        "output_format",
        "compression",
        "moderation",
        "stream",
        "partial_images",
    }
)
CONTEXT_FIELDS = frozenset({"context_mode", "padding_px", "grow_px", "feather_px", "colour_match"})


class Prop(Generic[T]):
    """An attribute that emits `<name>_changed(value)` and `changed(name)` when it really changes."""

    def __init__(self, default: T) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        return obj._values.get(self.name, self.default)

    def __set__(self, obj: Any, value: T) -> None:
        if obj._values.get(self.name, self.default) == value:
            return
        obj._values[self.name] = value
        getattr(obj, f"{self.name}_changed").emit(value)
        obj.changed.emit(self.name)


@dataclass
class Reference:
    """One extra image sent with the edit (a GIMP layer or a file), with a small thumbnail for the list."""

    name: str
    rgba: Any  # np.ndarray (h, w, 3|4) uint8, loaded off the GUI thread
    thumbnail: QImage = field(default_factory=QImage)
    path: str | None = None


@dataclass
class ResultItem:
    """One finished image of a run: its thumbnail and the job runner's result, which an InsertTarget places."""

    index: int
    thumbnail: QImage
    result: JobResult
    size: tuple[int, int] = (0, 0)


class DialogModel(QObject):
    changed = pyqtSignal(str)
    # Request parameters.
    kind_changed = pyqtSignal(object)
    prompt_changed = pyqtSignal(object)
    provider_changed = pyqtSignal(object)
    model_changed = pyqtSignal(object)
    size_changed = pyqtSignal(object)
    quality_changed = pyqtSignal(object)
    complexity_changed = pyqtSignal(object)
    use_markup_changed = pyqtSignal(object)
    n_changed = pyqtSignal(object)
    background_changed = pyqtSignal(object)
    output_format_changed = pyqtSignal(object)
    compression_changed = pyqtSignal(object)
    moderation_changed = pyqtSignal(object)
    stream_changed = pyqtSignal(object)
    partial_images_changed = pyqtSignal(object)
    # Context controls.
    context_mode_changed = pyqtSignal(object)
    padding_px_changed = pyqtSignal(object)
    grow_px_changed = pyqtSignal(object)
    feather_px_changed = pyqtSignal(object)
    colour_match_changed = pyqtSignal(object)
    # Run state.
    state_changed = pyqtSignal(object)
    stage_changed = pyqtSignal(object)
    progress_changed = pyqtSignal(object)
    elapsed_changed = pyqtSignal(object)
    error_changed = pyqtSignal(object)
    usage_changed = pyqtSignal(object)
    cost_changed = pyqtSignal(object)
    estimate_changed = pyqtSignal(object)
    sent_size_changed = pyqtSignal(object)
    backend_note_changed = pyqtSignal(object)
    info_changed = pyqtSignal(object)
    unfolded_changed = pyqtSignal(object)
    # Collections and derived state.
    references_changed = pyqtSignal()
    partial_changed = pyqtSignal(int, QImage)
    results_changed = pyqtSignal()
    inserted_changed = pyqtSignal()
    violations_changed = pyqtSignal(object)
    preview_changed = pyqtSignal(QImage)

    kind: Prop[str] = Prop("edit")  # "edit" | "generate" | "fuse"
    prompt: Prop[str] = Prop("")
    provider: Prop[str] = Prop("local")
    model: Prop[str] = Prop(DEFAULT_MODEL)
    size: Prop[str] = Prop("auto")
    quality: Prop[Quality] = Prop("auto")
    complexity: Prop[str] = Prop("")  # "": the model's own default (high)
    use_markup: Prop[bool] = Prop(True)  # send the image's markup layer, when it has one and the model reads it
    n: Prop[int] = Prop(1)
    background: Prop[Background] = Prop("auto")
    output_format: Prop[OutputFormat] = Prop("png")
    compression: Prop[int] = Prop(90)
    moderation: Prop[Moderation] = Prop("auto")
    stream: Prop[bool] = Prop(True)
    partial_images: Prop[int] = Prop(2)

    context_mode: Prop[str] = Prop(_CONTEXT.mode)  # "auto" | "padding" | "whole"
    padding_px: Prop[int] = Prop(_CONTEXT.padding_px)
    grow_px: Prop[int] = Prop(_CONTEXT.grow_px)
    feather_px: Prop[int] = Prop(_CONTEXT.feather_px)
    colour_match: Prop[bool] = Prop(_CONTEXT.colour_match)

    state: Prop[str] = Prop("idle")  # "idle" | "running" | "done" | "error"
    stage: Prop[str] = Prop("")
    progress: Prop[float | None] = Prop(None)
    elapsed: Prop[float] = Prop(0.0)
    error: Prop[UserMessage | None] = Prop(None)
    usage: Prop[Usage | None] = Prop(None)
    cost: Prop[float | None] = Prop(None)  # the last run's, in USD, from its usage
    estimate: Prop[Estimate | None] = Prop(None)  # what Run would cost (qt_ui/price.py keeps it current)
    sent_size: Prop[str] = Prop("")  # the edit's request size as the preview computed it ("" unknown)
    backend_note: Prop[str] = Prop("")  # e.g. "Offline local engine (no API key configured)"
    info: Prop[str] = Prop("")  # one-line status after a run or an insert
    unfolded: Prop[tuple[str, ...]] = Prop(())  # open "More" sections (qt_ui/more.py)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._values: dict[str, Any] = {}
        self.references: list[Reference] = []
        self.partials: dict[int, QImage] = {}
        self.results: list[ResultItem] = []
        self.inserted: set[int] = set()  # indexes of this run's results sent to GIMP (or saved standalone)
        self.violations: dict[str, Violation] = {}
        self.markup_name = ""  # the markup layer the plug-in found ("" = none)
        self.changed.connect(self._on_changed)
        self._revalidate()

    # -- derived values -------------------------------------------------------------------------------

    def free_sizes(self) -> bool:
        spec = model_spec(self.model)
        return spec is None or spec.free_sizes

    def spec(self) -> ModelSpec | None:
        return model_spec(self.model.strip())

    def takes(self, feature: str) -> bool:
        """Whether the chosen model takes `complexity`, `markup`, `transparent` or a quality value; a model
        the table does not know is given everything (it is sent without local rules)."""
        spec = self.spec()
        if spec is None:
            return True
        if feature in ALL_QUALITIES:
            return feature in spec.qualities
        return bool(getattr(spec, feature))

    def sends_markup(self) -> bool:
        return bool(self.markup_name) and self.use_markup and self.kind == "edit" and self.takes("markup")

    def compression_allowed(self) -> bool:
        return self.output_format in ("jpeg", "webp")

    def image_count(self) -> int:
        """Images the request will carry: the layer itself for edits, plus every reference."""
        return (1 if self.kind in ("edit", "fuse") else 0) + len(self.references)

    def params(self) -> ImageParams:
        """The request exactly as it would be sent (options that do not apply are left out, not sent)."""
        return ImageParams(
            prompt=self.prompt,
            model=self.model.strip(),
            n=self.n,
            size=self.size.strip().lower(),
            quality=self.quality,
            complexity=cast(Complexity, self.complexity) or None if self.takes("complexity") else None,
            background=None if self.background == "auto" else self.background,
            output_format=self.output_format,
            output_compression=self.compression if self.compression_allowed() else None,
            moderation=None if self.moderation == "auto" else self.moderation,
            stream=self.stream,
            partial_images=self.partial_images if self.stream else None,
        )

    def is_valid(self) -> bool:
        return not self.violations

    def can_add_reference(self) -> bool:
        return self.image_count() < MAX_IMAGES

    # -- collections ----------------------------------------------------------------------------------

    def add_reference(self, ref: Reference, *, over_limit: bool = False) -> bool:
        """Add one reference; beyond the limit only when asked (the plug-in's layers: the user then sees the
        rule and chooses what to drop, rather than the dialog dropping some silently)."""
        if not over_limit and not self.can_add_reference():
            return False
        self.references.append(ref)
        self._references_updated()
        return True

    def remove_reference(self, index: int) -> None:
        if 0 <= index < len(self.references):
            del self.references[index]
            self._references_updated()

    def move_reference(self, index: int, to: int) -> None:
        if 0 <= index < len(self.references) and 0 <= to < len(self.references) and index != to:
            self.references.insert(to, self.references.pop(index))
            self._references_updated()

    def set_partial(self, index: int, image: QImage) -> None:
        self.partials[index] = image
        self.partial_changed.emit(index, image)

    def add_result(self, item: ResultItem) -> None:
        self.results.append(item)
        self.results.sort(key=lambda r: r.index)
        self.results_changed.emit()

    def mark_inserted(self, indexes: list[int]) -> None:
        if not set(indexes) <= self.inserted:
            self.inserted.update(indexes)
            self.inserted_changed.emit()

    def clear_run(self) -> None:
        """Forget the previous run's output before a new one (history keeps it)."""
        self.partials.clear()
        self.results.clear()
        self.inserted.clear()
        self.error = None
        self.usage = None
        self.cost = None
        self.info = ""
        self.stage = ""
        self.progress = None
        self.elapsed = 0.0
        self.results_changed.emit()

    # -- internals ------------------------------------------------------------------------------------

    def _references_updated(self) -> None:
        self.references_changed.emit()
        self._revalidate()

    def _on_changed(self, name: str) -> None:
        if name in PARAM_FIELDS:
            self._revalidate()

    def _revalidate(self) -> None:
        found: dict[str, Violation] = {}
        markup = self.sends_markup()
        for v in check_params(
            self.params(),
            kind="generate" if self.kind == "generate" else "edit",
            image_count=self.image_count(),
            mask=not markup or MARKUP_WITH_MASK,
            markup=markup,
        ):
            found.setdefault(v.param, v)
        if found != self.violations:
            self.violations = found
            self.violations_changed.emit(found)
