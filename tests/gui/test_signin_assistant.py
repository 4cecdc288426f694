"""The sign-in assistant: pick the service, then its one page (issue 13's sign-in defects)."""

from __future__ import annotations

from avatar_studio.core.credentials import CredentialStore, KeyringUnavailable, MemoryBackend
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services import registry
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.signin import SignInDialog, has_page
from avatar_studio.gui.signin_x import XSignInPage
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication, QLineEdit

from tests.gui.helpers import fast_services, open_window


def _server(window: MainWindow) -> SandboxServer:
    host = window.context.sandbox
    assert host is not None
    host.ensure_started()
    assert host.server is not None
    return host.server


def test_first_page_lists_every_registered_service_and_the_sandbox(qtbot, window) -> None:
    dialog = window.show_sign_in()
    assert dialog.stack.currentIndex() == 0
    assert list(dialog.choices) == [*registry.keys(), "sandbox"]
    for key in list(registry.keys()):
        assert dialog.choices[key].isEnabled() == has_page(key)
    assert dialog.choices["x"].isEnabled()
    assert dialog.choices["sandbox"].isEnabled()
    # Focus on the first choice, then in the page's first field: never on a lone button.
    x_page = dialog.choose("x")
    assert isinstance(x_page, XSignInPage)
    assert dialog.focusWidget() is x_page.api_key
    dialog.back.click()
    assert dialog.stack.currentIndex() == 0


def test_one_api_server_field_under_advanced_serves_pins_and_tokens(qtbot, window) -> None:
    dialog = window.show_sign_in()
    dialog.choose("x")
    page = dialog.x_page
    servers = [e for e in page.findChildren(QLineEdit) if e.accessibleName() == "API server"]
    assert servers == [page.api_base]
    assert not page.api_base.isVisibleTo(page)  # tucked under Advanced
    page.advanced.toggle.click()
    assert page.api_base.isVisibleTo(page)


def test_enter_in_the_last_field_signs_in_and_the_keyring_is_asked_before_closing(
        qtbot) -> None:
    calls: list[str] = []

    class Counting(MemoryBackend):
        def set_password(self, service: str, username: str, password: str) -> None:
            calls.append(username)
            super().set_password(service, username, password)

    window = open_window(qtbot, store=CredentialStore(Counting(), services=fast_services))
    server = _server(window)
    demo = server.demo
    dialog = window.show_sign_in()
    dialog.choose("x", tokens=True)
    page = dialog.x_page
    page.advanced.toggle.click()
    page.api_base.setText(server.base_url)
    page.api_key.setText(demo.api_key)
    page.api_secret.setText(demo.api_secret)
    page.tok_token.setText(demo.access_token)
    page.tok_secret.setText(demo.access_secret)
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.keyClick(page.tok_secret, Qt.Key.Key_Return)
    # Closed only once the keyring had it, and the account is current.
    assert calls
    assert window.accounts.current is not None
    assert window.accounts.current.record.api_base == server.base_url


def test_this_session_only_leaves_the_keyring_alone(qtbot) -> None:
    class Refusing(MemoryBackend):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise AssertionError("the keyring was written")

    window = open_window(qtbot, store=CredentialStore(Refusing(), services=fast_services))
    server = _server(window)
    demo = server.demo
    dialog = window.show_sign_in()
    dialog.choose("x", tokens=True)
    page = dialog.x_page
    dialog.session_only.setChecked(True)
    page.api_base.setText(server.base_url)
    page.api_key.setText(demo.api_key)
    page.api_secret.setText(demo.api_secret)
    page.tok_token.setText(demo.access_token)
    page.tok_secret.setText(demo.access_secret)
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        page.submit()
    current = window.accounts.current
    assert current is not None
    assert window.accounts.is_kept_for_session(current.record)
    assert not window.accounts.is_sandbox(current.record)
    assert window.account_panel.session_note.isVisibleTo(window)


def test_the_browser_step_has_a_copy_link_button(qtbot, window) -> None:
    opened: list[str] = []
    server = _server(window)
    dialog = SignInDialog(window.context.runner, window.context.services, None, window,
                          api_base=server.base_url, open_url=lambda url: opened.append(
                              url.toString()) if isinstance(url, QUrl) else None)
    qtbot.addWidget(dialog)
    dialog.choose("x")
    page = dialog.x_page
    assert not page.copy_link.isEnabled()
    page.api_key.setText(server.demo.api_key)
    page.api_secret.setText(server.demo.api_secret)
    qtbot.keyClick(page.api_secret, Qt.Key.Key_Return)  # Enter opens the page
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    assert page.copy_link.isEnabled()
    page.copy_link.click()
    assert QApplication.clipboard().text() == opened[0]
    assert page.pin.isEnabled()


def test_a_refusing_keyring_keeps_the_dialog_open_with_the_way_on(qtbot) -> None:
    class Locked(MemoryBackend):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise KeyringUnavailable("The keyring is locked.")

    window = open_window(qtbot, store=CredentialStore(Locked(), services=fast_services))
    server = _server(window)
    dialog = window.show_sign_in()
    dialog.choose("x", tokens=True)
    page = dialog.x_page
    page.api_base.setText(server.base_url)
    for edit, value in ((page.api_key, server.demo.api_key),
                        (page.api_secret, server.demo.api_secret),
                        (page.tok_token, server.demo.access_token),
                        (page.tok_secret, server.demo.access_secret)):
        edit.setText(value)
    page.submit()
    qtbot.waitUntil(dialog.keep_button.isVisible, timeout=10_000)
    assert dialog.isVisible()
    assert window.account_panel.name.text() == "Not signed in"
    assert window.accounts.current is None
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        dialog.keep_button.click()
    assert window.accounts.current is not None
