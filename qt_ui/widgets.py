"""Small reusable widgets: an aspect-keeping image view, a per-field message line, a tile for galleries."""

from __future__ import annotations

import functools
import time

from PyQt6.QtCore import QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPixmap
from PyQt6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget


def _checker_brush() -> QBrush:
    """A light checkerboard for transparent pixels, as image editors draw it (one tile, drawn by Qt)."""
    tile = QPixmap(16, 16)
    tile.fill(QColor(236, 236, 236))
    painter = QPainter(tile)
    painter.fillRect(0, 0, 8, 8, QColor(204, 204, 204))
    painter.fillRect(8, 8, 8, 8, QColor(204, 204, 204))
    painter.end()
    return QBrush(tile)


CHECKER = functools.cache(_checker_brush)  # QPixmaps need the application: made on first use

# The dialog's two emphasised elements: the set-up banner and the Run button.
BANNER_STYLE = (
    "#Banner { background: #fff4d6; border: 1px solid #ecd18a; border-radius: 6px; }#Banner QLabel { color: #4d3b00; }"
)
RUN_BUTTON_STYLE = (
    "QPushButton { background: #2563eb; color: white; font-weight: 600; padding: 5px 18px;"
    " border-radius: 4px; border: 1px solid #1d4ed8; }"
    "QPushButton:disabled { background: #9db6ee; border-color: #9db6ee; }"
)


class ImageView(QWidget):
    """Paints a QImage scaled to fit (never cropped), with a placeholder text when empty.

    `painted` carries the time of each paint that showed a new image, so the benchmark can measure the
    delay from a partial image's arrival to the moment it is on screen.
    """

    clicked = pyqtSignal()
    painted = pyqtSignal(float)

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self._scaled = QPixmap()  # the image at its on-screen size, made once per image and size
        self._placeholder = placeholder
        self._fresh = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(64, 64)

    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._scaled = QPixmap()
        self._fresh = not image.isNull()
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(256, 192)

    def image_rect(self) -> QRectF:
        if self._image.isNull():
            return QRectF()
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        dw, dh = w * scale, h * scale
        return QRectF((self.width() - dw) / 2, (self.height() - dh) / 2, dw, dh)

    def paintEvent(self, a0: QPaintEvent | None) -> None:
        painter = QPainter(self)
        if self._image.isNull():
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
        else:
            target = self.image_rect().toAlignedRect()
            if self._scaled.size() != target.size():
                self._scaled = QPixmap.fromImage(
                    self._image.scaled(
                        target.size(),
                        Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
            if self._image.hasAlphaChannel():
                painter.fillRect(target, CHECKER())
            painter.drawPixmap(target.topLeft(), self._scaled)
        painter.end()
        if self._fresh:
            self._fresh = False
            self.painted.emit(time.perf_counter())

    def mouseReleaseEvent(self, a0: QMouseEvent | None) -> None:
        if a0 is not None and a0.button() == Qt.MouseButton.LeftButton and not self._image.isNull():
            self.clicked.emit()
        super().mouseReleaseEvent(a0)


class FieldMessage(QLabel):
    """The message under a control that breaks a rule; hidden when there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet("color: #b3261e;")
        self.hide()

    def show_message(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))


class Tile(QFrame):
    """A gallery cell: an image with a caption and an optional row of buttons beneath."""

    def __init__(self, caption: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.view = ImageView()
        self.view.setMinimumSize(150, 120)
        self.view.setCursor(Qt.CursorShape.PointingHandCursor)
        self.caption = QLabel(caption)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setStyleSheet("color: #6b7280;")
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
