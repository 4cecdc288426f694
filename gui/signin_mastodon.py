"""The Mastodon sign-in page: an instance or a handle, then the browser.

A page of its own, plugged into the sign-in dialog as a tab; it reaches Mastodon only
through the service interface (``services("mastodon")``). "Sign in with the browser"
registers Avatar Studio with the instance (once), opens the instance's authorization
page and waits for its redirect to our loopback listener; "Use a code instead" opens the
page in out-of-band mode and asks for the code it shows. Every network step runs through
the task runner; errors appear inline in the instance's own words. On success it emits
:attr:`MastodonSignInPage.signed_in` with the :class:`SignedInAccount`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from avatar_studio.core.services.base import (
    BrowserAuthorization,
    SignedInAccount,
    SignIn,
    SignInKind,
    SignInRequest,
)
from avatar_studio.gui.accounts import ServiceLookup
from avatar_studio.gui.sandboxhost import MastodonSandboxHost
from avatar_studio.gui.signinpage import ServiceSignInPage
from avatar_studio.gui.tasks import TaskContext, TaskRunner
from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

log = logging.getLogger(__name__)

SERVICE = "mastodon"
#: How long the page waits for the browser's answer.
BROWSER_TIMEOUT_S = 600.0
EXPLANATION = (
    "Type your instance (e.g. <i>mastodon.social</i>) or your full handle "
    "(<i>@you@example.org</i>). Your browser opens the instance's page: press "
    "<b>Authorize</b> there and come back. Avatar Studio asks only to read your own "
    "profile and change it; your password never passes through it.")


class MastodonSignInPage(ServiceSignInPage):
    """An instance or a handle, then the browser (or a pasted code). Signals: see
    :class:`ServiceSignInPage`."""

    def __init__(self, runner: TaskRunner, services: ServiceLookup,
                 parent: QWidget | None = None, *,
                 open_url: Callable[[QUrl], object] | None = None,
                 sandbox: MastodonSandboxHost | None = None) -> None:
        super().__init__(runner, services, parent, name="mastodonSignInPage",
                         explanation=EXPLANATION, sandbox=sandbox)
        # Looked up at call time, so QDesktopServices.setUrlHandler reaches it.
        self._open_url = open_url or QDesktopServices.openUrl
        self._attempt: SignIn | None = None
        self._auth: BrowserAuthorization | None = None
        form = self.form
        self.instance = QLineEdit(self)
        self.instance.setAccessibleName("Mastodon instance or handle")
        self.instance.setPlaceholderText("mastodon.social or @you@example.org")
        form.addRow("Instance:", self.instance)
        buttons = QHBoxLayout()
        self.button = QPushButton("Sign in with the browser", self)
        self.button.setToolTip("Opens the instance in your web browser; it sends the answer "
                               "straight back to Avatar Studio")
        self.button.clicked.connect(self.on_sign_in_clicked)
        self.instance.returnPressed.connect(self.button.click)
        buttons.addWidget(self.button)
        self.code_button = QPushButton("Use a code instead", self)
        self.code_button.setToolTip("For a browser on another computer: the instance shows "
                                    "a code to paste here")
        self.code_button.clicked.connect(self.on_code_clicked)
        buttons.addWidget(self.code_button)
        form.addRow(buttons)
        self.add_sandbox_button("Try the local Mastodon sandbox",
                                "A Mastodon server on this computer with a demo account: "
                                "no real account needed")
        self.status = QLabel(self)
        self.status.setObjectName("mastodonStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setOpenExternalLinks(False)
        self.status.linkActivated.connect(lambda url: self._open_url(QUrl(url)))
        self.status.hide()
        form.addRow(self.status)
        self.code_label = QLabel("Code:", self)
        self.code = QLineEdit(self)
        self.code.setAccessibleName("Authorization code from the instance")
        self.finish_button = QPushButton("Sign in", self)
        self.finish_button.clicked.connect(self.on_finish_clicked)
        self.code.returnPressed.connect(self.finish_button.click)
        form.addRow(self.code_label, self.code)
        form.addRow(self.finish_button)
        for widget in (self.code_label, self.code, self.finish_button):
            widget.hide()
        self.stop_button = QPushButton("Stop waiting", self)
        self.stop_button.clicked.connect(self.cancel)
        self.stop_button.hide()
        form.addRow(self.stop_button)
        self.add_error()

    # -- helpers ------------------------------------------------------------------
    def _busy(self, busy: bool) -> None:
        self.button.setEnabled(not busy)
        self.code_button.setEnabled(not busy)
        self.instance.setEnabled(not busy)
        self.set_busy_cursor(busy)

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        self.stop_button.hide()
        self.status.hide()
        log.info("Mastodon sign-in failed: %s", type(exc).__name__)
        self.show_failure(exc)
        self._close_attempt()

    def _close_attempt(self) -> None:
        if self._attempt is not None:
            self._attempt.close()
            self._attempt = None
        self._auth = None

    def _start(self, kind: SignInKind, then: Callable[[BrowserAuthorization], None]) -> None:
        text = self.instance.text().strip()
        if not text:
            self.show_error("Type your instance (e.g. mastodon.social) or your handle.")
            return
        self._close_attempt()
        attempt = self._attempt = self._services(SERVICE).sign_in(
            SignInRequest(kind, identifier=text))
        self._busy(True)
        self.status.setText("Contacting the instance…")
        self.status.show()

        def work(ctx: TaskContext) -> BrowserAuthorization:
            return attempt.start_browser(cancel=ctx.cancel_event)

        self._task = self._runner.run(work, on_success=then, on_error=self._failed)

    def _show_link(self, auth: BrowserAuthorization, waiting: str) -> None:
        self.status.setText(f"{waiting} If no browser opened, open <a href=\"{auth.url}\">"
                            "the instance's authorization page</a>.")
        self.status.show()
        self._open_url(QUrl(auth.url))

    # -- the browser with the loopback redirect -------------------------------------
    @Slot()
    def on_sign_in_clicked(self) -> None:
        self._start(SignInKind.BROWSER_LOOPBACK, self._wait_for_browser)

    def _wait_for_browser(self, auth: BrowserAuthorization) -> None:
        attempt = self._attempt
        if attempt is None:
            return
        if auth.kind is SignInKind.BROWSER_CODE:  # no loopback here: the code it is
            self._ask_for_code(auth)
            return
        self._auth = auth
        self._show_link(auth, "Waiting for you to press Authorize in the browser…")
        self.stop_button.show()

        def work(ctx: TaskContext) -> SignedInAccount:
            return attempt.finish_browser(auth, timeout_s=BROWSER_TIMEOUT_S,
                                          cancel=ctx.cancel_event)

        self._task = self._runner.run(work, on_success=self._done, on_error=self._failed)

    # -- the out-of-band code -------------------------------------------------------
    @Slot()
    def on_code_clicked(self) -> None:
        self._start(SignInKind.BROWSER_CODE, self._ask_for_code)

    def _ask_for_code(self, auth: BrowserAuthorization) -> None:
        self._busy(False)
        self._auth = auth
        self._show_link(auth, "Press Authorize in the browser, then paste the code it "
                              "shows.")
        for widget in (self.code_label, self.code, self.finish_button):
            widget.show()
        self.code.clear()
        self.code.setFocus()

    @Slot()
    def on_finish_clicked(self) -> None:
        attempt, auth = self._attempt, self._auth
        code = self.code.text().strip()
        if attempt is None or auth is None:
            return
        if not code:
            self.show_error("Paste the code the instance showed you.")
            return
        self._busy(True)
        self.finish_button.setEnabled(False)

        def work(ctx: TaskContext) -> SignedInAccount:
            return attempt.finish_browser(auth, code, cancel=ctx.cancel_event)

        def failed(exc: BaseException) -> None:
            self.finish_button.setEnabled(True)
            # The same page and code may be retried (a typo): keep the attempt.
            self._busy(False)
            self.show_failure(exc)

        self._task = self._runner.run(work, on_success=self._done, on_error=failed)

    # -- the local sandbox ----------------------------------------------------------
    def _sandbox_work(self, host: MastodonSandboxHost,
                      ) -> Callable[[TaskContext], SignedInAccount]:
        services = self._services

        def work(ctx: TaskContext) -> SignedInAccount:
            demo = host.ensure_started()
            attempt = services(SERVICE).sign_in(SignInRequest(SignInKind.TOKENS,
                                                              identifier=demo.base_url))
            try:
                return attempt.with_tokens({"access_token": demo.access_token},
                                           cancel=ctx.cancel_event)
            finally:
                attempt.close()

        return work

    def _done(self, account: SignedInAccount) -> None:
        self._busy(False)
        self.stop_button.hide()
        self.status.hide()
        self._close_attempt()
        self.signed_in.emit(account)

    @Slot()
    def cancel(self) -> None:
        """Stop waiting (or the dialog closes): the running step must not come back."""
        super().cancel()
        self._close_attempt()
        self._busy(False)
        self.stop_button.hide()
        self.status.hide()


def make_page(runner: TaskRunner, services: ServiceLookup, parent: QWidget,
              on_signed_in: Callable[[SignedInAccount], None], *,
              open_url: Callable[[QUrl], object] | None = None,
              sandbox: MastodonSandboxHost | None = None) -> MastodonSignInPage:
    page = MastodonSignInPage(runner, services, parent, open_url=open_url, sandbox=sandbox)
    page.signed_in.connect(on_signed_in)
    return page
