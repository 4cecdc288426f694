"""Icons: the desktop's freedesktop theme first, our bundled SVGs in the palette's colour else.

The bundled fallbacks (resources/icons/<name>.svg) are drawn with one placeholder ink,
replaced by the palette's text colour (and its disabled colour), so they read on light
and dark alike. :class:`IconSet` remembers which action wears which icon and repaints
them all when the palette changes.
"""

from __future__ import annotations

from functools import cache

from avatar_studio.gui.resources import resource_path
from PySide6.QtCore import QByteArray, QObject, QRect, QSize, Qt
from PySide6.QtGui import QAction, QColor, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QAbstractButton, QApplication

#: The ink the bundled SVGs are drawn with, replaced by a palette colour.
INK = "#000000"
SIZES = (16, 22, 24, 32)


@cache
def _svg(name: str) -> str:
    return resource_path(f"icons/{name}.svg").read_text(encoding="utf-8")


def bundled_names() -> list[str]:
    return sorted(p.stem for p in resource_path("icons").glob("*.svg"))


def _renderer(name: str, color: QColor) -> QSvgRenderer:
    return QSvgRenderer(QByteArray(_svg(name).replace(INK, color.name()).encode()))


class _TintedSvgEngine(QIconEngine):
    """A bundled SVG in two inks (normal, disabled), drawn at the size and pixel ratio
    asked for, when asked: a window shows few of the sizes, so none is drawn ahead."""

    def __init__(self, name: str, normal: QColor, disabled: QColor) -> None:
        super().__init__()
        self._name, self._normal, self._disabled = name, QColor(normal), QColor(disabled)
        self._renderers: dict[bool, QSvgRenderer] = {}
        self._pixmaps: dict[tuple[int, int, bool], QPixmap] = {}

    def _ink(self, mode: QIcon.Mode) -> bool:
        return mode != QIcon.Mode.Disabled

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode,  # noqa: N802 - Qt override
                     state: QIcon.State, scale: float) -> QPixmap:
        ink = self._ink(mode)
        px = max(1, round(min(size.width(), size.height()) * scale))
        key = (px, round(scale * 100), ink)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            renderer = self._renderers.get(ink)
            if renderer is None:
                renderer = self._renderers[ink] = _renderer(
                    self._name, self._normal if ink else self._disabled)
            pixmap = QPixmap(px, px)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter)
            painter.end()
            pixmap.setDevicePixelRatio(scale)
            self._pixmaps[key] = pixmap
        return pixmap

    def pixmap(self, size: QSize, mode: QIcon.Mode,
               state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, ratio))

    def availableSizes(self, mode: QIcon.Mode = QIcon.Mode.Normal,  # noqa: N802
                       state: QIcon.State = QIcon.State.Off) -> list[QSize]:
        return [QSize(side, side) for side in SIZES]

    def clone(self) -> QIconEngine:
        return _TintedSvgEngine(self._name, self._normal, self._disabled)


def fallback_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """The bundled SVG ``name`` in ``palette``'s text colours (default: the app's)."""
    palette = palette or QApplication.palette()
    normal = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    return QIcon(_TintedSvgEngine(name, normal, disabled))


def themed_icon(name: str) -> QIcon:
    """The desktop theme's icon ``name``, or our bundled one in the palette's colour."""
    if QIcon.hasThemeIcon(name):
        return QIcon.fromTheme(name)
    return fallback_icon(name)


class IconSet(QObject):
    """Actions and buttons with themed icons, repainted on :meth:`refresh`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._actions: list[tuple[QAction, str]] = []
        self._buttons: list[tuple[QAbstractButton, str]] = []

    def set(self, target: QAction | QAbstractButton, name: str) -> None:
        if isinstance(target, QAction):
            self._actions.append((target, name))
        else:
            self._buttons.append((target, name))
            target.setIconSize(QSize(20, 20))
        target.setIcon(themed_icon(name))

    def refresh(self) -> None:
        for action, name in self._actions:
            action.setIcon(themed_icon(name))
        for button, name in self._buttons:
            button.setIcon(themed_icon(name))
