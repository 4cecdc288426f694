"""Where the crop editor draws things: one transform from proxy pixels to the screen.

The editor, the quick preview and the benchmark all paint through :func:`paint_crop`, so
what the user drags is exactly what the quick preview shows. Painting uses the small
proxy with a transform: nothing is resampled from the full-size image per frame.
"""

from __future__ import annotations

from avatar_studio.core.imaging.crop import CropState
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QTransform


def source_to_view(width: int, height: int, state: CropState) -> QTransform:
    """Oriented source pixels to view coordinates (rotated clockwise, then flipped)."""
    rot = state.rotation % 360
    if rot == 90:
        t = QTransform(0, 1, -1, 0, height, 0)
    elif rot == 180:
        t = QTransform(-1, 0, 0, -1, width, height)
    elif rot == 270:
        t = QTransform(0, -1, 1, 0, 0, width)
    else:
        t = QTransform()
    vw, vh = (height, width) if rot in (90, 270) else (width, height)
    if state.flip_h:
        t = t * QTransform(-1, 0, 0, 1, vw, 0)
    if state.flip_v:
        t = t * QTransform(1, 0, 0, -1, 0, vh)
    return t


def view_to_frame(state: CropState, frame: QRectF) -> QTransform:
    """View coordinates to the screen, so the crop square fills ``frame``."""
    k = frame.width() / state.size
    return QTransform(k, 0, 0, k, frame.left() - state.x * k, frame.top() - state.y * k)


def frame_to_view(state: CropState, frame: QRectF, point: QPointF) -> tuple[float, float]:
    inverted, _ok = view_to_frame(state, frame).inverted()
    p = inverted.map(point)
    return p.x(), p.y()


def paint_crop(painter: QPainter, proxy: QImage, proxy_scale: float, width: int, height: int,
               state: CropState, frame: QRectF, fill: QColor | None = None) -> None:
    """Paint the proxy as the crop ``state`` shows it, with the crop square on ``frame``.

    ``fill`` paints the frame first (fit mode: the colour around non-square art).
    """
    if fill is not None:
        painter.fillRect(frame, fill)
    to_source = QTransform.fromScale(1.0 / proxy_scale, 1.0 / proxy_scale)
    painter.save()
    painter.setTransform(to_source * source_to_view(width, height, state)
                         * view_to_frame(state, frame), True)
    painter.drawImage(QPointF(0, 0), proxy)
    painter.restore()


def render_quick(proxy: QImage, proxy_scale: float, width: int, height: int,
                 state: CropState, side: int, fill: QColor | None) -> QImage:
    """The crop at side×side from the proxy: the preview shown while the user drags."""
    out = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(QColor(0, 0, 0, 0))
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    paint_crop(painter, proxy, proxy_scale, width, height, state,
               QRectF(0, 0, side, side), fill)
    painter.end()
    return out
