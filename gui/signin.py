"""The sign-in dialog: X with a PIN, pasted tokens, or the built-in sandbox.

Every network step runs through the task runner; errors appear inline, in the client's
own words. On success the dialog emits :attr:`SignInDialog.signed_in` with a
:class:`SignInOutcome`; storing it is the account manager's job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from avatar_studio.core.services.base import (
    BrowserAuthorization,
    SignedInAccount,
    SignIn,
    SignInKind,
    SignInRequest,
)
from avatar_studio.gui import signin_bluesky, signin_mastodon
from avatar_studio.gui.accounts import ServiceLookup
from avatar_studio.gui.errors import user_message
from avatar_studio.gui.sandboxhost import MastodonSandboxHost, SandboxHost
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


#: The service the dialog's tabs sign in to (Mastodon and Bluesky get their own tabs).
SERVICE = "x"


@dataclass(frozen=True)
class SignInOutcome:
    account: SignedInAccount
    #: Sandbox sign-ins last for this session only.
    session_only: bool = False


@dataclass(frozen=True)
class AppKeys:
    """The X app's API key and secret, as typed (never shown in a repr)."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)


def _secret_field(parent: QWidget, name: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(name)
    return edit


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setObjectName("signInError")
    label.setWordWrap(True)
    # The window's text colour, in bold after a warning sign: AA contrast in either theme
    # (a fixed red was 1.9:1 on dark).
    bold = label.font()
    bold.setBold(True)
    label.setFont(bold)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class SignInDialog(QDialog):
    """Signals:
        signed_in(object): a SignInOutcome.
    """

    signed_in = Signal(object)

    def __init__(self, runner: TaskRunner, services: ServiceLookup,
                 sandbox: SandboxHost | None, parent: QWidget | None = None, *,
                 api_base: str | None = None,
                 consumer: AppKeys | None = None,
                 open_url: Callable[[QUrl], object] | None = None,
                 mastodon_sandbox: MastodonSandboxHost | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in")
        self.setObjectName("signInDialog")
        self._runner = runner
        self._services = services
        self._sandbox = sandbox
        api_base = api_base or services(SERVICE).default_api_base
        # Looked up at call time, so QDesktopServices.setUrlHandler reaches it.
        self._open_url = open_url or QDesktopServices.openUrl
        self._auth: BrowserAuthorization | None = None
        #: The PIN flow's attempt, from "Open authorization page" to "Sign in".
        self._pin_sign_in: SignIn | None = None
        self._tasks: list[TaskHandle[Any]] = []
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._build_pin_tab(api_base, consumer), "X account")
        self.tabs.addTab(self._build_tokens_tab(consumer), "Paste tokens")
        self.tabs.addTab(self._build_sandbox_tab(), "Sandbox (no account needed)")
        self.bluesky_page = signin_bluesky.make_page(
            runner, services, self, lambda account: self._finish(SignInOutcome(account)))
        self.tabs.addTab(self.bluesky_page, "Bluesky")
        self.mastodon_page = signin_mastodon.make_page(
            runner, services, self, lambda account: self._finish(SignInOutcome(account)),
            open_url=lambda url: self._open_url(url), sandbox=mastodon_sandbox)
        self.mastodon_page.sandbox_signed_in.connect(
            lambda account: self._finish(SignInOutcome(account, session_only=True)))
        self.tabs.addTab(self.mastodon_page, "Mastodon")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        self.resize(520, 380)

    # -- tabs ---------------------------------------------------------------------
    def _build_pin_tab(self, api_base: str, consumer: AppKeys | None) -> QWidget:
        tab = QWidget(self)
        form = QFormLayout(tab)
        intro = QLabel("Enter your X app's API key and secret (from the developer portal) "
                       "once, open the authorization page, allow the app, then paste the "
                       "PIN X shows you.", tab)
        intro.setWordWrap(True)
        form.addRow(intro)
        self.api_key = QLineEdit(tab)
        self.api_key.setAccessibleName("API key")
        self.api_secret = _secret_field(tab, "API key secret")
        if consumer is not None:
            self.api_key.setText(consumer.api_key)
            self.api_secret.setText(consumer.api_secret)
        self.api_base = QLineEdit(api_base, tab)
        self.api_base.setAccessibleName("API server")
        self.api_base.setToolTip("Leave as it is for X; the sandbox CLI prints its own address")
        form.addRow("API key:", self.api_key)
        form.addRow("API key secret:", self.api_secret)
        form.addRow("API server:", self.api_base)
        self.open_page = QPushButton("Open authorization page", tab)
        self.open_page.setToolTip("Opens X in your web browser to allow this app")
        self.open_page.clicked.connect(self.on_open_page_clicked)
        form.addRow(self.open_page)
        self.auth_link = QLabel(tab)
        self.auth_link.setWordWrap(True)
        self.auth_link.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.auth_link.setOpenExternalLinks(False)
        self.auth_link.linkActivated.connect(lambda url: self._open_url(QUrl(url)))
        form.addRow(self.auth_link)
        self.pin = QLineEdit(tab)
        self.pin.setAccessibleName("PIN")
        self.pin.setPlaceholderText("the 7-digit PIN X shows after you allow the app")
        self.pin.setEnabled(False)
        form.addRow("PIN:", self.pin)
        self.pin_button = QPushButton("Sign in", tab)
        self.pin_button.setEnabled(False)
        self.pin_button.clicked.connect(self.on_pin_button_clicked)
        self.pin.returnPressed.connect(self.pin_button.click)
        form.addRow(self.pin_button)
        self.pin_error = _error_label(tab)
        form.addRow(self.pin_error)
        return tab

    def _build_tokens_tab(self, consumer: AppKeys | None) -> QWidget:
        tab = QWidget(self)
        form = QFormLayout(tab)
        intro = QLabel("Already have an access token for your account (from the developer "
                       "portal's \"Keys and tokens\")? Paste all four values.", tab)
        intro.setWordWrap(True)
        form.addRow(intro)
        self.tok_api_key = QLineEdit(tab)
        self.tok_api_key.setAccessibleName("API key")
        self.tok_api_secret = _secret_field(tab, "API key secret")
        self.tok_token = QLineEdit(tab)
        self.tok_token.setAccessibleName("Access token")
        self.tok_secret = _secret_field(tab, "Access token secret")
        if consumer is not None:
            self.tok_api_key.setText(consumer.api_key)
            self.tok_api_secret.setText(consumer.api_secret)
        form.addRow("API key:", self.tok_api_key)
        form.addRow("API key secret:", self.tok_api_secret)
        form.addRow("Access token:", self.tok_token)
        form.addRow("Access token secret:", self.tok_secret)
        self.tokens_button = QPushButton("Sign in", tab)
        self.tokens_button.clicked.connect(self.on_tokens_button_clicked)
        form.addRow(self.tokens_button)
        self.tokens_error = _error_label(tab)
        form.addRow(self.tokens_error)
        return tab

    def _build_sandbox_tab(self) -> QWidget:
        tab = QWidget(self)
        box = QVBoxLayout(tab)
        intro = QLabel("The sandbox is a faithful local stand-in for X's API that runs inside "
                       "this app: try signing in, uploading and the refresh without an "
                       "account or a network. Nothing leaves your computer.", tab)
        intro.setWordWrap(True)
        box.addWidget(intro)
        self.sandbox_button = QPushButton("Start the sandbox and sign in", tab)
        self.sandbox_button.setAccessibleName("Start the sandbox and sign in")
        self.sandbox_button.setEnabled(self._sandbox is not None)
        self.sandbox_button.clicked.connect(self.on_sandbox_button_clicked)
        box.addWidget(self.sandbox_button)
        self.sandbox_error = _error_label(tab)
        box.addWidget(self.sandbox_error)
        box.addStretch(1)
        return tab

    # -- helpers ------------------------------------------------------------------
    def _consumer(self, key: QLineEdit, secret: QLineEdit, error: QLabel) -> AppKeys | None:
        if not key.text().strip() or not secret.text().strip():
            self._show_error(error, "Enter the API key and its secret first.")
            return None
        return AppKeys(key.text().strip(), secret.text().strip())

    def _sign_in(self, kind: SignInKind, consumer: AppKeys, api_base: str) -> SignIn:
        return self._services(SERVICE).sign_in(SignInRequest(
            kind, api_base=api_base, app_key=consumer.api_key,
            app_secret=consumer.api_secret))

    def _show_error(self, label: QLabel, text: str) -> None:
        label.setText(f"⚠ {text}")
        label.show()

    def _busy(self, button: QPushButton, label: QLabel, busy: bool) -> None:
        button.setEnabled(not busy)
        if busy:
            label.hide()
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def _failed(self, button: QPushButton, label: QLabel) -> Callable[[BaseException], None]:
        def handler(exc: BaseException) -> None:
            self._busy(button, label, False)
            log.info("Sign-in step failed: %s", type(exc).__name__)
            self._show_error(label, user_message(exc))
        return handler

    def _finish(self, outcome: SignInOutcome) -> None:
        self.signed_in.emit(outcome)
        self.accept()

    def _run(self, work: Callable[[TaskContext], T], on_success: Callable[[T], None],
             on_error: Callable[[BaseException], None]) -> None:
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(self._runner.run(work, on_success=on_success, on_error=on_error))

    def done(self, result: int) -> None:
        # Closed (Cancel, Esc, or signed in) with a step still running: the dialog is
        # deleted, so the step's result must not come back to it. A cancelled task
        # delivers neither success nor error.
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.bluesky_page.cancel()
        self.mastodon_page.cancel()
        if self._pin_sign_in is not None:
            self._pin_sign_in.close()
            self._pin_sign_in = None
        super().done(result)

    # -- PIN ----------------------------------------------------------------------
    @Slot()
    def on_open_page_clicked(self) -> None:
        consumer = self._consumer(self.api_key, self.api_secret, self.pin_error)
        if consumer is None:
            return
        api_base = self.api_base.text().strip()
        if self._pin_sign_in is not None:
            self._pin_sign_in.close()
        sign_in = self._pin_sign_in = self._sign_in(SignInKind.BROWSER_CODE, consumer, api_base)
        self._busy(self.open_page, self.pin_error, True)

        def work(ctx: TaskContext) -> BrowserAuthorization:
            return sign_in.start_browser(cancel=ctx.cancel_event)

        def done(auth: BrowserAuthorization) -> None:
            self._busy(self.open_page, self.pin_error, False)
            self._auth = auth
            self.auth_link.setText(f"If no browser opened, visit <a href=\"{auth.url}\">"
                                   "the authorization page</a>.")
            self.pin.setEnabled(True)
            self.pin_button.setEnabled(True)
            self.pin.setFocus()
            self._open_url(QUrl(auth.url))

        self._run(work, done, self._failed(self.open_page, self.pin_error))

    @Slot()
    def on_pin_button_clicked(self) -> None:
        auth, sign_in = self._auth, self._pin_sign_in
        consumer = self._consumer(self.api_key, self.api_secret, self.pin_error)
        if auth is None or sign_in is None or consumer is None:
            return
        pin = self.pin.text().strip()
        if not pin:
            self._show_error(self.pin_error, "Paste the PIN X showed you.")
            return
        self._busy(self.pin_button, self.pin_error, True)

        def work(ctx: TaskContext) -> SignedInAccount:
            return sign_in.finish_browser(auth, pin, cancel=ctx.cancel_event)

        self._run(work, lambda account: self._finish(SignInOutcome(account)),
                  self._failed(self.pin_button, self.pin_error))

    # -- tokens -------------------------------------------------------------------
    @Slot()
    def on_tokens_button_clicked(self) -> None:
        consumer = self._consumer(self.tok_api_key, self.tok_api_secret, self.tokens_error)
        if consumer is None:
            return
        if not self.tok_token.text().strip() or not self.tok_secret.text().strip():
            self._show_error(self.tokens_error, "Enter the access token and its secret.")
            return
        tokens = {"access_token": self.tok_token.text().strip(),
                  "access_secret": self.tok_secret.text().strip()}
        sign_in = self._sign_in(SignInKind.TOKENS, consumer, self.api_base.text().strip())
        self._busy(self.tokens_button, self.tokens_error, True)

        def work(ctx: TaskContext) -> SignedInAccount:
            try:
                return sign_in.with_tokens(tokens, cancel=ctx.cancel_event)
            finally:
                sign_in.close()

        self._run(work, lambda account: self._finish(SignInOutcome(account)),
                  self._failed(self.tokens_button, self.tokens_error))

    # -- sandbox ------------------------------------------------------------------
    @Slot()
    def on_sandbox_button_clicked(self) -> None:
        host = self._sandbox
        if host is None:
            return
        services = self._services
        self._busy(self.sandbox_button, self.sandbox_error, True)

        def work(ctx: TaskContext) -> SignInOutcome:
            return sign_in_to_sandbox(host, services)

        self._run(work, self._finish, self._failed(self.sandbox_button, self.sandbox_error))


def sign_in_to_sandbox(host: SandboxHost, services: ServiceLookup) -> SignInOutcome:
    """Start the embedded sandbox and sign in as its demo user (runs on a worker)."""
    demo = host.ensure_started()
    sign_in = services(SERVICE).sign_in(SignInRequest(
        SignInKind.TOKENS, api_base=demo.base_url, app_key=demo.api_key,
        app_secret=demo.api_secret))
    try:
        account = sign_in.with_tokens({"access_token": demo.access_token,
                                       "access_secret": demo.access_secret})
    finally:
        sign_in.close()
    return SignInOutcome(account, session_only=True)
