"""The gallery: one tile per requested image, showing partial images as they stream and then the result,
each with its own Insert button; "Insert all" below. Clicking an image enlarges it."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .model import DialogModel
from .widgets import ImageView, Tile

COLUMNS = 2


class ResultTile(Tile):
    insert_requested = pyqtSignal(int)
    enlarge_requested = pyqtSignal(int)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.index = index
        self.final = False
        self.insert_button = QPushButton(self.tr("Insert"))
        self.insert_button.setEnabled(False)
        self.insert_button.clicked.connect(lambda: self.insert_requested.emit(self.index))
        self.layout().addWidget(self.insert_button)  # type: ignore[union-attr]
        self.view.clicked.connect(lambda: self.enlarge_requested.emit(self.index))
        self.set_waiting()

    def set_waiting(self) -> None:
        self.view.set_placeholder(self.tr("Waiting…"))
        self.caption.setText(self.tr("Image %1").replace("%1", str(self.index + 1)))

    def set_stopped(self, why: str) -> None:
        """The run ended without this image (cancelled, failed): no tile keeps saying it is coming."""
        if self.final:
            return
        number = str(self.index + 1)
        if self.view.image().isNull():
            self.view.set_placeholder(why)
            self.caption.setText(self.tr("Image %1").replace("%1", number))
        else:  # a partial image stays visible, marked as unfinished
            self.caption.setText(self.tr("Image %1 · %2 (not finished)").replace("%1", number).replace("%2", why))

    def set_partial(self, image: QImage) -> None:
        if not self.final:
            self.view.set_image(image)
            self.caption.setText(self.tr("Image %1 · in progress").replace("%1", str(self.index + 1)))

    def set_result(self, image: QImage, size: tuple[int, int]) -> None:
        self.final = True
        self.view.set_image(image)
        self.caption.setText(
            self.tr("Image %1 · %2 × %3")
            .replace("%1", str(self.index + 1))
            .replace("%2", str(size[0]))
            .replace("%3", str(size[1]))
        )
        self.insert_button.setEnabled(True)


class ResultsView(QWidget):
    insert_requested = pyqtSignal(int)  # result index
    insert_all_requested = pyqtSignal()
    enlarge_requested = pyqtSignal(int)

    def __init__(self, model: DialogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.tiles: dict[int, ResultTile] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(8)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel(self.tr("Results appear here. Write a prompt and press Run (Ctrl+Enter)."))
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #6b7280;")
        self.grid.addWidget(self.empty, 0, 0)
        self.scroll_area.setWidget(self.grid_host)
        layout.addWidget(self.scroll_area, 1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        self.insert_all_button = QPushButton(self.tr("Insert all"))
        self.insert_all_button.setEnabled(False)
        self.insert_all_button.clicked.connect(self.insert_all_requested)
        bottom.addWidget(self.insert_all_button)
        layout.addLayout(bottom)
        model.partial_changed.connect(self._partial)
        model.results_changed.connect(self._results)
        model.state_changed.connect(self._run_ended)
        model.inserted_changed.connect(self._inserted)

    def prepare(self, count: int) -> None:
        """Lay out `count` empty tiles for a new run."""
        for tile in self.tiles.values():
            tile.setParent(None)
            tile.deleteLater()
        self.tiles.clear()
        self.empty.setVisible(count == 0)
        columns = 1 if count == 1 else COLUMNS
        for index in range(count):
            tile = ResultTile(index)
            tile.insert_requested.connect(self.insert_requested)
            tile.enlarge_requested.connect(self.enlarge_requested)
            self.grid.addWidget(tile, 1 + index // columns, index % columns)
            self.tiles[index] = tile
        self.insert_all_button.setEnabled(False)

    def tile(self, index: int) -> ResultTile:
        if index not in self.tiles:
            self.prepare(max(index + 1, len(self.tiles)))
        return self.tiles[index]

    def _inserted(self) -> None:
        # "Insert again", not "Inserted": an undo in GIMP would make a state claim false, an offer stays true.
        for index, tile in self.tiles.items():
            if index in self.model.inserted:
                tile.insert_button.setText(self.tr("Insert again"))

    def _run_ended(self, state: str) -> None:
        why = {"idle": self.tr("Cancelled"), "error": self.tr("Failed")}.get(state)
        if why is None:
            return  # running, or done (every requested image arrived)
        for tile in self.tiles.values():
            tile.set_stopped(why)

    def _partial(self, index: int, image: QImage) -> None:
        self.tile(index).set_partial(image)

    def _results(self) -> None:
        if not self.model.results and self.model.state != "running":
            return
        for item in self.model.results:
            self.tile(item.index).set_result(item.thumbnail, item.size)
        self.insert_all_button.setEnabled(bool(self.model.results))


class ImageViewer(QDialog):
    """A larger look at one result."""

    def __init__(self, title: str, image: QImage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.view = ImageView()
        self.view.set_image(image)
        layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        w, h = max(image.width(), 320), max(image.height(), 240)
        self.resize(min(w, 1100), min(h, 800) + 50)
