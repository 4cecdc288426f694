"""The main window: menus, the drop area and (later) the editor and account panel."""

from __future__ import annotations

import logging
from pathlib import Path

from avatar_studio.core.version import APP_NAME, __version__
from avatar_studio.gui.resources import app_icon
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

OPEN_FILTER = ("Images (*.jpg *.jpeg *.png *.gif *.webp *.bmp *.tif *.tiff *.avif *.heic "
               "*.heif);;All files (*)")


class DropPlaceholder(QLabel):
    """What the window shows before an image is loaded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropPlaceholder")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setText("Drop an image here\n\nor paste one (Ctrl+V), or open one (Ctrl+O)")
        self.setAccessibleName("Drop area")
        self.setMinimumSize(480, 360)
        self.setStyleSheet("QLabel#dropPlaceholder { border: 2px dashed palette(mid);"
                           " border-radius: 12px; font-size: 16px; color: palette(text); }")


class MainWindow(QMainWindow):
    """Signals:
        open_requested(Path): the user chose a file to open.
    """

    open_requested = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.placeholder = DropPlaceholder(central)
        layout.addWidget(self.placeholder)
        self.setCentralWidget(central)
        self._build_menus()
        self.resize(960, 680)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open…", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.on_open_triggered)
        file_menu.addAction(self.open_action)
        file_menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction(f"&About {APP_NAME}", self)
        self.about_action.triggered.connect(self.on_about_triggered)
        help_menu.addAction(self.about_action)

    def about_text(self) -> str:
        return (f"<b>{APP_NAME}</b> {__version__}<br>Crop a picture and set it as your "
                "X profile image.")

    @Slot()
    def on_open_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", OPEN_FILTER)
        if path:
            self.open_requested.emit(Path(path))

    @Slot()
    def on_about_triggered(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", self.about_text())
