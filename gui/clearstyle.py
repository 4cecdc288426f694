"""The application's style: the platform's or Fusion, with focus rings and visible menu
check boxes (see :class:`ClearStyle`); installed by :func:`avatar_studio.gui.theme.apply_theme`."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPalette, QPen
from PySide6.QtWidgets import QMenu, QProxyStyle, QStyle, QStyleOption, QStyleOptionComplex, QWidget


class ClearStyle(QProxyStyle):
    """Fusion (or the platform's style), with the check boxes of menu items outlined in
    the text colour (Fusion draws them a shade off the window colour, invisible on a dark
    palette) and a focus ring on the controls Fusion leaves unmarked: tool buttons,
    sliders and flat-looking push buttons show nothing when Tab reaches them."""

    def _ring(self, option: QStyleOption, painter: QPainter) -> None:
        if not option.state & QStyle.StateFlag.State_HasFocus:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(option.rect).adjusted(1, 1, -1, -1), 3, 3)
        painter.restore()

    def drawComplexControl(self, control: QStyle.ComplexControl,  # noqa: N802
                           option: QStyleOptionComplex, painter: QPainter,
                           widget: QWidget | None = None) -> None:
        super().drawComplexControl(control, option, painter, widget)
        if control in (QStyle.ComplexControl.CC_ToolButton, QStyle.ComplexControl.CC_Slider):
            self._ring(option, painter)

    def drawControl(self, element: QStyle.ControlElement, option: QStyleOption,  # noqa: N802
                    painter: QPainter, widget: QWidget | None = None) -> None:
        super().drawControl(element, option, painter, widget)
        if element == QStyle.ControlElement.CE_PushButton:
            self._ring(option, painter)

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,  # noqa: N802
                      painter: QPainter, widget: QWidget | None = None) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if element == QStyle.PrimitiveElement.PE_IndicatorCheckBox and isinstance(
                widget, QMenu):
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.WindowText), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(option.rect).adjusted(0.5, 0.5, -1.5, -1.5))
            painter.restore()
