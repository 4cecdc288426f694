"""The one place that turns errors into something a user sees.

* :func:`user_message` gives the short text for any exception (typed core errors carry
  their own message; anything else gets a generic sentence, never a traceback).
* :func:`install_excepthooks` routes uncaught errors, on any thread, into the log and an
  error dialog with copyable details instead of a silent crash.
* :func:`describe` picks the one action that helps (Retry, Sign in again, Open help) and
  :class:`ErrorBanner` shows message and action inline: the window's one place for
  errors of any step, which never discards the image or the crop.
"""

from __future__ import annotations

import dataclasses
import logging
import platform
import re
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType

from avatar_studio.core.credentials import KeyringUnavailable, SecretsMissing
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.imaging.errors import FileUnreadable, ImageError, MissingFile
from avatar_studio.core.logsetup import log_file
from avatar_studio.core.services import errors as serr
from avatar_studio.core.version import APP_NAME, __version__
from avatar_studio.gui.icons import themed_icon
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, QUrl, Signal, Slot, qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QToolButton,
    QWidget,
)

log = logging.getLogger(__name__)


_CODE = re.compile(r"\s*\((HTTP \d{3}[^()]*)\)")


def split_details(message: str) -> tuple[str, str]:
    """The message in plain words, and the technical part ("HTTP 503 130: …") apart.

    Services' own words and status codes help a bug report, not the user: the banner
    shows the plain sentence and keeps the code behind "Details".
    """
    details = [m.group(1) for m in _CODE.finditer(message)]
    return _CODE.sub("", message), "\n".join(details)


def user_message(exc: BaseException) -> str:
    if isinstance(exc, UserFacingError):
        # Hints naming a command-line command are for the CLI; the window has a button.
        if exc.hint and "avatar-studio-cli" not in exc.hint:
            return f"{exc.message}\n{exc.hint}"
        return exc.message
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
    if _relay is not None:
        _relay.error.emit(user_message(exc), crash_details(exc_type, tb, where))


def crash_details(exc_type: type[BaseException], tb: TracebackType | None,
                  where: str) -> str:
    """What the dialog offers to copy into a bug report.

    The traceback and the exception's own text stay in the log: either may quote data a
    user would not want to paste anywhere (a link, a file name, a server's answer).
    """
    frames = traceback.extract_tb(tb) if tb is not None else []
    location = (f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}"
                if frames else "unknown")
    return "\n".join([
        f"{APP_NAME} {__version__}",
        f"Python {platform.python_version()}, Qt {qVersion()}, {platform.platform()}",
        f"Error: {exc_type.__module__}.{exc_type.__qualname__} in {where}",
        f"At: {location}",
        f"The full report is in the log: {log_file()}",
    ])


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


class Action(Enum):
    """What the banner's button does."""

    RETRY = "Retry"
    #: The service has the picture already: only ask again whether it shows it.
    CHECK_AGAIN = "Check Again"
    SIGN_IN = "Sign in again…"
    HELP = "Open help"
    SHOW_LOG = "Show log folder"
    KEEP_FOR_SESSION = "Keep for this session only"


@dataclass(frozen=True)
class ErrorReport:
    message: str
    action: Action | None
    help_url: str = ""
    #: The technical part (status and error codes), shown on request.
    details: str = ""


def describe(exc: BaseException, *, can_retry: bool = True,
             can_keep_for_session: bool = False) -> ErrorReport:
    """The message and the one most useful action for ``exc``."""
    message, details = split_details(user_message(exc))
    report = _describe(exc, message, can_retry=can_retry,
                       can_keep_for_session=can_keep_for_session)
    return dataclasses.replace(report, details=details)


def _describe(exc: BaseException, message: str, *, can_retry: bool,
              can_keep_for_session: bool) -> ErrorReport:
    if isinstance(exc, KeyringUnavailable) and can_keep_for_session:
        # The keyring may stay broken for the whole session: offer the way that works
        # now (secrets in memory); Retry stays beside it for after an unlock.
        return ErrorReport(message, Action.KEEP_FOR_SESSION)
    if isinstance(exc, serr.Cancelled):
        return ErrorReport(message, None)
    if isinstance(exc, serr.NotPublishedYet):
        return ErrorReport(message, Action.CHECK_AGAIN if can_retry else None)
    if isinstance(exc, ImageError) and not isinstance(exc, FileUnreadable | MissingFile):
        # A damaged or unsupported file stays so: trying it again cannot help.
        return ErrorReport(message, None)
    if isinstance(exc, serr.CredentialsRejected | serr.TokenRevoked | serr.BadAuthData
                  | SecretsMissing):
        return ErrorReport(message, Action.SIGN_IN)
    if isinstance(exc, serr.PermissionMissing) and exc.help_url:
        # Only the service's own settings (app permissions, scopes, access tier) fix it.
        return ErrorReport(message, Action.HELP, exc.help_url)
    if isinstance(exc, UserFacingError):
        # Rate limits, server errors, dropped connections, "not published yet", a file
        # that could not be read: trying again (perhaps later) is the way forward.
        return ErrorReport(message, Action.RETRY if can_retry else None)
    return ErrorReport(message, Action.SHOW_LOG)


class ErrorBanner(QFrame):
    """An inline, dismissable error line with one action button.

    Signals:
        sign_in_requested(): the user chose "Sign in again".
        shown(str): an error was shown (its message).
    """

    sign_in_requested = Signal()
    shown = Signal(str)
    visibility_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAccessibleName("Error message")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # Palette roles only: readable in light and dark, and re-resolved on a theme change.
        self.setStyleSheet("QFrame#errorBanner { background: palette(alternate-base);"
                           " border: 1px solid palette(mid); border-left: 4px solid"
                           " palette(highlight); border-radius: 4px; }"
                           " QFrame#errorBanner QLabel { color: palette(window-text); }")
        self.icon = QLabel(self)
        self.icon.setObjectName("errorIcon")
        self.label = QLabel(self)
        self.label.setObjectName("errorText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton(self)
        self.action_button.setAccessibleName("Error action")
        self.action_button.clicked.connect(self.on_action_button_clicked)
        # Only beside "Keep for this session only": Retry once the keyring is unlocked.
        self.retry_button = QPushButton(Action.RETRY.value, self)
        self.retry_button.setAccessibleName("Retry")
        self.retry_button.setToolTip("Try the keyring again (after unlocking it)")
        self.retry_button.clicked.connect(self.on_retry_button_clicked)
        self.retry_button.hide()
        self.details_button = QToolButton(self)
        self.details_button.setText("Details")
        self.details_button.setAccessibleName("Error details")
        self.details_button.setToolTip("The service's status and error codes")
        self.details_button.setAutoRaise(True)
        self.details_button.clicked.connect(self.on_details_button_clicked)
        self.details_button.hide()
        self.close_button = close = QToolButton(self)
        close.setAccessibleName("Dismiss error")
        close.setToolTip("Dismiss (Esc)")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        self.repaint_icons()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(self.action_button)
        layout.addWidget(self.retry_button)
        layout.addWidget(close)
        self.report: ErrorReport | None = None
        self._retry: Callable[[], None] | None = None
        self._keep: Callable[[], None] | None = None
        self.hide()

    def repaint_icons(self) -> None:
        self.icon.setPixmap(themed_icon("dialog-error").pixmap(QSize(20, 20)))
        self.close_button.setIcon(themed_icon("window-close"))

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - Qt override
        parent = self.parentWidget()
        was = self.isVisibleTo(parent) if parent is not None else self.isVisible()
        super().setVisible(visible)
        if was != visible:
            self.visibility_changed.emit(visible)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.repaint_icons()  # the bundled icons are drawn in the palette's colours
        super().changeEvent(event)

    def show_error(self, exc: BaseException, *,
                   retry: Callable[[], None] | None = None,
                   keep_for_session: Callable[[], None] | None = None) -> ErrorReport:
        """``keep_for_session``: what "Keep for this session only" does for a keyring
        problem (secrets kept in memory instead)."""
        report = describe(exc, can_retry=retry is not None,
                          can_keep_for_session=keep_for_session is not None)
        if isinstance(exc, UserFacingError):
            log.info("Shown to the user: %s", report.message.replace("\n", " "))
        else:
            log.error("Unexpected error shown to the user", exc_info=exc)
        self.show_report(report, retry=retry, keep_for_session=keep_for_session)
        return report

    def show_message(self, message: str) -> None:
        self.show_report(ErrorReport(message, None))

    def show_report(self, report: ErrorReport, *,
                    retry: Callable[[], None] | None = None,
                    keep_for_session: Callable[[], None] | None = None) -> None:
        self.report = report
        self._retry = retry
        self._keep = keep_for_session
        self.retry_button.setVisible(report.action is Action.KEEP_FOR_SESSION
                                     and retry is not None)
        self.label.setText(report.message)
        self.label.setToolTip(report.message)
        self.details_button.setVisible(bool(report.details))
        self.action_button.setVisible(report.action is not None)
        if report.action is not None:
            self.action_button.setText(report.action.value)
            self.action_button.setAccessibleName(report.action.value)
        self.show()
        self.shown.emit(report.message)

    @Slot()
    def on_action_button_clicked(self) -> None:
        report = self.report
        if report is None or report.action is None:
            return
        if report.action in (Action.RETRY, Action.CHECK_AGAIN) and self._retry is not None:
            self.hide()
            self._retry()
        elif report.action is Action.SIGN_IN:
            self.hide()
            self.sign_in_requested.emit()
        elif report.action is Action.HELP:
            QDesktopServices.openUrl(QUrl(report.help_url))
        elif report.action is Action.KEEP_FOR_SESSION and self._keep is not None:
            self.hide()
            self._keep()
        elif report.action is Action.SHOW_LOG:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_file().parent)))

    @Slot()
    def on_details_button_clicked(self) -> None:
        if self.report is not None and self.report.details:
            show_error_dialog(self.window(), "Error details", self.report.message,
                              self.report.details)

    @Slot()
    def on_retry_button_clicked(self) -> None:
        if self._retry is not None:
            self.hide()
            self._retry()
