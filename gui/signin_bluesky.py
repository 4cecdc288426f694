"""The Bluesky sign-in page: handle (or e-mail) + app password, and the e-mailed code.

A page of its own, plugged into the sign-in dialog as a tab; it reaches Bluesky only
through the service interface (``services("bluesky")``). The network step runs through
the task runner; errors appear inline in the service's own words. On success it emits
:attr:`BlueskySignInPage.signed_in` with the :class:`SignedInAccount`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from avatar_studio.core.services.base import SignedInAccount, SignInKind, SignInRequest
from avatar_studio.core.services.errors import SecondFactorRequired
from avatar_studio.gui.accounts import ServiceLookup
from avatar_studio.gui.demosignin import sign_in_as_demo
from avatar_studio.gui.errors import user_message
from avatar_studio.gui.sandboxhost import BlueskySandboxHost
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPushButton, QWidget

log = logging.getLogger(__name__)

SERVICE = "bluesky"
EXPLANATION = (
    "Sign in with your handle (e.g. alice.bsky.social) or e-mail and an <b>app password</b>:"
    " a password for this app alone, which you can revoke at any time. Make one in Bluesky "
    "under <i>Settings › Privacy and security › App passwords › Add App Password</i>; it "
    "looks like xxxx-xxxx-xxxx-xxxx. Your main password is never needed.")


class BlueskySignInPage(QWidget):
    """Signals:
        signed_in(object): a SignedInAccount.
        sandbox_signed_in(object): a SignedInAccount of the local sandbox (this session).
    """

    signed_in = Signal(object)
    sandbox_signed_in = Signal(object)

    def __init__(self, runner: TaskRunner, services: ServiceLookup,
                 parent: QWidget | None = None, *, api_base: str = "",
                 sandbox: BlueskySandboxHost | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("blueskySignInPage")
        self._runner = runner
        self._services = services
        self._sandbox = sandbox
        self._task: TaskHandle[Any] | None = None
        form = QFormLayout(self)
        intro = QLabel(EXPLANATION, self)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        form.addRow(intro)
        self.handle = QLineEdit(self)
        self.handle.setAccessibleName("Bluesky handle or e-mail")
        self.handle.setPlaceholderText("alice.bsky.social")
        form.addRow("Handle:", self.handle)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("App password")
        self.password.setPlaceholderText("xxxx-xxxx-xxxx-xxxx")
        self.password.textChanged.connect(self._update_warning)
        form.addRow("App password:", self.password)
        self.warning = QLabel(self)
        self.warning.setObjectName("appPasswordWarning")
        self.warning.setWordWrap(True)
        self.warning.hide()
        form.addRow(self.warning)
        self.server = QLineEdit(api_base, self)
        self.server.setAccessibleName("Server (advanced)")
        self.server.setPlaceholderText("found from your handle; or https://bsky.social")
        self.server.setToolTip("Leave empty: the server is found from your handle. The "
                               "sandbox prints its own address.")
        form.addRow("Server (advanced):", self.server)
        self.code_label = QLabel("Code from the e-mail:", self)
        self.code = QLineEdit(self)
        self.code.setAccessibleName("Sign-in code from the e-mail")
        self.code.setPlaceholderText("XXXXX-XXXXX")
        form.addRow(self.code_label, self.code)
        self.code_label.hide()
        self.code.hide()
        self.button = QPushButton("Sign in", self)
        self.button.clicked.connect(self.on_sign_in_clicked)
        for edit in (self.handle, self.password, self.code):
            edit.returnPressed.connect(self.button.click)
        form.addRow(self.button)
        self.sandbox_button = QPushButton("Try the local Bluesky sandbox", self)
        self.sandbox_button.setToolTip("A Bluesky server (PDS) on this computer with a demo "
                                       "account: nothing leaves your computer")
        self.sandbox_button.clicked.connect(self.on_sandbox_clicked)
        self.sandbox_button.setVisible(sandbox is not None)
        form.addRow(self.sandbox_button)
        self.error = QLabel(self)
        self.error.setObjectName("signInError")
        self.error.setWordWrap(True)
        # Bold window text, not a fixed red: AA contrast in light and dark alike.
        bold = self.error.font()
        bold.setBold(True)
        self.error.setFont(bold)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        form.addRow(self.error)

    @Slot(str)
    def _update_warning(self, text: str) -> None:
        check = getattr(self._services(SERVICE), "password_warning", None)
        message = check(text) if callable(check) and text else ""
        self.warning.setText(str(message))
        self.warning.setVisible(bool(message))

    def _busy(self, busy: bool) -> None:
        self.button.setEnabled(not busy)
        if busy:
            self.error.hide()
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def _ask_for_code(self, exc: SecondFactorRequired) -> None:
        self.code_label.show()
        self.code.show()
        self.code.clear()
        self.code.setFocus()
        self.error.setText(user_message(exc))
        self.error.show()

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        log.info("Bluesky sign-in failed: %s", type(exc).__name__)
        if isinstance(exc, SecondFactorRequired):
            self._ask_for_code(exc)
            return
        self.error.setText(f"⚠ {user_message(exc)}")
        self.error.show()

    @Slot()
    def on_sign_in_clicked(self) -> None:
        handle = self.handle.text().strip()
        password = self.password.text()
        if not handle or not password:
            self.error.setText("Enter your handle and an app password.")
            self.error.show()
            return
        code = self.code.text().strip() if self.code.isVisible() else ""
        server = self.server.text().strip() or None
        services = self._services
        self._busy(True)

        def work(ctx: TaskContext) -> SignedInAccount:
            sign_in = services(SERVICE).sign_in(SignInRequest(
                SignInKind.PASSWORD, api_base=server, identifier=handle))
            try:
                return sign_in.with_password(handle, password, second_factor=code,
                                             cancel=ctx.cancel_event)
            finally:
                sign_in.close()

        self._task = self._runner.run(work, on_success=self._done, on_error=self._failed)

    @Slot()
    def on_sandbox_clicked(self) -> None:
        """Start the embedded PDS sandbox and sign in as its demo account (this session)."""
        host = self._sandbox
        if host is None:
            return
        services = self._services

        def work(ctx: TaskContext) -> SignedInAccount:
            demo = host.ensure_started()
            sign_in = services(SERVICE).sign_in(SignInRequest(
                SignInKind.PASSWORD, api_base=demo.base_url, identifier=demo.handle))
            try:
                return sign_in.with_password(demo.handle, demo.app_password,
                                             cancel=ctx.cancel_event)
            finally:
                sign_in.close()

        self._task = sign_in_as_demo(self._runner, work, button=self.sandbox_button,
                                     busy=self._busy, signed_in=self.sandbox_signed_in.emit,
                                     failed=self._failed)

    def _done(self, account: SignedInAccount) -> None:
        self._busy(False)
        self.password.clear()
        self.signed_in.emit(account)

    def cancel(self) -> None:
        """The dialog closes: a running sign-in must not come back to this page."""
        if self._task is not None:
            self._task.cancel()
            self._task = None


def make_page(runner: TaskRunner, services: ServiceLookup, parent: QWidget,
              on_signed_in: Callable[[SignedInAccount], None], *,
              sandbox: BlueskySandboxHost | None = None) -> BlueskySignInPage:
    page = BlueskySignInPage(runner, services, parent, sandbox=sandbox)
    page.signed_in.connect(on_signed_in)
    return page
