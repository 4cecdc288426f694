"""The sign-in assistant: pick the service, then the one page it needs.

The first page lists the registry's services (and the sandbox); each service's page is
a widget of its own module, ``avatar_studio.gui.signin_<key>``, with a
``make_page(runner, services, parent, on_signed_in)`` factory. A page offers:

* ``signed_in(SignedInAccount)`` — the service accepted the sign-in;
* ``cancel()`` — the dialog closes: nothing may come back to the page;
* optionally ``submit()`` (what Enter does), ``first_field()`` (where focus starts) and
  ``current_error_label()`` (where its inline errors go).

The dialog does not close on the service's "yes": it first stores the account through
the ``store`` it was given (the keyring, off the GUI thread) — "Remember on this
computer" — or keeps it in memory — "This session only" — and says so inline when the
keyring refuses, offering to keep it for this session instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from avatar_studio.core.credentials import KeyringUnavailable
from avatar_studio.core.services import registry
from avatar_studio.core.services.base import SignedInAccount, SignInKind, SignInRequest
from avatar_studio.gui.accounts import ServiceLookup
from avatar_studio.gui.errors import user_message
from avatar_studio.gui.sandboxhost import BlueskySandboxHost, MastodonSandboxHost, SandboxHost
from avatar_studio.gui.signin_x import AppKeys, XSignInPage
from avatar_studio.gui.signinpage import error_label
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

__all__ = ["AppKeys", "SignInDialog", "SignInOutcome", "sign_in_to_sandbox"]

#: The service the sandbox demo signs in to.
SERVICE = "x"
SANDBOX = "sandbox"
#: What each choice says under its name on the first page.
BLURBS = {
    "x": "Your own X developer app's keys, then a PIN or an access token",
    "mastodon": "Your instance or your @user@instance handle; you allow the app in the "
                "browser",
    "bluesky": "Your handle and an app password",
    SANDBOX: "A local stand-in for X that runs inside the app: try everything, nothing "
             "leaves your computer",
}


@dataclass(frozen=True)
class SignInOutcome:
    account: SignedInAccount
    #: Not written to the keyring or the settings: sandbox sign-ins, or "This session
    #: only".
    session_only: bool = False
    #: The built-in sandbox's demo account (marked SANDBOX in the window).
    sandbox: bool = False
    #: The keyring refused and the user chose this session only: later sign-ins of
    #: this session skip the keyring too.
    keyring_refused: bool = False


#: store(outcome, on_done, on_error): save the account (keyring off the GUI thread).
Store = Callable[[SignInOutcome, Callable[[], None], Callable[[BaseException], None]], None]


class SignInPage(Protocol):
    """What a service's page module's ``make_page`` returns (a QWidget besides)."""

    def cancel(self) -> None: ...


def page_module(key: str) -> str:
    return f"avatar_studio.gui.signin_{key}"


def has_page(key: str) -> bool:
    try:
        return importlib.util.find_spec(page_module(key)) is not None
    except ModuleNotFoundError:
        return False


class SignInDialog(QDialog):
    """Signals:
        signed_in(object): a SignInOutcome, once stored (or handed on, without a store).
    """

    signed_in = Signal(object)

    def __init__(self, runner: TaskRunner, services: ServiceLookup,
                 sandbox: SandboxHost | None, parent: QWidget | None = None, *,
                 api_base: str | None = None,
                 consumer: AppKeys | None = None,
                 open_url: Callable[[QUrl], object] | None = None,
                 store: Store | None = None, keyring_refused: bool = False,
                 mastodon_sandbox: MastodonSandboxHost | None = None,
                 bluesky_sandbox: BlueskySandboxHost | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign In")
        self.setObjectName("signInDialog")
        self._runner = runner
        self._services = services
        self._sandbox = sandbox
        self._store = store
        self._x_options: dict[str, Any] = {"api_base": api_base or "", "consumer": consumer,
                                           "open_url": open_url}
        self._mastodon_sandbox = mastodon_sandbox
        self._bluesky_sandbox = bluesky_sandbox
        self._tasks: list[TaskHandle[Any]] = []
        self.pages: dict[str, QWidget] = {}
        self._pending: SignInOutcome | None = None

        self.title = QLabel("Where do you want to sign in?", self)
        big = self.title.font()
        big.setPointSizeF(big.pointSizeF() * 1.25)
        big.setBold(True)
        self.title.setFont(big)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self._build_choices())

        # Remember on this computer (keyring) or this session only (memory).
        self.remember_row = QWidget(self)
        remember = QHBoxLayout(self.remember_row)
        remember.setContentsMargins(0, 0, 0, 0)
        self.remember = QRadioButton("&Remember on this computer", self.remember_row)
        self.remember.setToolTip("The secrets go to your system keyring, never to a file")
        self.session_only = QRadioButton("This session &only", self.remember_row)
        self.session_only.setToolTip("Kept in memory and forgotten when you quit")
        self.remember.setChecked(not keyring_refused)
        self.session_only.setChecked(keyring_refused)
        if keyring_refused:
            self.remember.setEnabled(False)
            self.remember.setToolTip("The keyring refused earlier in this session")
        group = QButtonGroup(self.remember_row)
        group.addButton(self.remember)
        group.addButton(self.session_only)
        remember.addWidget(self.remember)
        remember.addWidget(self.session_only)
        remember.addStretch(1)
        self.remember_row.hide()

        # What the keyring said, with the ways on.
        self.store_row = QWidget(self)
        store_layout = QHBoxLayout(self.store_row)
        store_layout.setContentsMargins(0, 0, 0, 0)
        self.store_message = error_label(self.store_row)
        self.store_message.show()
        self.keep_button = QPushButton("&Keep for This Session Only", self.store_row)
        self.keep_button.clicked.connect(self.on_keep_clicked)
        self.store_retry = QPushButton("&Try Again", self.store_row)
        self.store_retry.setToolTip("Ask the keyring again (after unlocking it)")
        self.store_retry.clicked.connect(self.on_store_retry_clicked)
        store_layout.addWidget(self.store_message, 1)
        store_layout.addWidget(self.keep_button)
        store_layout.addWidget(self.store_retry)
        self.store_row.hide()

        self.back = QPushButton("&Back", self)
        self.back.setAutoDefault(False)
        self.back.clicked.connect(self.show_choices)
        self.back.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.store_row)
        layout.addWidget(self.remember_row)
        layout.addLayout(buttons)
        self.resize(560, 440)

    # -- the first page -----------------------------------------------------------------
    def _build_choices(self) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        self.choices: dict[str, QPushButton] = {}
        for key in (*registry.keys(), SANDBOX):
            name = self._display_name(key)
            if name is None:
                continue
            button = QPushButton(f"{name}\n{BLURBS.get(key, '')}", page)
            button.setObjectName(f"choose-{key}")
            button.setAccessibleName(f"Sign in to {name}")
            button.setMinimumHeight(52)
            button.setAutoDefault(False)
            available = (self._sandbox is not None) if key == SANDBOX else has_page(key)
            button.setEnabled(available)
            if not available:
                button.setToolTip("Not available in this build")
            button.clicked.connect(lambda _=False, k=key: self.choose(k))
            box.addWidget(button)
            self.choices[key] = button
        box.addStretch(1)
        return page

    def _display_name(self, key: str) -> str | None:
        if key == SANDBOX:
            return "Sandbox (no account needed)"
        try:
            return str(self._services(key).display_name)
        except KeyError:
            return None  # not a service this app (or this test) knows

    @Slot()
    def show_choices(self) -> None:
        self.stack.setCurrentIndex(0)
        self.title.setText("Where do you want to sign in?")
        self.back.hide()
        self.remember_row.hide()
        self.store_row.hide()
        first = next((b for b in self.choices.values() if b.isEnabled()), None)
        if first is not None:
            first.setFocus()

    def choose(self, key: str, *, tokens: bool = False) -> QWidget:
        """Show ``key``'s page (made on first use) and put the focus in its first field."""
        page = self.pages.get(key) or self._make_page(key)
        self.stack.setCurrentWidget(page)
        name = self._display_name(key) or key
        self.title.setText(f"Sign in to {name}" if key != SANDBOX else name)
        self.back.show()
        self.remember_row.setVisible(key != SANDBOX)
        self.store_row.hide()
        if tokens and isinstance(page, XSignInPage):
            page.mode_tokens.setChecked(True)
        first = getattr(page, "first_field", None)
        target = first() if callable(first) else page.findChild(QLineEdit)
        if isinstance(target, QWidget):
            target.setFocus()
        return page

    def _make_page(self, key: str) -> QWidget:
        if key == SANDBOX:
            page = self._build_sandbox_page()
        else:
            module = importlib.import_module(page_module(key))
            options: dict[str, Any] = dict(self._x_options) if key == "x" else {}
            if key == "mastodon":
                # The browser step: the same opener as X's (tests pass their own).
                options["open_url"] = self._open
                options["sandbox"] = self._mastodon_sandbox
            if key == "bluesky":
                options["sandbox"] = self._bluesky_sandbox

            page = module.make_page(self._runner, self._services, self.stack,
                                    self._on_page_signed_in, **options)
        sandbox_signed_in = getattr(page, "sandbox_signed_in", None)
        if sandbox_signed_in is not None:
            # A service's own local sandbox: this session only, marked SANDBOX.
            sandbox_signed_in.connect(lambda account: self._finish(
                SignInOutcome(account, session_only=True, sandbox=True)))
        self.pages[key] = page
        self.stack.addWidget(page)
        return page

    def page(self, key: str) -> QWidget:
        return self.pages.get(key) or self._make_page(key)

    # Pages by name, for the window and the tests.
    @property
    def x_page(self) -> XSignInPage:
        page = self.page("x")
        assert isinstance(page, XSignInPage)
        return page

    @property
    def bluesky_page(self) -> Any:
        return self.page("bluesky")

    @property
    def mastodon_page(self) -> Any:
        return self.page("mastodon")

    def _open(self, url: QUrl) -> object:
        opener = self._x_options.get("open_url") or QDesktopServices.openUrl
        return opener(url)

    def current_error_label(self) -> QLabel | None:
        page = self.stack.currentWidget()
        get = getattr(page, "current_error_label", None)
        if callable(get):
            label = get()
            return label if isinstance(label, QLabel) else None
        label = getattr(page, "error", None)
        return label if isinstance(label, QLabel) else None

    # -- the sandbox --------------------------------------------------------------------
    def _build_sandbox_page(self) -> QWidget:
        tab = QWidget(self.stack)
        box = QVBoxLayout(tab)
        intro = QLabel("The sandbox is a faithful local stand-in for X's API that runs inside "
                       "this app: try signing in, uploading and the refresh without an "
                       "account or a network. Nothing leaves your computer, and the sign-in "
                       "lasts for this session only.", tab)
        intro.setWordWrap(True)
        box.addWidget(intro)
        self.sandbox_button = QPushButton("&Start the Sandbox and Sign In", tab)
        self.sandbox_button.setAccessibleName("Start the sandbox and sign in")
        self.sandbox_button.setEnabled(self._sandbox is not None)
        self.sandbox_button.clicked.connect(self.on_sandbox_button_clicked)
        box.addWidget(self.sandbox_button)
        self.sandbox_error = error_label(tab)
        box.addWidget(self.sandbox_error)
        box.addStretch(1)
        tab.first_field = lambda: self.sandbox_button  # type: ignore[attr-defined]
        return tab

    @Slot()
    def on_sandbox_button_clicked(self) -> None:
        host = self._sandbox
        if host is None:
            return
        services = self._services
        self.sandbox_button.setEnabled(False)
        self.sandbox_error.hide()

        def work(ctx: TaskContext) -> SignInOutcome:
            return sign_in_to_sandbox(host, services)

        def failed(exc: BaseException) -> None:
            self.sandbox_button.setEnabled(True)
            self.sandbox_error.setText(f"⚠ {user_message(exc)}")
            self.sandbox_error.show()

        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(self._runner.run(work, on_success=self._finish, on_error=failed))

    # -- storing, then closing ------------------------------------------------------------
    def _on_page_signed_in(self, account: SignedInAccount) -> None:
        self._finish(SignInOutcome(account, session_only=self.session_only.isChecked()))

    def _finish(self, outcome: SignInOutcome) -> None:
        if self._store is None:
            self.signed_in.emit(outcome)
            self.accept()
            return
        self._pending = outcome
        self.store_row.show()
        self.keep_button.hide()
        self.store_retry.hide()
        self.store_message.setText("Saving the sign-in…" if not outcome.session_only
                                   else "Signing in for this session…")
        self.setEnabled(False)  # no second sign-in while the keyring answers
        self._store(outcome, self._stored, self._store_failed)

    def _stored(self) -> None:
        self.setEnabled(True)
        if self._pending is not None:
            self.signed_in.emit(self._pending)
        self._pending = None
        self.accept()

    def _store_failed(self, exc: BaseException) -> None:
        self.setEnabled(True)
        self.store_message.setText(f"⚠ {user_message(exc)}")
        keyring = isinstance(exc, KeyringUnavailable)
        self.keep_button.setVisible(keyring)
        self.store_retry.setVisible(True)
        (self.keep_button if keyring else self.store_retry).setFocus()

    @Slot()
    def on_keep_clicked(self) -> None:
        if self._pending is not None:
            self._finish(SignInOutcome(self._pending.account, session_only=True,
                                       sandbox=self._pending.sandbox, keyring_refused=True))

    @Slot()
    def on_store_retry_clicked(self) -> None:
        if self._pending is not None:
            self._finish(self._pending)

    def done(self, result: int) -> None:
        # Closed (Cancel, Esc, or signed in) with a step still running: the dialog is
        # deleted, so the step's result must not come back to it. A cancelled task
        # delivers neither success nor error.
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        for page in self.pages.values():
            cancel = getattr(page, "cancel", None)
            if callable(cancel):
                cancel()
        super().done(result)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.stack.currentIndex() == 0:
            self.show_choices()


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
    return SignInOutcome(account, session_only=True, sandbox=True)
