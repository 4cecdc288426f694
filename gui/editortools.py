"""The crop editor's actions (menu + toolbar + shortcuts) and its zoom slider."""

from __future__ import annotations

from collections.abc import Callable

from avatar_studio.gui.cropeditor import CropEditor
from avatar_studio.gui.document import CropDocument
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

#: The slider shows zoom in percent of "largest square"; 1000 % is plenty for 400 px.
ZOOM_MAX = 1000


def _swatch(color: QColor) -> QIcon:
    pix = QPixmap(16, 16)
    pix.fill(color)
    return QIcon(pix)


class EditorActions(QObject):
    """The editing commands, each a QAction with a shortcut and a tooltip.

    Signals:
        mask_changed(bool): circle (True) or square guide.
        fill_changed(QColor): the fill colour chosen.
    """

    mask_changed = Signal(bool)
    fill_changed = Signal(QColor)

    def __init__(self, document: CropDocument, editor: CropEditor,
                 parent: QObject | None = None, *,
                 pick_color: Callable[[QColor], QColor | None] | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._editor = editor
        self._pick_color = pick_color or _ask_color

        def make(text: str, shortcut: str, tip: str, slot: Callable[[], None],
                 checkable: bool = False, short: str = "") -> QAction:
            action = QAction(text, self)
            # The toolbar shows the short label, the menu the full text.
            action.setIconText(short or text)
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
            action.setStatusTip(tip)
            action.setCheckable(checkable)
            action.triggered.connect(slot)
            return action

        self.rotate_left = make("Rotate left", "Shift+R", "Turn the picture 90° anticlockwise",
                                lambda: document.edit(lambda m: m.rotate(-1)), short="⟲")
        self.rotate_right = make("Rotate right", "R", "Turn the picture 90° clockwise",
                                 lambda: document.edit(lambda m: m.rotate(1)), short="⟳")
        self.flip_h = make("Flip horizontally", "H", "Mirror left and right",
                           lambda: document.edit(lambda m: m.flip_horizontal()), short="⇆")
        self.flip_v = make("Flip vertically", "V", "Mirror top and bottom",
                           lambda: document.edit(lambda m: m.flip_vertical()), short="⇅")
        self.circle = make("Circle guide", "C", "Show the round shape X uses (or a square)",
                           self._on_circle, checkable=True, short="◯")
        self.circle.setChecked(document.circle)
        self.fit = make("Fit whole picture", "F",
                        "Allow zooming out past the edges; the rest is filled with the fill "
                        "colour", self._on_fit, checkable=True, short="Fit")
        self.fill = make("Fill colour…", "Ctrl+Shift+F",
                         "Colour around non-square art and under transparency",
                         self.choose_fill, short="Fill")
        self.fill.setIcon(_swatch(document.fill))
        self.flatten = make("Flatten transparency", "Ctrl+Shift+T",
                            "Put transparent parts on the fill colour (uploads a JPEG)",
                            self._on_flatten, checkable=True, short="Flatten")
        self.flatten.setChecked(document.flatten_alpha)
        self.reset = make("Reset crop", "Ctrl+0", "Back to the largest centred square",
                          editor.reset, short="Reset")
        # The window opens on the face; this is the classic frame, as an undoable edit.
        self.centre_crop = make("Centre crop", "Ctrl+Shift+0",
                                "The largest centred square, instead of the one framed on "
                                "the face", lambda: document.edit(lambda m: m.centre()),
                                short="Centre")
        self.all = [self.rotate_left, self.rotate_right, self.flip_h, self.flip_v,
                    self.circle, self.fit, self.fill, self.flatten, self.reset,
                    self.centre_crop]
        document.image_changed.connect(self._sync_enabled)
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        on = self._doc.has_image
        for action in (self.rotate_left, self.rotate_right, self.flip_h, self.flip_v,
                       self.reset, self.centre_crop):
            action.setEnabled(on)

    def _on_circle(self) -> None:
        self._doc.set_circle(self.circle.isChecked())
        self.mask_changed.emit(self.circle.isChecked())

    def _on_fit(self) -> None:
        self._doc.set_fit(self.fit.isChecked())

    def _on_flatten(self) -> None:
        self._doc.set_flatten_alpha(self.flatten.isChecked())

    def choose_fill(self) -> None:
        color = self._pick_color(self._doc.fill)
        if color is not None and color.isValid():
            self.set_fill(color)

    def set_fill(self, color: QColor) -> None:
        self._doc.set_fill(color)
        self.fill.setIcon(_swatch(color))
        self.fill_changed.emit(color)


def _ask_color(current: QColor) -> QColor | None:
    color = QColorDialog.getColor(current, None, "Fill colour")
    return color if color.isValid() else None


class EditorToolbar(QWidget):
    """Buttons for the actions plus the zoom slider, under the editor."""

    def __init__(self, document: CropDocument, actions: EditorActions,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        layout = QHBoxLayout()
        outer.addLayout(layout)
        zoom_row = QHBoxLayout()
        outer.addLayout(zoom_row)
        # Flattening is rare: it lives in the Image menu only.
        for action in (a for a in actions.all
                       if a not in (actions.flatten, actions.centre_crop)):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setAccessibleName(action.text())
            layout.addWidget(button)
        layout.addStretch(1)
        zoom_label = QLabel("Zoom", self)
        zoom_row.addWidget(zoom_label)
        self.zoom = QSlider(Qt.Orientation.Horizontal, self)
        self.zoom.setObjectName("zoomSlider")
        self.zoom.setAccessibleName("Zoom")
        self.zoom.setToolTip("Zoom (also the mouse wheel, or + and −)")
        self.zoom.setRange(100, ZOOM_MAX)
        self.zoom.setMinimumWidth(120)
        zoom_label.setBuddy(self.zoom)
        self.zoom.valueChanged.connect(self.on_zoom_value_changed)
        zoom_row.addWidget(self.zoom, 1)
        document.crop_changed.connect(self._sync_zoom)
        self._sync_zoom()

    def _sync_zoom(self) -> None:
        model = self._doc.model
        self.zoom.setEnabled(model is not None)
        if model is None:
            return
        vw, vh = model.view_size
        low = 100 * min(vw, vh) / max(vw, vh) if model.fit else 100
        self.zoom.blockSignals(True)
        self.zoom.setMinimum(max(1, int(low)))
        self.zoom.setValue(round(model.zoom_level * 100))
        self.zoom.blockSignals(False)

    @Slot(int)
    def on_zoom_value_changed(self, value: int) -> None:
        self._doc.edit(lambda m: m.set_zoom(value / 100))
