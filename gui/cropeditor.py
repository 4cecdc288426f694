"""The crop editor canvas: the image under a fixed square frame with a round guide.

Drag to pan, wheel to zoom about the pointer, arrows to move the picture (the way a drag
does), +/- to zoom, Shift for fine steps. Every change is one undo step of the document
(a drag, a run of wheel turns or of nudges merge into one); Esc is the window's, never a
reset. All drawing comes from the document's proxy through one transform
(:mod:`avatar_studio.gui.cropgeometry`), so a 24-megapixel photo pans as smoothly as a
small one. Zoomed in past the proxy's resolution, a pause brings a sharp tile of the
visible part rendered from the full image (:mod:`avatar_studio.gui.viewrefine`).
"""

from __future__ import annotations

from collections.abc import Hashable

from avatar_studio.gui.cropgeometry import frame_to_view, paint_crop, visible_source
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.qtimage import checker_brush
from avatar_studio.gui.tasks import TaskRunner
from avatar_studio.gui.viewrefine import (
    REFINE_DELAY_MS,
    TileJob,
    ViewRefiner,
    make_job,
    needs_refinement,
)
from PySide6.QtCore import QEvent, QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

MARGIN = 28
WHEEL_STEP = 1.1
FINE_WHEEL_STEP = 1.02
#: Arrow-key nudge as a share of the crop side (Shift: the fine step).
NUDGE = 0.02
FINE_NUDGE = 0.002


class CropEditor(QWidget):
    """Signals:
        painted(): a frame was drawn (the benchmark counts these).
        dragging_changed(bool): the user started or stopped dragging.
    """

    painted = Signal()
    dragging_changed = Signal(bool)

    def __init__(self, document: CropDocument, parent: QWidget | None = None, *,
                 runner: TaskRunner | None = None,
                 refine_delay_ms: int = REFINE_DELAY_MS) -> None:
        super().__init__(parent)
        self._doc = document
        #: Without a runner the editor always draws the proxy (no sharp zoom).
        self.refiner = (ViewRefiner(runner, self._tile_job, self, delay_ms=refine_delay_ms)
                        if runner is not None else None)
        #: Whether the last frame showed a sharp tile instead of the proxy.
        self.showing_refined = False
        self._drag_from: QPointF | None = None
        self._overlay = QPixmap()
        self._overlay_key: tuple[int, int, bool, float] | None = None
        self.setObjectName("cropEditor")
        self.setAccessibleName("Crop editor")
        self.setAccessibleDescription(
            "Drag to move the picture, wheel or plus and minus to zoom, arrow keys to move "
            "it, Shift for fine steps. Control Z undoes.")
        self.setToolTip("Drag or arrows to move · wheel or +/− to zoom (Shift: fine)"
                        " · Ctrl+Z undoes")
        self._checker = checker_brush()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 320)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        document.crop_changed.connect(self._on_view_changed)
        document.image_changed.connect(self._on_view_changed)
        document.view_changed.connect(self.update)
        if self.refiner is not None:
            self.refiner.refined.connect(self.update)

    # -- geometry -----------------------------------------------------------------
    def frame_rect(self) -> QRectF:
        side = max(16.0, min(self.width(), self.height()) - 2 * MARGIN)
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _scale(self) -> float:
        """Screen pixels per view unit."""
        state = self._doc.state
        return self.frame_rect().width() / state.size if state is not None else 1.0

    def _view_point(self, pos: QPointF) -> tuple[float, float] | None:
        state = self._doc.state
        if state is None:
            return None
        return frame_to_view(state, self.frame_rect(), pos)

    def _center(self) -> tuple[float, float] | None:
        state = self._doc.state
        if state is None:
            return None
        return (state.x + state.size / 2, state.y + state.size / 2)

    # -- actions (also used by the toolbar and the tests) --------------------------
    def pan_pixels(self, dx: float, dy: float) -> None:
        """Move the picture by (dx, dy) screen pixels, as a drag does."""
        k = self._scale()
        self._doc.edit(lambda m: m.pan(-dx / k, -dy / k), "Move", merge="move")

    def zoom_by(self, factor: float, about: tuple[float, float] | None = None) -> None:
        about = about or self._center()
        self._doc.edit(lambda m: m.zoom(factor, about=about), "Zoom", merge="zoom")

    def nudge(self, dx: int, dy: int, *, fine: bool) -> None:
        """Move the picture by a step towards (dx, dy), the way a drag that way does."""
        state = self._doc.state
        if state is None:
            return
        step = state.size * (FINE_NUDGE if fine else NUDGE)
        self._doc.edit(lambda m: m.pan(-dx * step, -dy * step), "Move", merge="nudge")

    def reset(self) -> None:
        self._doc.reset_crop()

    # -- sharp zoom ---------------------------------------------------------------
    def _view_key(self) -> Hashable:
        return (self._doc.generation, self.width(), self.height(), self.devicePixelRatioF())

    def _magnified(self) -> bool:
        loaded, state = self._doc.loaded, self._doc.state
        if loaded is None or state is None:
            return False
        device_per_source = self._scale() * self.devicePixelRatioF()
        return needs_refinement(loaded.proxy.scale, device_per_source)

    def _on_view_changed(self) -> None:
        if self.refiner is not None:
            self.refiner.view_changed(refine=self._magnified() and self._drag_from is None)
        self.update()

    def _tile_job(self) -> TileJob | None:
        """The visible part of the picture to render sharp (None: the proxy will do)."""
        loaded, state = self._doc.loaded, self._doc.state
        if loaded is None or state is None or self._drag_from is not None:
            return None
        if not self._magnified():
            return None
        info = loaded.source.info
        dpr = self.devicePixelRatioF()
        shown = visible_source(info.width, info.height, state, self.frame_rect(),
                               QSizeF(self.size()), dpr)
        if shown is None:
            return None
        device, box = shown
        return make_job(loaded.source, loaded.frame, state, device, box, dpr,
                        self._view_key())

    # -- painting -----------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().dark())
        loaded, state = self._doc.loaded, self._doc.state
        frame = self.frame_rect()
        tile = self.refiner.tile_for(self._view_key()) if self.refiner is not None else None
        if loaded is not None and state is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                                  self._drag_from is None)
            info = loaded.source.info
            checker = self._checker if info.has_alpha else None
            painter.save()
            if tile is not None:
                # The proxy only where the tile does not reach (a sub-pixel edge), so
                # translucent pictures are not drawn twice.
                around = QPainterPath()
                around.addRect(QRectF(self.rect()))
                inside = QPainterPath()
                inside.addRect(tile.rect)
                painter.setClipPath(around.subtracted(inside))
            paint_crop(painter, loaded.qproxy, loaded.proxy.scale, info.width, info.height,
                       state, frame, self._doc.letterbox_fill(), self._doc.under_fill(),
                       checker)
            painter.restore()
            if tile is not None:
                painter.drawImage(tile.origin, tile.image)
        self.showing_refined = tile is not None
        self._paint_overlay(painter, frame)
        if self.hasFocus():
            # The canvas takes the keys: say so with the palette's focus colour.
            pen = QPen(self.palette().highlight().color(), 2)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        painter.end()
        self.painted.emit()

    def _paint_overlay(self, painter: QPainter, frame: QRectF) -> None:
        # The antialiased mask costs more than the picture itself: draw it once per size
        # and shape, then blit it each frame.
        ratio = self.devicePixelRatioF()
        key = (self.width(), self.height(), self._doc.circle, ratio)
        if self._overlay_key != key:
            pixmap = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            overlay = QPainter(pixmap)
            self._draw_overlay(overlay, frame)
            overlay.end()
            self._overlay, self._overlay_key = pixmap, key
        painter.drawPixmap(0, 0, self._overlay)

    def _draw_overlay(self, painter: QPainter, frame: QRectF) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        outside = QPainterPath()
        outside.addRect(QRectF(self.rect()))
        hole = QPainterPath()
        if self._doc.circle:
            hole.addEllipse(frame)
        else:
            hole.addRect(frame)
        painter.fillPath(outside.subtracted(hole), QColor(0, 0, 0, 150))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(255, 255, 255, 200), 1))
        painter.drawRect(frame)
        if self._doc.circle:
            painter.setPen(QPen(QColor(255, 255, 255, 230), 1.5, Qt.PenStyle.DashLine))
            painter.drawEllipse(frame)

    # -- input --------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._doc.has_image:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            self._doc.end_gesture()
            self.dragging_changed.emit(True)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag_from is None:
            super().mouseMoveEvent(event)
            return
        pos = event.position()
        delta = pos - self._drag_from
        self._drag_from = pos
        self.pan_pixels(delta.x(), delta.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag_from is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            self._doc.end_gesture()
            self.dragging_changed.emit(False)
            self._on_view_changed()  # one more frame, smooth this time; then sharp
            return
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120.0
        if not steps or not self._doc.has_image:
            event.ignore()
            return
        fine = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        factor = (FINE_WHEEL_STEP if fine else WHEEL_STEP) ** steps
        self.zoom_by(factor, self._view_point(event.position()))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        fine = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        arrows: dict[int, tuple[int, int]] = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0),
                  Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        if not self._doc.has_image:
            super().keyPressEvent(event)
            return
        if key in arrows:
            self.nudge(*arrows[key], fine=fine)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(FINE_WHEEL_STEP if fine else WHEEL_STEP)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_by(1 / (FINE_WHEEL_STEP if fine else WHEEL_STEP))
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._on_view_changed()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._on_view_changed()  # moved to a screen of another pixel ratio
        return super().event(event)
