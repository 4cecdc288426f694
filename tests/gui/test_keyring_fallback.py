"""A missing, locked or failing keyring: named in the banner, "Keep for this session only".

The keyrings here are real ``keyring`` backends that fail the way real ones do (keyring's
own "fail" backend, and a backend raising keyring's locked / no-backend errors), passed in
through the app context. Sign-in itself is real, against the in-process sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keyring.backend
import keyring.errors
import pytest
from avatar_studio.core.credentials import CredentialStore, MemoryBackend, NotViable
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.settings import (
    AccountRecord,
    Settings,
    settings_path,
    update_settings,
)
from avatar_studio.gui.accounts import Current
from avatar_studio.gui.errors import Action
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.signin import SignInDialog
from keyring.backends import fail

from tests.gui.helpers import make_context, open_window, save_artifact, show_window


class FailingKeyring(keyring.backend.KeyringBackend):
    """Every call raises ``error``, as a locked or absent Secret Service does."""

    priority = NotViable()  # only used when passed in, never picked by keyring itself

    def __init__(self, error: type[Exception]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.error = error
        self.calls = 0

    def _fail(self) -> None:
        self.calls += 1
        raise self.error("the keyring said no")

    def get_password(self, service: str, username: str) -> str | None:
        self._fail()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._fail()

    def delete_password(self, service: str, username: str) -> None:
        self._fail()


def _fail_backend() -> keyring.backend.KeyringBackend:
    """keyring's own backend for "no keyring found"."""
    backend: keyring.backend.KeyringBackend = fail.Keyring()  # type: ignore[no-untyped-call]
    return backend


KEYRINGS: dict[str, tuple[Callable[[], keyring.backend.KeyringBackend], str]] = {
    "locked": (lambda: FailingKeyring(keyring.errors.KeyringLocked), "the keyring is locked"),
    "no backend": (lambda: FailingKeyring(keyring.errors.NoKeyringError),
                   "no keyring service is running"),
    "fail backend": (_fail_backend, "no keyring service is running"),
}


def _current(window: MainWindow) -> Current | None:
    return window.accounts.current


def _server(window: MainWindow) -> SandboxServer:
    host = window.context.sandbox
    assert host is not None
    host.ensure_started()
    assert host.server is not None
    return host.server


def _paste_tokens(dialog: SignInDialog, server: SandboxServer) -> None:
    demo = server.demo
    dialog.choose("x", tokens=True)
    dialog.x_page.api_base.setText(server.base_url)
    dialog.x_page.api_key.setText(demo.api_key)
    dialog.x_page.api_secret.setText(demo.api_secret)
    dialog.x_page.tok_token.setText(demo.access_token)
    dialog.x_page.tok_secret.setText(demo.access_secret)
    dialog.x_page.tokens_button.click()


def _no_secret_on_disk(server: SandboxServer, dirs: dict[str, Path]) -> None:
    demo = server.demo
    secrets = [demo.api_secret, demo.access_token, demo.access_secret]
    files = [p for d in (dirs["config"], dirs["state"]) if d.exists()
             for p in d.rglob("*") if p.is_file()]
    assert settings_path() in files
    for path in files:
        text = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in text, f"a secret reached {path}"


@pytest.mark.parametrize("kind", list(KEYRINGS))
def test_failing_keyring_at_sign_in_offers_this_session_only(
        qtbot, kind: str, isolated_dirs: dict[str, Path]) -> None:
    make_backend, problem = KEYRINGS[kind]
    backend = make_backend()
    window = open_window(qtbot, store=CredentialStore(backend))
    server = _server(window)
    banner = window.banner

    dialog = window.show_sign_in()
    dialog.choose("x")
    # The dialog stays open until the keyring has the secret, and says what went wrong.
    _paste_tokens(dialog, server)
    qtbot.waitUntil(dialog.keep_button.isVisible, timeout=10_000)
    message = dialog.store_message.text()
    assert problem in message
    assert dialog.isVisible()
    assert dialog.store_retry.isVisible()
    assert not banner.isVisible()
    assert window.accounts.current is None  # not signed in behind the user's back
    save_artifact(dialog, f"40-keyring-{kind.replace(' ', '-')}")

    if kind == "locked":
        # Still locked: Try Again asks the keyring again and says the same thing.
        dialog.store_retry.click()
        qtbot.waitUntil(dialog.keep_button.isVisible, timeout=10_000)
        assert problem in dialog.store_message.text()

    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        dialog.keep_button.click()
    assert not banner.isVisible()
    current = _current(window)
    assert current is not None
    assert current.secret["access_secret"] == server.demo.access_secret
    panel = window.account_panel
    assert panel.handle.text() == f"@{server.demo.screen_name}"
    assert panel.session_note.isVisible()
    assert "this session only" in panel.session_note.text()
    assert "(this session only)" in panel.switcher.itemText(
        panel.switcher.findData(current.record.key))
    qtbot.waitUntil(lambda: not window.accounts.avatar.isNull(), timeout=10_000)
    save_artifact(window, f"41-session-only-{kind.replace(' ', '-')}")

    # Signing in again this session goes to memory without asking again.
    calls = getattr(backend, "calls", 0)
    again = window.show_sign_in()
    again.choose("x")
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        _paste_tokens(again, server)
    assert not banner.isVisible()
    assert getattr(backend, "calls", 0) == calls
    assert len(window.accounts.records()) == 1

    window.remember()  # what closing writes: still no secret, and no session account
    _no_secret_on_disk(server, isolated_dirs)
    assert current.record.key not in settings_path().read_text()


def test_unreadable_keyring_at_start_offers_signing_in_for_this_session(
        qtbot, isolated_dirs: dict[str, Path]) -> None:
    saved = AccountRecord(service="x", api_base="https://api.x.com", account_id="42",
                          handle="@someone", display_name="Someone")

    def remember_saved(settings: Settings) -> None:
        settings.upsert_account(saved)
        settings.last_account = saved.key

    update_settings(remember_saved)
    backend = FailingKeyring(keyring.errors.KeyringLocked)
    window = show_window(qtbot, make_context(store=CredentialStore(backend)))
    # The window asks for the last account's secret as it opens.
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    report = window.banner.report
    assert report is not None
    assert "the keyring is locked" in report.message
    assert report.action is Action.KEEP_FOR_SESSION
    assert window.accounts.current is None
    server = _server(window)
    with qtbot.waitSignal(window.sign_in_dialog_opened, timeout=10_000) as opened:
        window.banner.action_button.click()
    dialog = opened.args[0] if opened.args else None
    assert isinstance(dialog, SignInDialog)
    calls = backend.calls
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        _paste_tokens(dialog, server)
    assert backend.calls == calls  # no second question: straight to memory
    current = _current(window)
    assert current is not None
    assert window.accounts.is_kept_for_session(current.record)
    assert window.account_panel.session_note.isVisible()
    # The saved account is still listed (its secret may come back with the keyring).
    keys = [r.key for r in window.accounts.records()]
    assert keys == [saved.key, current.record.key]
    window.remember()
    _no_secret_on_disk(server, isolated_dirs)


class LocksBeforeSignOut(MemoryBackend):
    """Works for signing in, then is locked by the time the user signs out."""

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("the keyring said no")


def test_sign_out_with_a_locked_keyring_still_signs_out_and_names_the_leftover(
        qtbot, isolated_dirs: dict[str, Path]) -> None:
    backend = LocksBeforeSignOut()
    window = open_window(qtbot, store=CredentialStore(backend))
    server = _server(window)
    dialog = window.show_sign_in()
    dialog.choose("x")
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        _paste_tokens(dialog, server)
    current = _current(window)
    assert current is not None
    assert [r.key for r in window.accounts.records()] == [current.record.key]
    window.account_panel.sign_out.click()
    box = window.account_panel.sign_out_box
    assert box is not None
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        next(b for b in box.buttons() if b.text() == "Sign Out").click()
    # Signed out here: nothing current, nothing listed, nothing in the settings file...
    assert window.accounts.current is None
    assert window.accounts.records() == []
    assert current.record.handle not in settings_path().read_text(encoding="utf-8")
    # ...and the banner says the secret may be left in the keyring, with no useless Retry.
    qtbot.waitUntil(window.banner.isVisible, timeout=5_000)
    report = window.banner.report
    assert report is not None
    assert "may still be in the keyring" in report.message
    assert report.action is None
