"""What every service's sign-in page has: the explanation at the top, the inline error in
the service's own words, the local sandbox's button, the running step and its cancel.

:class:`ServiceSignInPage` is the base of the Mastodon and Bluesky pages (each adds its
own fields and steps); :func:`error_label` is the inline error every page and the dialog
use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avatar_studio.core.services.base import SignedInAccount
from avatar_studio.gui.accounts import ServiceLookup
from avatar_studio.gui.errors import user_message
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QWidget


def error_label(parent: QWidget) -> QLabel:
    """Inline errors: the window's text colour in bold after a warning sign, so AA
    contrast holds in either theme (a fixed red was 1.9:1 on dark)."""
    label = QLabel(parent)
    label.setObjectName("signInError")
    label.setWordWrap(True)
    bold = label.font()
    bold.setBold(True)
    label.setFont(bold)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class ServiceSignInPage(QWidget):
    """Signals:
        signed_in(object): a SignedInAccount.
        sandbox_signed_in(object): a SignedInAccount of the local sandbox (this session).

    A subclass builds its fields into :attr:`form` (after the explanation), then calls
    :meth:`add_sandbox_button` and :meth:`add_error`, and implements ``_sandbox_work``.
    """

    signed_in = Signal(object)
    sandbox_signed_in = Signal(object)

    def __init__(self, runner: TaskRunner, services: ServiceLookup,
                 parent: QWidget | None, *, name: str, explanation: str,
                 sandbox: object | None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._runner = runner
        self._services = services
        self._sandbox = sandbox
        self._task: TaskHandle[Any] | None = None
        self.form = QFormLayout(self)
        intro = QLabel(explanation, self)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.form.addRow(intro)

    def add_sandbox_button(self, text: str, tip: str) -> None:
        self.sandbox_button = QPushButton(text, self)
        self.sandbox_button.setToolTip(tip)
        self.sandbox_button.clicked.connect(self.on_sandbox_clicked)
        self.sandbox_button.setVisible(self._sandbox is not None)
        self.form.addRow(self.sandbox_button)

    def add_error(self) -> None:
        self.error = error_label(self)
        self.form.addRow(self.error)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def show_failure(self, exc: BaseException, *, sign: str = "") -> None:
        """``exc`` in the service's own words (user_message), as the page's error."""
        self.show_error(f"{sign}{user_message(exc)}")

    def set_busy_cursor(self, busy: bool) -> None:
        if busy:
            self.error.hide()
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def _busy(self, busy: bool) -> None:
        self.set_busy_cursor(busy)

    def _failed(self, exc: BaseException) -> None:
        raise NotImplementedError

    def _sandbox_work(self, host: Any) -> Callable[[TaskContext], SignedInAccount]:
        """The sign-in to the started sandbox ``host``'s demo account, run off the GUI
        thread."""
        raise NotImplementedError

    def on_sandbox_clicked(self) -> None:
        """Start the embedded sandbox and sign in as its demo account (this session),
        off the GUI thread, with the page busy and the button off meanwhile."""
        host = self._sandbox
        if host is None:
            return
        work = self._sandbox_work(host)
        button = self.sandbox_button
        self._busy(True)
        button.setEnabled(False)

        def done(account: SignedInAccount) -> None:
            self._busy(False)
            button.setEnabled(True)
            self.sandbox_signed_in.emit(account)

        def failed(exc: BaseException) -> None:
            button.setEnabled(True)
            self._failed(exc)

        self._task = self._runner.run(work, on_success=done, on_error=failed)

    def cancel(self) -> None:
        """The dialog closes (or the user stops): the running step must not come back."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
