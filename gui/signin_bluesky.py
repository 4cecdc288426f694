"""The Bluesky sign-in page: handle (or e-mail) + app password, and the e-mailed code.

A page of its own, plugged into the sign-in dialog as a tab; it reaches Bluesky only
through the service interface (``services("bluesky")``). The network step runs through
the task runner; errors appear inline in the service's own words. On success it emits
:attr:`BlueskySignInPage.signed_in` with the :class:`SignedInAccount`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from avatar_studio.core.services.base import SignedInAccount, SignInKind, SignInRequest
from avatar_studio.core.services.errors import SecondFactorRequired
from avatar_studio.gui.accounts import ServiceLookup
from avatar_studio.gui.sandboxhost import BlueskySandboxHost
from avatar_studio.gui.signinpage import ServiceSignInPage
from avatar_studio.gui.tasks import TaskContext, TaskRunner
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

log = logging.getLogger(__name__)

SERVICE = "bluesky"
EXPLANATION = (
    "Sign in with your handle (e.g. alice.bsky.social) or e-mail and an <b>app password</b>:"
    " a password for this app alone, which you can revoke at any time. Make one in Bluesky "
    "under <i>Settings › Privacy and security › App passwords › Add App Password</i>; it "
    "looks like xxxx-xxxx-xxxx-xxxx. Your main password is never needed.")


class BlueskySignInPage(ServiceSignInPage):
    """Handle (or e-mail), app password, the server under Advanced, and the e-mailed
    code when the server asks for one. Signals: see :class:`ServiceSignInPage`."""

    def __init__(self, runner: TaskRunner, services: ServiceLookup,
                 parent: QWidget | None = None, *, api_base: str = "",
                 sandbox: BlueskySandboxHost | None = None) -> None:
        super().__init__(runner, services, parent, name="blueskySignInPage",
                         explanation=EXPLANATION, sandbox=sandbox)
        form = self.form
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
        self.add_sandbox_button("Try the local Bluesky sandbox",
                                "A Bluesky server (PDS) on this computer with a demo "
                                "account: nothing leaves your computer")
        self.add_error()

    @Slot(str)
    def _update_warning(self, text: str) -> None:
        check = getattr(self._services(SERVICE), "password_warning", None)
        message = check(text) if callable(check) and text else ""
        self.warning.setText(str(message))
        self.warning.setVisible(bool(message))

    def _busy(self, busy: bool) -> None:
        self.button.setEnabled(not busy)
        self.set_busy_cursor(busy)

    def _ask_for_code(self, exc: SecondFactorRequired) -> None:
        self.code_label.show()
        self.code.show()
        self.code.clear()
        self.code.setFocus()
        self.show_failure(exc)

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        log.info("Bluesky sign-in failed: %s", type(exc).__name__)
        if isinstance(exc, SecondFactorRequired):
            self._ask_for_code(exc)
            return
        self.show_failure(exc, sign="⚠ ")

    @Slot()
    def on_sign_in_clicked(self) -> None:
        handle = self.handle.text().strip()
        password = self.password.text()
        if not handle or not password:
            self.show_error("Enter your handle and an app password.")
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

    def _sandbox_work(self, host: BlueskySandboxHost,
                      ) -> Callable[[TaskContext], SignedInAccount]:
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

        return work

    def _done(self, account: SignedInAccount) -> None:
        self._busy(False)
        self.password.clear()
        self.signed_in.emit(account)


def make_page(runner: TaskRunner, services: ServiceLookup, parent: QWidget,
              on_signed_in: Callable[[SignedInAccount], None], *,
              sandbox: BlueskySandboxHost | None = None) -> BlueskySignInPage:
    page = BlueskySignInPage(runner, services, parent, sandbox=sandbox)
    page.signed_in.connect(on_signed_in)
    return page
