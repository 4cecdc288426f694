"""Light and dark palettes (Fusion), or the platform's own."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

THEMES = ("system", "light", "dark")

_original: tuple[str, QPalette] | None = None


def _dark() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 49), QColor(230, 230, 230)
    p.setColor(role.Window, window)
    p.setColor(role.WindowText, text)
    p.setColor(role.Base, base)
    p.setColor(role.AlternateBase, window)
    p.setColor(role.ToolTipBase, window)
    p.setColor(role.ToolTipText, text)
    p.setColor(role.Text, text)
    p.setColor(role.Button, QColor(55, 57, 62))
    p.setColor(role.ButtonText, text)
    p.setColor(role.Highlight, QColor(42, 130, 218))
    p.setColor(role.HighlightedText, QColor(255, 255, 255))
    p.setColor(role.Link, QColor(100, 170, 255))
    p.setColor(role.Dark, QColor(20, 21, 23))
    p.setColor(role.Mid, QColor(80, 82, 88))
    p.setColor(role.PlaceholderText, QColor(150, 150, 150))
    for r in (role.Text, role.ButtonText, role.WindowText):
        p.setColor(group.Disabled, r, QColor(120, 120, 120))
    return p


def apply_theme(app: QApplication, name: str) -> None:
    global _original
    style = app.style()
    if _original is None:
        _original = (style.name() if style is not None else "fusion", app.palette())
    if name == "system":
        app.setStyle(QStyleFactory.create(_original[0]))
        app.setPalette(_original[1])
        return
    app.setStyle(QStyleFactory.create("Fusion"))
    fusion = app.style()
    light = fusion.standardPalette() if fusion is not None else QPalette()
    app.setPalette(_dark() if name == "dark" else light)
