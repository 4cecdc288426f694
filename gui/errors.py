"""The one place that turns errors into something a user sees.

* :func:`user_message` gives the short text for any exception (typed core errors carry
  their own message; anything else gets a generic sentence, never a traceback).
* :func:`install_excepthooks` routes uncaught errors, on any thread, into the log and an
  error dialog with copyable details instead of a silent crash.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.logsetup import log_file
from avatar_studio.core.version import APP_NAME
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger(__name__)


def user_message(exc: BaseException) -> str:
    if isinstance(exc, UserFacingError):
        return str(exc)
    return (f"Something went wrong ({type(exc).__name__}). Your image and crop are kept; "
            f"details are in the log: {log_file()}")


def show_error_dialog(parent: QWidget | None, title: str, message: str,
                      details: str | None = None) -> QMessageBox:
    """A non-modal message box; the details (if any) can be selected and copied."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, message,
                      QMessageBox.StandardButton.Close, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if details:
        box.setDetailedText(details)
    box.setObjectName("errorDialog")
    if parent is None:
        # A parentless box would be garbage-collected as soon as the caller returns.
        _orphans.add(box)
        box.finished.connect(lambda _result: _orphans.discard(box))
    box.show()
    return box


_orphans: set[QMessageBox] = set()


class _Relay(QObject):
    """Carries errors from any thread to the GUI thread."""

    error = Signal(str, str)

    @Slot(str, str)
    def on_error(self, message: str, details: str) -> None:
        parent = QApplication.activeWindow()
        show_error_dialog(parent, f"{APP_NAME}: unexpected error", message, details)


_relay: _Relay | None = None


def _report(exc_type: type[BaseException], exc: BaseException,
            tb: TracebackType | None, where: str) -> None:
    log.critical("Uncaught error in %s", where, exc_info=(exc_type, exc, tb))
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    if _relay is not None:
        _relay.error.emit(user_message(exc), details)


def _excepthook(exc_type: type[BaseException], exc: BaseException,
                tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        QTimer.singleShot(0, QApplication.quit)
        return
    _report(exc_type, exc, tb, "the main thread")


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    _report(args.exc_type, args.exc_value, args.exc_traceback, name)


def install_excepthooks() -> None:
    """Install once, after the QApplication exists (main() does this)."""
    global _relay
    if _relay is None:
        _relay = _Relay()
        _relay.error.connect(_relay.on_error, Qt.ConnectionType.QueuedConnection)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
