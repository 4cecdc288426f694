"""Route Qt's own messages (qDebug/qWarning/...) into Python logging."""

from __future__ import annotations

import logging

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("qt")

_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


#: Messages Qt prints that say nothing about our app (logged at DEBUG only).
HARMLESS = (
    "This plugin does not support propagateSizeHints",  # offscreen platform, every window
)


def _handler(msg_type: QtMsgType, context: QMessageLogContext, message: str) -> None:
    level = _LEVELS.get(msg_type, logging.WARNING)
    if message.startswith(HARMLESS):
        level = logging.DEBUG
    log.log(level, "%s", message)


def install_qt_message_handler() -> None:
    """Called by main() only: pytest-qt installs its own handler in tests."""
    qInstallMessageHandler(_handler)
