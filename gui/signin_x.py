"""The X sign-in page: the app's keys, then the PIN from the browser, or pasted tokens.

One page of the sign-in assistant (gui/signin.py), built like every service's page:
``make_page(runner, services, parent, on_signed_in)`` gives a widget with a
``signed_in(SignedInAccount)`` signal, ``submit()`` (what Enter does), ``first_field()``
and ``cancel()``. It reaches X only through the service interface. One API server field,
under Advanced, serves both ways in.
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
from avatar_studio.gui.accounts import ServiceLookup
from avatar_studio.gui.errors import split_details, user_message
from avatar_studio.gui.icons import themed_icon
from avatar_studio.gui.signinpage import error_label
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
SERVICE = "x"


@dataclass(frozen=True)
class AppKeys:
    """The X app's API key and secret, as typed (never shown in a repr)."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)


def secret_field(parent: QWidget, name: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(name)
    return edit


class Advanced(QWidget):
    """A "▸ Advanced" toggle and what it hides (the API server field)."""

    def __init__(self, parent: QWidget, content: QWidget) -> None:
        super().__init__(parent)
        self.toggle = QToolButton(self)
        self.toggle.setText("&Advanced")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.content = content
        content.setParent(self)
        content.hide()
        self.toggle.toggled.connect(self._on_toggled)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(content)

    @Slot(bool)
    def _on_toggled(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.content.setVisible(on)


class XSignInPage(QWidget):
    """Signals:
        signed_in(object): a SignedInAccount.
    """

    signed_in = Signal(object)

    def __init__(self, runner: TaskRunner, services: ServiceLookup,
                 parent: QWidget | None = None, *, api_base: str = "",
                 consumer: AppKeys | None = None,
                 open_url: Callable[[QUrl], object] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("xSignInPage")
        self._runner = runner
        self._services = services
        # Looked up at call time, so QDesktopServices.setUrlHandler reaches it.
        self._open_url = open_url or QDesktopServices.openUrl
        self._auth: BrowserAuthorization | None = None
        #: The PIN flow's attempt, from "Open authorization page" to "Sign in".
        self._pin_sign_in: SignIn | None = None
        self._tasks: list[TaskHandle[Any]] = []
        layout = QVBoxLayout(self)
        intro = QLabel("X needs your own developer app: enter its API key and secret (from "
                       "the X developer portal), then either allow the app in your browser "
                       "and paste the PIN, or paste an access token you already have.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        keys = QFormLayout()
        self.api_key = QLineEdit(self)
        self.api_key.setAccessibleName("API key")
        self.api_secret = secret_field(self, "API key secret")
        if consumer is not None:
            self.api_key.setText(consumer.api_key)
            self.api_secret.setText(consumer.api_secret)
        keys.addRow("API &key:", self.api_key)
        keys.addRow("API key &secret:", self.api_secret)
        layout.addLayout(keys)

        modes = QHBoxLayout()
        self.mode_pin = QRadioButton("Allow in the &browser, then paste the PIN", self)
        self.mode_tokens = QRadioButton("I have an access &token", self)
        self.mode_pin.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.mode_pin)
        group.addButton(self.mode_tokens)
        modes.addWidget(self.mode_pin)
        modes.addWidget(self.mode_tokens)
        modes.addStretch(1)
        layout.addLayout(modes)

        self.pin_box = QWidget(self)
        pin_form = QFormLayout(self.pin_box)
        pin_form.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.open_page = QPushButton("&Open Authorization Page", self.pin_box)
        self.open_page.setToolTip("Opens X in your web browser to allow this app")
        self.open_page.clicked.connect(self.on_open_page_clicked)
        self.copy_link = QPushButton("&Copy Link", self.pin_box)
        self.copy_link.setToolTip("Copy the authorization link, to open it in another "
                                  "browser")
        self.copy_link.setIcon(themed_icon("edit-copy"))
        self.copy_link.setEnabled(False)
        self.copy_link.clicked.connect(self.on_copy_link_clicked)
        row.addWidget(self.open_page)
        row.addWidget(self.copy_link)
        row.addStretch(1)
        pin_form.addRow(row)
        self.auth_link = QLabel(self.pin_box)
        self.auth_link.setWordWrap(True)
        self.auth_link.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.auth_link.setOpenExternalLinks(False)
        self.auth_link.linkActivated.connect(lambda url: self._open_url(QUrl(url)))
        pin_form.addRow(self.auth_link)
        self.pin = QLineEdit(self.pin_box)
        self.pin.setAccessibleName("PIN")
        self.pin.setPlaceholderText("the 7-digit PIN X shows after you allow the app")
        self.pin.setEnabled(False)
        pin_form.addRow("&PIN:", self.pin)
        self.pin_button = QPushButton("Sign In", self.pin_box)
        self.pin_button.setEnabled(False)
        self.pin_button.clicked.connect(self.on_pin_button_clicked)
        pin_form.addRow(self.pin_button)
        self.pin_error = error_label(self.pin_box)
        pin_form.addRow(self.pin_error)
        layout.addWidget(self.pin_box)

        self.tokens_box = QWidget(self)
        tok_form = QFormLayout(self.tokens_box)
        tok_form.setContentsMargins(0, 0, 0, 0)
        self.tok_token = QLineEdit(self.tokens_box)
        self.tok_token.setAccessibleName("Access token")
        self.tok_secret = secret_field(self.tokens_box, "Access token secret")
        tok_form.addRow("Access to&ken:", self.tok_token)
        tok_form.addRow("Access token s&ecret:", self.tok_secret)
        self.tokens_button = QPushButton("Sign In", self.tokens_box)
        self.tokens_button.clicked.connect(self.on_tokens_button_clicked)
        tok_form.addRow(self.tokens_button)
        self.tokens_error = error_label(self.tokens_box)
        tok_form.addRow(self.tokens_error)
        layout.addWidget(self.tokens_box)
        self.tokens_box.hide()
        self.mode_tokens.toggled.connect(self._on_mode)

        server_box = QWidget()
        server_form = QFormLayout(server_box)
        server_form.setContentsMargins(0, 0, 0, 0)
        self.api_base = QLineEdit(api_base or services(SERVICE).default_api_base, server_box)
        self.api_base.setAccessibleName("API server")
        self.api_base.setToolTip("Leave as it is for X; the sandbox prints its own address")
        server_form.addRow("API ser&ver:", self.api_base)
        self.advanced = Advanced(self, server_box)
        layout.addWidget(self.advanced)
        layout.addStretch(1)
        # Enter in any field does the next step of the way chosen.
        for edit in (self.api_key, self.api_secret, self.pin, self.tok_token, self.tok_secret,
                     self.api_base):
            edit.returnPressed.connect(self.submit)

    # -- the page interface -----------------------------------------------------------
    def first_field(self) -> QWidget:
        return self.api_key if not self.api_key.text() else (
            self.tok_token if self.mode_tokens.isChecked() else self.open_page)

    @Slot()
    def submit(self) -> None:
        """Enter: the step the user is on (authorization page, PIN or tokens)."""
        if self.mode_tokens.isChecked():
            self.tokens_button.click()
        elif self.pin_button.isEnabled() and self.pin.text().strip():
            self.pin_button.click()
        elif self.open_page.isEnabled():
            self.open_page.click()

    def current_error_label(self) -> QLabel:
        return self.tokens_error if self.mode_tokens.isChecked() else self.pin_error

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        if self._pin_sign_in is not None:
            self._pin_sign_in.close()
            self._pin_sign_in = None

    # -- helpers ----------------------------------------------------------------------
    @Slot(bool)
    def _on_mode(self, tokens: bool) -> None:
        self.tokens_box.setVisible(tokens)
        self.pin_box.setVisible(not tokens)

    def _consumer(self, error: QLabel) -> AppKeys | None:
        if not self.api_key.text().strip() or not self.api_secret.text().strip():
            self.show_error(error, "Enter the API key and its secret first.")
            return None
        return AppKeys(self.api_key.text().strip(), self.api_secret.text().strip())

    def _sign_in(self, kind: SignInKind, consumer: AppKeys) -> SignIn:
        return self._services(SERVICE).sign_in(SignInRequest(
            kind, api_base=self.api_base.text().strip(), app_key=consumer.api_key,
            app_secret=consumer.api_secret))

    def show_error(self, label: QLabel, text: str) -> None:
        # Plain words in front; the service's status and codes in the tooltip.
        plain, details = split_details(text)
        label.setText(f"⚠ {plain}")
        label.setToolTip(details)
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
            self.show_error(label, user_message(exc))
        return handler

    def _run(self, work: Callable[[TaskContext], T], on_success: Callable[[T], None],
             on_error: Callable[[BaseException], None]) -> None:
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(self._runner.run(work, on_success=on_success, on_error=on_error))

    def _signed_in(self, button: QPushButton, label: QLabel
                   ) -> Callable[[SignedInAccount], None]:
        def done(account: SignedInAccount) -> None:
            self._busy(button, label, False)
            self.signed_in.emit(account)
        return done

    # -- PIN ----------------------------------------------------------------------------
    @Slot()
    def on_open_page_clicked(self) -> None:
        consumer = self._consumer(self.pin_error)
        if consumer is None:
            return
        if self._pin_sign_in is not None:
            self._pin_sign_in.close()
        sign_in = self._pin_sign_in = self._sign_in(SignInKind.BROWSER_CODE, consumer)
        self._busy(self.open_page, self.pin_error, True)

        def work(ctx: TaskContext) -> BrowserAuthorization:
            return sign_in.start_browser(cancel=ctx.cancel_event)

        def done(auth: BrowserAuthorization) -> None:
            self._busy(self.open_page, self.pin_error, False)
            self._auth = auth
            self.auth_link.setText(f"If no browser opened, visit <a href=\"{auth.url}\">"
                                   "the authorization page</a> or copy its link.")
            self.copy_link.setEnabled(True)
            self.pin.setEnabled(True)
            self.pin_button.setEnabled(True)
            self.pin.setFocus()
            self._open_url(QUrl(auth.url))

        self._run(work, done, self._failed(self.open_page, self.pin_error))

    @Slot()
    def on_copy_link_clicked(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if self._auth is not None and clipboard is not None:
            clipboard.setText(self._auth.url)
            self.copy_link.setText("Link &Copied")

    @Slot()
    def on_pin_button_clicked(self) -> None:
        auth, sign_in = self._auth, self._pin_sign_in
        consumer = self._consumer(self.pin_error)
        if auth is None or sign_in is None or consumer is None:
            return
        pin = self.pin.text().strip()
        if not pin:
            self.show_error(self.pin_error, "Paste the PIN X showed you.")
            return
        self._busy(self.pin_button, self.pin_error, True)

        def work(ctx: TaskContext) -> SignedInAccount:
            return sign_in.finish_browser(auth, pin, cancel=ctx.cancel_event)

        self._run(work, self._signed_in(self.pin_button, self.pin_error),
                  self._failed(self.pin_button, self.pin_error))

    # -- tokens -------------------------------------------------------------------------
    @Slot()
    def on_tokens_button_clicked(self) -> None:
        consumer = self._consumer(self.tokens_error)
        if consumer is None:
            return
        if not self.tok_token.text().strip() or not self.tok_secret.text().strip():
            self.show_error(self.tokens_error, "Enter the access token and its secret.")
            return
        tokens = {"access_token": self.tok_token.text().strip(),
                  "access_secret": self.tok_secret.text().strip()}
        sign_in = self._sign_in(SignInKind.TOKENS, consumer)
        self._busy(self.tokens_button, self.tokens_error, True)

        def work(ctx: TaskContext) -> SignedInAccount:
            try:
                return sign_in.with_tokens(tokens, cancel=ctx.cancel_event)
            finally:
                sign_in.close()

        self._run(work, self._signed_in(self.tokens_button, self.tokens_error),
                  self._failed(self.tokens_button, self.tokens_error))


def make_page(runner: TaskRunner, services: ServiceLookup, parent: QWidget,
              on_signed_in: Callable[[SignedInAccount], None], **options: Any
              ) -> XSignInPage:
    page = XSignInPage(runner, services, parent, **options)
    page.signed_in.connect(on_signed_in)
    return page
