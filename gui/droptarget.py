"""Drag and drop onto the window: highlight while hovering, say why a drop is refused."""

from __future__ import annotations

from avatar_studio.gui.imageinput import ImageRequest, Refusal, read_mime
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel, QWidget


class DropOverlay(QLabel):
    """A translucent sheet over the drop target while something hovers above it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropOverlay")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAccessibleName("Drop indicator")
        self.hide()

    def show_state(self, accepted: bool, text: str) -> None:
        # Opaque, in palette roles: the text below (the placeholder's) never shows
        # through, and both themes keep their contrast.
        if accepted:
            colors = "background: palette(highlight); color: palette(highlighted-text);" \
                     " border: 3px dashed palette(highlighted-text);"
        else:
            colors = "background: palette(window); color: palette(window-text);" \
                     " border: 3px dashed palette(window-text);"
        self.setStyleSheet(f"QLabel#dropOverlay {{ {colors} border-radius: 12px;"
                           " font-size: 18px; font-weight: 600; }")
        self.setText(text)
        self.setProperty("accepted", accepted)
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect().adjusted(6, 6, -6, -6))
        self.raise_()
        self.show()


class DropHandler(QObject):
    """Event filter that turns drops on ``target`` into image requests.

    Signals:
        requested(object): an ImageRequest to open.
        refused(str): why the drop was not taken.
        hovering(bool): something is being dragged over the target.
    """

    requested = Signal(object)
    refused = Signal(str)
    hovering = Signal(bool)

    def __init__(self, target: QWidget) -> None:
        super().__init__(target)
        self._target = target
        self.overlay = DropOverlay(target)
        target.setAcceptDrops(True)
        target.installEventFilter(self)

    def _describe(self, verdict: ImageRequest | Refusal) -> tuple[bool, str]:
        if isinstance(verdict, Refusal):
            return False, f"⊘ Can't open this:\n{verdict.reason}"
        what = {"file": f"“{verdict.name}”", "link": "the image from the web",
                "data": "the image"}[verdict.kind]
        return True, f"Drop to open {what}"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.DragEnter and isinstance(event, QDropEvent):
            verdict = read_mime(event.mimeData())
            accepted, text = self._describe(verdict)
            self.overlay.show_state(accepted, text)
            self.hovering.emit(True)
            # Accepted even when refused, so the drop arrives and the reason is shown.
            event.acceptProposedAction()
            return True
        if kind == QEvent.Type.DragMove and isinstance(event, QDropEvent):
            event.acceptProposedAction()
            return True
        if kind == QEvent.Type.DragLeave:
            self.overlay.hide()
            self.hovering.emit(False)
            return True
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            self.overlay.hide()
            self.hovering.emit(False)
            verdict = read_mime(event.mimeData())
            if isinstance(verdict, Refusal):
                self.refused.emit(verdict.reason)
                event.ignore()
            else:
                event.acceptProposedAction()
                self.requested.emit(verdict)
            return True
        return False
