"""Where the crop editor draws things: one transform from proxy pixels to the screen.

The editor, the quick preview and the benchmark all paint through :func:`paint_crop`, so
what the user drags is exactly what the quick preview shows. Painting uses the small
proxy with a transform: nothing is resampled from the full-size image per frame.
"""

from __future__ import annotations

import math

from avatar_studio.core.imaging.crop import CropState
from PySide6.QtCore import QPointF, QRect, QRectF, QSizeF
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QTransform


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


def visible_source(width: int, height: int, state: CropState, frame: QRectF,
                   widget: QSizeF, dpr: float) -> tuple[QRect, QRectF] | None:
    """The part of the picture on screen, for drawing it at the screen's resolution.

    Returns whole device pixels ``device`` (inside both the picture and the widget) and
    the oriented source rectangle that the proxy drawing maps onto exactly those pixels
    (the inverse of the same transform), or None when nothing of the picture shows.
    """
    to_device = (source_to_view(width, height, state) * view_to_frame(state, frame)
                 * QTransform.fromScale(dpr, dpr))
    shown = to_device.mapRect(QRectF(0, 0, width, height)).intersected(
        QRectF(0, 0, widget.width() * dpr, widget.height() * dpr))
    # Inward to whole pixels, so the source rectangle never leaves the picture.
    eps = 1e-6
    x0, y0 = math.ceil(shown.left() - eps), math.ceil(shown.top() - eps)
    x1, y1 = math.floor(shown.right() + eps), math.floor(shown.bottom() + eps)
    if x1 <= x0 or y1 <= y0:
        return None
    inverse, _ok = to_device.inverted()
    box = inverse.mapRect(QRectF(x0, y0, x1 - x0, y1 - y0)).intersected(
        QRectF(0, 0, width, height))
    if box.isEmpty():
        return None
    return QRect(x0, y0, x1 - x0, y1 - y0), box


def image_rect(width: int, height: int, state: CropState, frame: QRectF) -> QRectF:
    """Where the whole picture lies on screen when the crop square fills ``frame``."""
    to_frame = source_to_view(width, height, state) * view_to_frame(state, frame)
    return to_frame.mapRect(QRectF(0, 0, width, height))


def paint_crop(painter: QPainter, proxy: QImage, proxy_scale: float, width: int, height: int,
               state: CropState, frame: QRectF, letterbox: QColor | None = None,
               under: QColor | None = None, checker: QBrush | None = None) -> None:
    """Paint the proxy as the crop ``state`` shows it, with the crop square on ``frame``.

    As the upload has it: ``letterbox`` fills the frame around the picture (fit mode),
    ``under`` goes beneath the picture's transparent parts (flattening), and ``checker``
    shows the transparency that is kept.
    """
    shown = image_rect(width, height, state, frame)
    inside = shown.intersected(frame)
    if letterbox is not None:
        around = QPainterPath()
        around.addRect(frame)
        hole = QPainterPath()
        hole.addRect(shown)
        painter.fillPath(around.subtracted(hole), letterbox)
    if under is not None:
        painter.fillRect(inside, under)
    elif checker is not None:
        painter.fillRect(inside, checker)
    to_source = QTransform.fromScale(1.0 / proxy_scale, 1.0 / proxy_scale)
    painter.save()
    painter.setTransform(to_source * source_to_view(width, height, state)
                         * view_to_frame(state, frame), True)
    painter.drawImage(QPointF(0, 0), proxy)
    painter.restore()


def render_quick(proxy: QImage, proxy_scale: float, width: int, height: int,
                 state: CropState, side: int, letterbox: QColor | None,
                 under: QColor | None, *, has_alpha: bool = True) -> QImage:
    """The crop at side×side from the proxy: the preview shown while the user drags.

    Transparency stays transparent, as in the upload; the panel shows it on a checkerboard.
    Where nothing can be transparent (an opaque picture, or one flattened on a colour, that
    covers the square or is framed by an opaque colour) the image has no alpha channel, so
    the panel draws no checkerboard under it on every step of a drag.
    """
    frame = QRectF(0, 0, side, side)
    solid = not has_alpha or (under is not None and under.alpha() == 255)
    framed = (image_rect(width, height, state, frame).contains(frame)
              or (letterbox is not None and letterbox.alpha() == 255))
    if solid and framed:
        out = QImage(side, side, QImage.Format.Format_RGB32)
        out.fill(QColor(0, 0, 0))
    else:
        out = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
        out.fill(QColor(0, 0, 0, 0))
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    paint_crop(painter, proxy, proxy_scale, width, height, state,
               QRectF(0, 0, side, side), letterbox, under)
    painter.end()
    return out
