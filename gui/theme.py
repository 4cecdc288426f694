"""Light and dark palettes (Fusion), following the system's colour scheme by default.

"system" asks Qt which scheme the desktop prefers (QStyleHints.colorScheme) and follows
it when it changes; when the platform does not say, the platform's own style and palette
stay. Every role is set in both palettes (Light, Midlight, Shadow… included), so nothing
of Fusion's light defaults shows through in dark. Widgets draw with palette roles only;
:func:`apply_theme` re-polishes them all so none keeps a colour of the old theme.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

THEMES = ("system", "light", "dark")

_original: tuple[str, QPalette] | None = None
_following: list[bool] = [False]


def _palette(window: QColor, base: QColor, text: QColor, button: QColor, highlight: QColor,
             highlighted_text: QColor, link: QColor, visited: QColor, disabled: QColor,
             placeholder: QColor, *, dark: bool) -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    p.setColor(role.Window, window)
    p.setColor(role.WindowText, text)
    p.setColor(role.Base, base)
    p.setColor(role.AlternateBase, window.darker(108) if not dark else window.lighter(112))
    p.setColor(role.ToolTipBase, base)
    p.setColor(role.ToolTipText, text)
    p.setColor(role.Text, text)
    p.setColor(role.Button, button)
    p.setColor(role.ButtonText, text)
    p.setColor(role.BrightText, QColor(255, 255, 255) if dark else QColor(0, 0, 0))
    p.setColor(role.Highlight, highlight)
    p.setColor(role.HighlightedText, highlighted_text)
    p.setColor(role.Link, link)
    p.setColor(role.LinkVisited, visited)
    p.setColor(role.PlaceholderText, placeholder)
    # The 3D roles Fusion draws frames, separators and check marks with.
    p.setColor(role.Light, button.lighter(150) if not dark else button.lighter(130))
    p.setColor(role.Midlight, button.lighter(115))
    p.setColor(role.Mid, button.darker(130) if not dark else button.lighter(145))
    p.setColor(role.Dark, button.darker(160) if not dark else window.darker(150))
    p.setColor(role.Shadow, QColor(0, 0, 0))
    if hasattr(role, "Accent"):
        p.setColor(role.Accent, highlight)
    for r in (role.Text, role.ButtonText, role.WindowText):
        p.setColor(group.Disabled, r, disabled)
    p.setColor(group.Disabled, role.Highlight, button.darker(120) if not dark
               else button.lighter(120))
    p.setColor(group.Disabled, role.HighlightedText, disabled)
    return p


def light_palette() -> QPalette:
    return _palette(window=QColor(239, 239, 239), base=QColor(255, 255, 255),
                    text=QColor(24, 24, 24), button=QColor(232, 232, 232),
                    highlight=QColor(21, 101, 192), highlighted_text=QColor(255, 255, 255),
                    link=QColor(13, 71, 161), visited=QColor(106, 27, 154),
                    disabled=QColor(128, 128, 128), placeholder=QColor(108, 108, 108),
                    dark=False)


def dark_palette() -> QPalette:
    return _palette(window=QColor(43, 45, 49), base=QColor(30, 31, 34),
                    text=QColor(232, 232, 232), button=QColor(58, 60, 65),
                    highlight=QColor(61, 142, 230), highlighted_text=QColor(0, 0, 0),
                    link=QColor(120, 180, 255), visited=QColor(200, 160, 255),
                    disabled=QColor(130, 130, 130), placeholder=QColor(160, 160, 160),
                    dark=True)


def system_scheme() -> Qt.ColorScheme:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown


def resolved(name: str) -> str:
    """"light" or "dark" for ``name``, or "platform" when the system does not say."""
    if name != "system":
        return name
    scheme = system_scheme()
    if scheme == Qt.ColorScheme.Dark:
        return "dark"
    if scheme == Qt.ColorScheme.Light:
        return "light"
    return "platform"


def apply_theme(app: QApplication, name: str) -> None:
    # Imported here: touching QProxyStyle makes PySide6 build QStyle's ~120 enum types
    # (~25 ms), which the first paint of a window on the platform's theme never needs.
    from avatar_studio.gui.clearstyle import ClearStyle

    global _original
    style = app.style()
    if _original is None:
        _original = (style.name() if style is not None else "fusion", app.palette())
    kind = resolved(name)
    if kind == "platform":
        app.setStyle(ClearStyle(QStyleFactory.create(_original[0])))
        app.setPalette(_original[1])
    else:
        app.setStyle(ClearStyle(QStyleFactory.create("Fusion")))
        app.setPalette(dark_palette() if kind == "dark" else light_palette())
    repolish(app)
    hints = app.styleHints()
    if name == "system" and not _following[0] and hints is not None:
        # Follow the desktop when it switches while the app runs.
        _following[0] = True
        hints.colorSchemeChanged.connect(lambda _scheme: _on_scheme_changed(app))
    _current[0] = name


_current: list[str] = ["system"]


def _on_scheme_changed(app: QApplication) -> None:
    if _current[0] == "system":
        apply_theme(app, "system")


def repolish(app: QApplication) -> None:
    """Make every widget pick up the new palette (style sheets resolve it when polished)."""
    style = app.style()
    for widget in app.allWidgets():
        style.unpolish(widget)
        style.polish(widget)
        widget.update()


def contrast(a: QColor, b: QColor) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21)."""

    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return (0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF())
                + 0.0722 * channel(c.blueF()))

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
