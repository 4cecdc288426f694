"""Icons: the desktop's freedesktop theme first, our bundled SVGs in the palette's colour else.

The bundled fallbacks (resources/icons/<name>.svg) are drawn with one placeholder ink,
replaced by the palette's text colour (and its disabled colour), so they read on light
and dark alike. :class:`IconSet` remembers which action wears which icon and repaints
them all when the palette changes.
"""

from __future__ import annotations

from functools import cache

from avatar_studio.gui.resources import resource_path
from PySide6.QtCore import QByteArray, QObject, QSize, Qt
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QAbstractButton, QApplication

#: The ink the bundled SVGs are drawn with, replaced by a palette colour.
INK = "#000000"
SIZES = (16, 22, 24, 32)
RATIOS = (1.0, 2.0)


@cache
def _svg(name: str) -> str:
    return resource_path(f"icons/{name}.svg").read_text(encoding="utf-8")


def bundled_names() -> list[str]:
    return sorted(p.stem for p in resource_path("icons").glob("*.svg"))


def _renderer(name: str, color: QColor) -> QSvgRenderer:
    return QSvgRenderer(QByteArray(_svg(name).replace(INK, color.name()).encode()))


def _tinted(renderer: QSvgRenderer, side: int, ratio: float) -> QPixmap:
    px = round(side * ratio)
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def fallback_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """The bundled SVG ``name`` in ``palette``'s text colours (default: the app's)."""
    palette = palette or QApplication.palette()
    normal = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    icon = QIcon()
    # One parsed SVG per colour for all sizes (the window builds ~17 icons at start-up).
    ink, grey = _renderer(name, normal), _renderer(name, disabled)
    for side in SIZES:
        for ratio in RATIOS:
            icon.addPixmap(_tinted(ink, side, ratio), QIcon.Mode.Normal)
            icon.addPixmap(_tinted(grey, side, ratio), QIcon.Mode.Disabled)
    return icon


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
