"""The main dialog: assembles the views around one DialogModel and one JobController."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut, QTextCursor
from PyQt6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gimp_gptimage.api.errors import explain
from gimp_gptimage.api.params import DEFAULT_MODEL, model_spec
from gimp_gptimage.api.providers import PRESETS
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.jobs.context import as_the_provider_takes_it
from gimp_gptimage.jobs.run import JobResult
from gimp_gptimage.keystore import Backend
from gimp_gptimage.settings import Settings, SettingsStore

from .context_view import ContextView, SentPreview
from .controller import JobController
from .defaults import apply_settings, store_settings
from .describe import source_line, uses_selection_context, window_title
from .history_view import HistoryView
from .images import array_thumbnail, to_qimage
from .insert import InsertTarget
from .model import CONTEXT_FIELDS, DialogModel
from .params_view import ParamsView
from .preview import compute_preview
from .price import PriceWatcher, RunButton, ask_before_costly_run
from .prompt_view import PromptView
from .reference_loading import ReferenceLoader
from .references_view import ReferencesView
from .results_view import ImageViewer, ResultsView
from .run_view import RunView
from .source import EditSource
from .tasks import BACKGROUND, TaskBag, soon
from .widgets import BANNER_STYLE

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)"


def _group(title: str, content: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(10, 8, 10, 10)
    layout.addWidget(content)
    return box


class GptImageDialog(QDialog):
    """The dialog. Stays open across runs; "Close" (or the window's close button) ends it."""

    language_changed = pyqtSignal(str)

    def __init__(
        self,
        source: EditSource,
        target: InsertTarget,
        settings_store: SettingsStore,
        history: HistoryStore,
        backend: Backend | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.settings_store = settings_store
        self.settings = settings_store.load()
        self.history = history
        self.model = DialogModel(self)
        self.model.kind = source.kind
        self.model.markup_name = source.markup[0] if source.markup else ""
        apply_settings(self.model, self.settings)
        self._apply_job_params()
        self.controller = JobController(self.model, source, target, self.settings, history, backend, self)
        self.price = PriceWatcher(self.model, self)
        self.bag = TaskBag()
        self.references = ReferenceLoader(self.model, self.bag)
        self.gimp_link: object | None = None  # the GimpLink when GIMP started the dialog (qt_ui/app.py)
        self._preview_timer = QTimer(self)  # owned by the dialog: never fires after it is gone
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(250)
        self._preview_timer.timeout.connect(lambda: self._spawn(self._update_preview(self._preview_generation)))
        self._preview_generation = 0

        self.setWindowTitle(window_title(source))
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.setSizeGripEnabled(True)
        self.resize(1180, 800)
        self._build()
        self._connect()
        for button in self.findChildren(QPushButton):  # else Qt makes one the default: Enter in a field clicks it
            button.setAutoDefault(False)
        # A painter types at once: the prompt box has the focus when the window opens, cursor at its end.
        self.prompt_view.edit.moveCursor(QTextCursor.MoveOperation.End)
        self.prompt_view.edit.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
        self._refresh_backend_note()
        if self.settings_store.problem or self.settings_store.notices:
            self.model.info = " ".join(filter(None, [self.settings_store.problem, *self.settings_store.notices]))
        # Work that needs the running event loop starts on its first turn.
        soon(self, self._load_references)
        soon(self, lambda: self._spawn(self.params_view.show_models(self.controller.listed_models())))
        self._schedule_preview()

    # -- construction -----------------------------------------------------------------------------------

    def _apply_job_params(self) -> None:
        """What the plug-in passed (prompt, and any parameter it fixed) wins over remembered defaults."""
        if self.source.prompt:
            self.model.prompt = self.source.prompt
        for name, value in self.source.params.items():
            setattr(self.model, name, value)

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 10)
        outer.setSpacing(8)

        self.banner = QFrame()
        self.banner.setObjectName("Banner")
        self.banner.setStyleSheet(BANNER_STYLE)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(10, 6, 10, 6)
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_settings = QPushButton(self.tr("Set up a provider…"))
        banner_layout.addWidget(self.banner_text, 1)
        banner_layout.addWidget(self.banner_settings)
        outer.addWidget(self.banner)

        self.source_label = QLabel(source_line(self.source))
        self.source_label.setStyleSheet("color: #6b7280;")
        outer.addWidget(self.source_label)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        outer.addWidget(splitter, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.setSpacing(10)
        self.prompt_view = PromptView(self.model)
        self.prompt_view.set_recent(self.settings.recent_prompts)
        left_layout.addWidget(self.prompt_view)
        self.params_view = ParamsView(self.model)
        self.params_view.set_providers(self._provider_choices())
        left_layout.addWidget(_group(self.tr("Parameters"), self.params_view))
        self.context_view = ContextView(self.model)
        self.context_group = _group(self.tr("Context"), self.context_view)
        left_layout.addWidget(self.context_group)
        self.references_view = ReferencesView(self.model)
        self.references_group = _group(self.tr("Reference images"), self.references_view)
        left_layout.addWidget(self.references_group)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = scroll.verticalScrollBar()
        # Wide enough for every control's text in any language: the column scrolls vertically only.
        scroll.setMinimumWidth(left.minimumSizeHint().width() + (bar.sizeHint().width() if bar else 16) + 8)
        splitter.addWidget(scroll)

        self.tabs = QTabWidget()
        self.results_view = ResultsView(self.model)
        self.sent_preview = SentPreview(self.model)
        self.history_view = HistoryView(self.history)
        self.tabs.addTab(self.results_view, self.tr("Results"))
        self.tabs.addTab(self.sent_preview, self.tr("What is sent"))
        self.tabs.addTab(self.history_view, self.tr("History"))
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([450, 700])

        self.run_view = RunView(self.model)
        outer.addWidget(self.run_view)

        buttons = QHBoxLayout()
        self.settings_button = QPushButton(self.tr("Settings…"))
        buttons.addWidget(self.settings_button)
        buttons.addStretch(1)
        self.run_hint = QLabel()
        self.run_hint.setStyleSheet("color: #6b7280;")
        buttons.addWidget(self.run_hint)
        self.close_button = QPushButton(self.tr("Close"))
        self.run_button = RunButton(self.model)  # "Run · 4 images · ≈ $0.84"
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.run_button)
        outer.addLayout(buttons)

        edit_like = self.source.kind in ("edit", "fuse") and self.source.layer_rgba is not None
        self.context_group.setVisible(uses_selection_context(self.source))
        self.references_group.setVisible(edit_like)
        self.tabs.setTabVisible(1, edit_like)

    def _connect(self) -> None:
        m = self.model
        self.prompt_view.run_requested.connect(self.run)
        self.run_button.clicked.connect(self.run)
        QShortcut(QKeySequence("Ctrl+Return"), self).activated.connect(self.run)
        QShortcut(QKeySequence("Ctrl+Enter"), self).activated.connect(self.run)
        QShortcut(QKeySequence("Escape"), self).activated.connect(self._escape)
        self.run_view.cancel_requested.connect(self.controller.cancel)
        self.close_button.clicked.connect(self.close)
        self.settings_button.clicked.connect(self.open_settings)
        self.banner_settings.clicked.connect(self.open_settings)
        self.results_view.insert_requested.connect(lambda i: self._spawn(self.controller.insert([i])))
        self.results_view.insert_all_requested.connect(
            lambda: self._spawn(self.controller.insert([r.index for r in m.results]))
        )
        self.results_view.enlarge_requested.connect(self._enlarge)
        self.references_view.add_requested.connect(self._add_reference_file)
        self.references_view.files_dropped.connect(self.references.add_paths)
        self.history_view.insert_requested.connect(lambda result: self._spawn(self.controller.insert_one(result)))
        self.history_view.source = self.source
        self.history_view.records_loaded.connect(self.price.learn)
        m.violations_changed.connect(self._update_run_button)
        m.state_changed.connect(self._update_run_button)
        m.state_changed.connect(self._state_changed)
        m.provider_changed.connect(self._provider_changed)
        m.changed.connect(self._maybe_preview)
        self._update_run_button()

    def _provider_choices(self) -> list[tuple[str, str]]:
        choices = [("local", self.tr("Local offline engine"))]
        for p in self.settings.providers:
            preset = PRESETS.get(p.name.lower())
            choices.append((p.name, preset.label if preset else p.name))
        return choices

    # -- running ----------------------------------------------------------------------------------------

    def run(self) -> None:
        if self.controller.running():
            return
        if not self.model.is_valid():
            self._update_run_button()
            return
        self.cost_question = ask_before_costly_run(self, self.model.estimate, self.settings.cost, self._send)

    def _send(self) -> None:
        if self.controller.running() or not self.model.is_valid():
            return
        self.settings.remember_prompt(self.model.prompt)
        self.prompt_view.set_recent(self.settings.recent_prompts)
        self._save_settings_soon()
        self.results_view.prepare(self.model.n)
        self.tabs.setCurrentWidget(self.results_view)
        self.controller.start()

    def _escape(self) -> None:
        if self.controller.running():
            self.controller.cancel()
        else:
            self.close()

    def _update_run_button(self, *_: object) -> None:
        running = self.model.state == "running"
        valid = self.model.is_valid()
        self.run_button.setEnabled(valid and not running)
        if running:
            self.run_hint.setText("")
        elif not valid:
            first = next(iter(self.model.violations.values()))
            self.run_hint.setText(
                self.tr("Enter a prompt to run.")
                if first.param == "prompt" and not self.model.prompt.strip()
                else self.tr("Fix the highlighted settings to run.")
            )
        else:
            self.run_hint.setText(self.tr("Ctrl+Enter runs"))

    def _state_changed(self, state: str) -> None:
        if state in ("done", "error", "idle"):
            self.history_view.reload()

    # -- preview of what is sent -------------------------------------------------------------------------

    def _maybe_preview(self, name: str) -> None:
        if name in CONTEXT_FIELDS or name in ("model", "size"):
            self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self.source.layer_rgba is None or self.source.kind == "generate":
            return
        self._preview_generation += 1
        self._preview_timer.start()  # debounce: one preview for a burst of changes

    async def _update_preview(self, generation: int) -> None:
        if generation != self._preview_generation:
            return  # a newer change is already scheduled
        s = self.source
        m = self.model
        size = m.size if m.size == "auto" or "size" not in m.violations else "auto"
        model = m.model if model_spec(m.model) is not None else DEFAULT_MODEL
        try:
            grows_mask = await self.controller.grows_mask()
            if generation != self._preview_generation:
                return
            data = await asyncio.to_thread(
                compute_preview,
                s.layer_rgba,  # type: ignore[arg-type]
                s.selection,
                model=model,
                size=size,
                options=as_the_provider_takes_it(self.controller.context_options(), grows_mask),
                layer_offset=s.layer_offset,
            )
        except Exception as exc:
            if generation == self._preview_generation:
                self.sent_preview.set_caption(explain(exc).one_line())
            return
        if generation != self._preview_generation:
            return
        self.model.preview_changed.emit(to_qimage(data.thumbnail))
        self.model.sent_size = "{}x{}".format(*data.request_size)
        x, y, w, h = data.region
        caption = self.tr(
            "Region %1 × %2 at (%3, %4) of the layer, sent as %5 × %6. Tinted: the area the model may change."
        )
        for n, value in enumerate((w, h, x, y, *data.request_size), start=1):
            caption = caption.replace(f"%{n}", str(value))
        if m.references:
            caption += " " + self.tr("Plus %1 reference image(s).").replace("%1", str(len(m.references)))
        self.sent_preview.set_caption(caption)

    # -- references -------------------------------------------------------------------------------------

    def _load_references(self) -> None:
        if self.source.references:
            self._spawn(self.references.add_layers(self.source.references))

    def _add_reference_file(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Add reference images"), "", IMAGE_FILTER)
        self.references.add_paths([Path(path) for path in paths])

    async def add_reference_path(self, path: Path) -> None:
        await self.references.add_path(path)

    # -- results ----------------------------------------------------------------------------------------

    def _enlarge(self, index: int) -> None:
        item = next((r for r in self.model.results if r.index == index), None)
        if item is None:
            image = self.model.partials.get(index)
            if image is None:
                return
            self._show_viewer(index, image)
            return
        self._spawn(self._enlarge_result(index, item.result))

    async def _enlarge_result(self, index: int, result: JobResult) -> None:
        raw = await asyncio.to_thread(array_thumbnail, result.placed.pixels, 1024)
        self._show_viewer(index, to_qimage(raw))

    def _show_viewer(self, index: int, image: Any) -> None:
        viewer = ImageViewer(self.tr("Image %1").replace("%1", str(index + 1)), image, self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.show()

    # -- settings ---------------------------------------------------------------------------------------

    def open_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        dialog.saved.connect(self._settings_saved)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.settings_dialog = dialog

    def _settings_saved(self, language_changed: bool) -> None:
        self.params_view.set_providers(self._provider_choices())
        self.model.provider = self.settings.provider or "local"
        self._save_settings()
        self._refresh_backend_note()
        if language_changed:
            self.language_changed.emit(self.settings.language or "system")

    def _provider_changed(self, name: str) -> None:
        default = self.settings.provider_model(name)
        if default:
            self.model.model = default  # each provider's default model comes with it
        self._spawn(self.params_view.show_models(self.controller.listed_models()))
        self._refresh_backend_note()

    def _refresh_backend_note(self) -> None:
        kind, detail = self.controller.describe_backend()
        if kind == "offline":
            text = detail  # what the offline engine is (or its fallback notice), in the core's words, translated
        elif kind == "problem":
            text = self.tr("The provider is not ready: %1").replace("%1", detail)
        else:
            text = ""
        self.model.backend_note = text
        self.banner_text.setText(text)
        self.banner.setVisible(bool(text))

    def _save_settings_soon(self) -> None:
        """Save in a worker thread (the write is fsync'ed): a snapshot, so later changes cannot race it."""
        store_settings(self.model, self.settings)
        snapshot = copy.deepcopy(self.settings)
        self._spawn(self._write_settings(snapshot))

    async def _write_settings(self, snapshot: Settings) -> None:
        try:
            await asyncio.to_thread(self.settings_store.save, snapshot)
        except OSError as exc:
            self.model.info = explain(exc).one_line()

    def _save_settings(self) -> None:
        store_settings(self.model, self.settings)
        try:
            self.settings_store.save(self.settings)
        except OSError as exc:
            self.model.info = explain(exc).one_line()

    # -- lifetime ---------------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        self.bag.spawn(coro)

    def closeEvent(self, a0: QCloseEvent | None) -> None:
        self._preview_timer.stop()
        self._save_settings()
        self.controller.close()
        BACKGROUND.spawn(self.controller.aclose())
        self.bag.cancel_all()
        self.history_view.bag.cancel_all()
        super().closeEvent(a0)
