"""Conversions between Pillow images and Qt images (GUI thread or worker, no widgets)."""

from __future__ import annotations

from functools import cache

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QImage,
    QImageWriter,
    QPainter,
    QPainterPath,
    QPixmap,
)


def pil_to_qimage(image: Image.Image) -> QImage:
    """A deep copy, so the QImage owns its pixels (safe after ``image`` is gone)."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    if image.mode == "RGBA":
        data = image.tobytes("raw", "RGBA")
        fmt = QImage.Format.Format_RGBA8888
        stride = image.width * 4
    else:
        data = image.tobytes("raw", "RGB")
        fmt = QImage.Format.Format_RGB888
        stride = image.width * 3
    return QImage(data, image.width, image.height, stride, fmt).copy()


def qimage_to_png(image: QImage) -> bytes:
    array = QByteArray()
    buf = QBuffer(array)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    QImageWriter(buf, QByteArray(b"PNG")).write(image)
    buf.close()
    return bytes(array.data())


#: Transparency is shown on mid-grey checks: black and white parts both stay visible,
#: whatever the theme (it is picture content, not window chrome).
CHECK_LIGHT, CHECK_DARK, CHECK_SIDE = QColor(0xC8, 0xC8, 0xC8), QColor(0x8C, 0x8C, 0x8C), 8


@cache
def checker_brush(side: int = CHECK_SIDE) -> QBrush:
    """The checkerboard at ``side`` px squares (made once per size: the previews ask for
    it on every step of a drag)."""
    tile = QImage(2 * side, 2 * side, QImage.Format.Format_RGB32)
    tile.fill(CHECK_LIGHT)
    painter = QPainter(tile)
    painter.fillRect(0, 0, side, side, CHECK_DARK)
    painter.fillRect(side, side, side, side, CHECK_DARK)
    painter.end()
    return QBrush(tile)


def on_checker(image: QImage) -> QImage:
    """``image`` over the checkerboard where it is transparent (the same pixels where not)."""
    if image.isNull() or not image.hasAlphaChannel():
        return image
    out = QImage(image.size(), QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(out)
    painter.fillRect(out.rect(), checker_brush())
    painter.drawImage(0, 0, image)
    painter.end()
    return out


def device_pixel_ratio() -> float:
    screen = QGuiApplication.primaryScreen()
    return screen.devicePixelRatio() if screen is not None else 1.0


def exact_pixmap(image: QImage, dpr: float) -> QPixmap:
    """``image`` one image pixel per logical pixel, never blended with its neighbours.

    At ratio 1 the pixmap holds the very pixels; at higher ratios each pixel becomes a
    block of device pixels (nearest neighbour), so a high-DPI screen shows the same
    pixels crisply instead of a smoothed guess.
    """
    image = on_checker(image)
    if image.isNull() or dpr == 1.0:
        return QPixmap.fromImage(image)
    w, h = max(1, round(image.width() * dpr)), max(1, round(image.height() * dpr))
    pixmap = QPixmap.fromImage(image.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                            Qt.TransformationMode.FastTransformation))
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


def scaled_pixmap(image: QImage, side: int, *, round_mask: bool = False,
                  dpr: float | None = None, background: QColor | None = None) -> QPixmap:
    """``image`` drawn into a side×side logical square, crisp at the screen's pixel ratio."""
    ratio = dpr if dpr is not None else device_pixel_ratio()
    px = max(1, round(side * ratio))
    out = QImage(QSize(px, px), QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    if round_mask:
        path = QPainterPath()
        path.addEllipse(QRectF(0, 0, px, px))
        painter.setClipPath(path)
    if background is not None:
        painter.fillRect(0, 0, px, px, background)
    elif not image.isNull() and image.hasAlphaChannel():
        painter.fillRect(0, 0, px, px, checker_brush(max(2, round(px / 8))))
    if not image.isNull():
        # One smooth (area-averaging) downscale from the 400 px render.
        scaled = image.scaled(px, px, Qt.AspectRatioMode.IgnoreAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        painter.drawImage(0, 0, scaled)
    painter.end()
    pixmap = QPixmap.fromImage(out)
    pixmap.setDevicePixelRatio(ratio)
    return pixmap
