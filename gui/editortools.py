"""The crop editor's actions (menu + toolbar + shortcuts) and its zoom slider."""

from __future__ import annotations

from collections.abc import Callable

from avatar_studio.gui.cropeditor import CropEditor
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.icons import IconSet
from PySide6.QtCore import QObject, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QApplication,
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


def _swatch(color: QColor, border: QColor) -> QIcon:
    """The fill colour as an icon, outlined so white (or the window's colour) shows too."""
    icon = QIcon()
    for side, ratio in ((16, 1.0), (16, 2.0), (24, 1.0), (24, 2.0)):
        px = round(side * ratio)
        pix = QPixmap(px, px)
        pix.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(border, max(1.0, ratio)))
        painter.setBrush(color)
        inset = 1.5 * ratio  # the pen's middle: a crisp line one pixel (× ratio) in
        painter.drawRoundedRect(QRectF(inset, inset, px - 2 * inset, px - 2 * inset),
                                3 * ratio, 3 * ratio)
        painter.end()
        pix.setDevicePixelRatio(ratio)
        icon.addPixmap(pix)
    return icon


class EditorActions(QObject):
    """The editing commands, each a QAction with a shortcut, a tooltip and an icon.

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
        self._swatch_key: tuple[int, int] | None = None
        self.icons = IconSet(self)

        def make(text: str, shortcut: str, tip: str, slot: Callable[[], None],
                 checkable: bool = False, icon: str = "") -> QAction:
            action = QAction(text, self)
            action.setIconText(text.replace("&", "").rstrip("…"))
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
            action.setStatusTip(tip)
            action.setCheckable(checkable)
            action.triggered.connect(slot)
            if icon:
                self.icons.set(action, icon)
            return action

        self.undo = make("&Undo", "Ctrl+Z", "Undo the last change to the crop",
                         document.undo, icon="edit-undo")
        self.redo = make("&Redo", "Ctrl+Shift+Z", "Redo what was undone",
                         document.redo, icon="edit-redo")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.rotate_left = make("Rotate &Left", "Shift+R", "Turn the picture 90° anticlockwise",
                                lambda: document.edit(lambda m: m.rotate(-1), "Rotate Left"),
                                icon="object-rotate-left")
        self.rotate_right = make("Rotate &Right", "R", "Turn the picture 90° clockwise",
                                 lambda: document.edit(lambda m: m.rotate(1), "Rotate Right"),
                                 icon="object-rotate-right")
        self.flip_h = make("Flip &Horizontally", "H", "Mirror left and right",
                           lambda: document.edit(lambda m: m.flip_horizontal(),
                                                 "Flip Horizontally"),
                           icon="object-flip-horizontal")
        self.flip_v = make("Flip &Vertically", "V", "Mirror top and bottom",
                           lambda: document.edit(lambda m: m.flip_vertical(), "Flip Vertically"),
                           icon="object-flip-vertical")
        self.circle = make("&Circle Guide", "C", "Show the round shape services use (or a "
                           "square)", self._on_circle, checkable=True, icon="draw-circle")
        self.fit = make("&Fit Whole Picture", "F",
                        "Zoom out to show the whole picture, with the fill colour around it",
                        self._on_fit, checkable=True, icon="zoom-fit-best")
        self.fill = make("Fill &Colour…", "Ctrl+Shift+F",
                         "Colour around non-square art (and under transparency when "
                         "flattened)", self.choose_fill)
        self.flatten = make("Fla&tten Transparency", "Ctrl+Shift+T",
                            "Put transparent parts on the fill colour (uploads a JPEG)",
                            self._on_flatten, checkable=True)
        self.reset = make("Re&set Crop", "Ctrl+0", "Back to the crop the picture opened "
                          "with: on the face, or centred (undoable)", editor.reset,
                          icon="zoom-original")
        # The window opens on the face; this is the classic frame, as an undoable edit.
        self.centre_crop = make("C&entre Crop", "Ctrl+Shift+0",
                                "The largest centred square, instead of the one framed on "
                                "the face", lambda: document.edit(lambda m: m.centre(),
                                                                  "Centre Crop"))
        self.edit_actions = [self.undo, self.redo]
        self.all = [self.rotate_left, self.rotate_right, self.flip_h, self.flip_v,
                    self.circle, self.fit, self.fill, self.flatten, self.reset,
                    self.centre_crop]
        document.image_changed.connect(self.sync)
        document.crop_changed.connect(self.sync)
        document.history_changed.connect(self.sync)
        self.sync()

    @Slot()
    def sync(self) -> None:
        """Enabled, checked and labelled as the document is (after an undo, a restart)."""
        doc = self._doc
        on = doc.has_image
        for action in (self.rotate_left, self.rotate_right, self.flip_h, self.flip_v,
                       self.reset, self.centre_crop):
            action.setEnabled(on)
        self.fit.setChecked(doc.fit)
        self.flatten.setChecked(doc.flatten_alpha)
        self.circle.setChecked(doc.circle)
        has_alpha = doc.loaded is not None and doc.loaded.source.info.has_alpha
        # Flattening an opaque picture would change nothing: say so by disabling it.
        self.flatten.setEnabled(doc.loaded is None or has_alpha)
        history = doc.history
        self.undo.setEnabled(history.can_undo())
        self.redo.setEnabled(history.can_redo())
        self.undo.setText(f"&Undo {history.undo_label()}".rstrip())
        self.redo.setText(f"&Redo {history.redo_label()}".rstrip())
        self.refresh_swatch()

    def refresh_swatch(self) -> None:
        border = QApplication.palette().windowText().color()
        # Called on every crop change (each step of a drag): repaint only on a new colour.
        key = (self._doc.fill.rgba(), border.rgba())
        if key != self._swatch_key:
            self._swatch_key = key
            self.fill.setIcon(_swatch(self._doc.fill, border))

    def _on_circle(self) -> None:
        self._doc.set_circle(self.circle.isChecked())
        self.mask_changed.emit(self.circle.isChecked())

    def _on_fit(self) -> None:
        if self.fit.isChecked():
            self._doc.fit_whole()
        else:
            self._doc.set_fit(False)

    def _on_flatten(self) -> None:
        self._doc.set_flatten_alpha(self.flatten.isChecked())

    def choose_fill(self) -> None:
        color = self._pick_color(self._doc.fill)
        if color is not None and color.isValid():
            self.set_fill(color)

    def set_fill(self, color: QColor) -> None:
        self._doc.set_fill(color)
        self.refresh_swatch()
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
        self.buttons: dict[str, QToolButton] = {}
        shown = [actions.undo, actions.redo, None,
                 *(a for a in actions.all if a not in (actions.flatten, actions.centre_crop))]
        for action in shown:
            if action is None:
                layout.addSpacing(12)
                continue
            button = QToolButton(self)
            button.setDefaultAction(action)
            # Icons with text only where a picture cannot say it (Fill).
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon
                                      if action is actions.fill
                                      else Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setIconSize(QSize(22, 22))
            button.setAccessibleName(action.iconText())
            button.setAutoRaise(True)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            self.buttons[action.iconText()] = button
            layout.addWidget(button)
        layout.addStretch(1)
        zoom_label = QLabel("&Zoom", self)
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
        self.zoom_value = QLabel(self)
        self.zoom_value.setObjectName("zoomValue")
        self.zoom_value.setAccessibleName("Zoom level")
        # Wide enough for "1000 %" so the slider never shifts as the number changes.
        self.zoom_value.setMinimumWidth(self.zoom_value.fontMetrics().horizontalAdvance("1000 %"))
        self.zoom_value.setAlignment(Qt.AlignmentFlag.AlignRight
                                     | Qt.AlignmentFlag.AlignVCenter)
        zoom_row.addWidget(self.zoom_value)
        document.crop_changed.connect(self._sync_zoom)
        document.image_changed.connect(self._sync_zoom)
        self._sync_zoom()

    def _sync_zoom(self) -> None:
        model = self._doc.model
        self.zoom.setEnabled(model is not None)
        if model is None:
            self.zoom_value.setText("")
            return
        self.zoom_value.setText(f"{model.zoom_level * 100:.0f} %")
        vw, vh = model.view_size
        low = 100 * min(vw, vh) / max(vw, vh) if model.fit else 100
        self.zoom.blockSignals(True)
        self.zoom.setMinimum(max(1, int(low)))
        self.zoom.setValue(round(model.zoom_level * 100))
        self.zoom.blockSignals(False)

    @Slot(int)
    def on_zoom_value_changed(self, value: int) -> None:
        self._doc.edit(lambda m: m.set_zoom(value / 100), "Zoom", merge="zoom")
