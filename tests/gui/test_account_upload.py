"""Sign-in, upload and refresh against the real in-process sandbox, and every failure."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import shiboken6
from avatar_studio.core.credentials import CredentialStore, SecretsMissing
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services.base import SignInKind, SignInRequest
from avatar_studio.core.services.x.service import XService
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.signin import SignInDialog
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from tests.gui.helpers import (
    BR,
    FAST_POLL,
    FAST_X,
    NO_RETRY,
    TL,
    make_context,
    near,
    open_window,
    pixel,
    quadrants,
    save_artifact,
    show_window,
)
from tests.secret_service import in_session


def server_of(window: MainWindow) -> SandboxServer:
    host = window.context.sandbox
    assert host is not None
    host.ensure_started()
    assert host.server is not None
    return host.server


def signed_in_with_image(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.start_sandbox_demo()
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(quadrants(tmp_path / "me.png"))
    qtbot.waitUntil(lambda: window.accounts.current is not None
                    and window.accounts.current.identity is not None
                    and not window.accounts.avatar.isNull(), timeout=10_000)
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    assert window.upload_panel.upload.isEnabled()


class _Browser(QObject):
    """Stands in for the system browser: records what the app asked it to open."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


@pytest.fixture
def browser() -> Iterator[_Browser]:
    b = _Browser()
    QDesktopServices.setUrlHandler("http", b, "open")  # type: ignore[arg-type]  # stub says bytes; runtime wants str
    yield b
    QDesktopServices.unsetUrlHandler("http")


def _pin_from_authorize_page(url: str) -> str:
    """What a user does in the browser: open the page, press "Authorize app", read the PIN."""
    with requests.Session() as web:
        page = web.get(url, timeout=10)
        page.raise_for_status()
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                 page.text))
        action = re.search(r'<form action="([^"]+)"', page.text)
        assert action is not None
        base = url.split("/oauth/")[0]
        done = web.post(base + action.group(1), data={**fields, "allow": "Authorize app"},
                        timeout=10)
        done.raise_for_status()
    match = re.search(r'id="oauth_pin".*?<code>(\d+)</code>', done.text, re.S)
    assert match is not None, done.text
    return match.group(1)


@in_session
def test_pin_sign_in_through_the_browser(qtbot, browser: _Browser) -> None:
    # The real Secret Service (tests/harness/with-keyring.sh) holds the secrets here.
    window = open_window(qtbot, store=CredentialStore())
    server = server_of(window)
    demo = server.demo
    dialog = window.show_sign_in()
    dialog.choose("x")
    assert isinstance(dialog, SignInDialog)
    dialog.x_page.api_key.setText("")
    dialog.x_page.open_page.click()
    assert "Enter the API key" in dialog.x_page.pin_error.text()  # inline, nothing sent
    dialog.x_page.api_key.setText(demo.api_key)
    dialog.x_page.api_secret.setText(demo.api_secret)
    dialog.x_page.api_base.setText(server.base_url)
    dialog.x_page.open_page.click()
    qtbot.waitUntil(lambda: bool(browser.opened), timeout=10_000)
    assert browser.opened[0].startswith(f"{server.base_url}/oauth/authorize?oauth_token=")
    assert dialog.x_page.pin.isEnabled()

    dialog.x_page.pin.setText("0000000")  # a wrong PIN first: the client's message, inline
    dialog.x_page.pin_button.click()
    qtbot.waitUntil(lambda: dialog.x_page.pin_error.isVisible(), timeout=10_000)
    assert dialog.x_page.pin_error.text()
    assert dialog.isVisible()
    save_artifact(dialog, "20-sign-in-wrong-pin")

    dialog.x_page.open_page.click()  # the wrong PIN used up the request token: start again
    qtbot.waitUntil(lambda: len(browser.opened) == 2, timeout=10_000)
    dialog.x_page.pin.setText(_pin_from_authorize_page(browser.opened[1]))
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        dialog.x_page.pin_button.click()
    qtbot.waitUntil(lambda: not window.accounts.avatar.isNull(), timeout=10_000)
    assert window.account_panel.handle.text() == f"@{demo.screen_name}"
    assert window.account_panel.name.text()
    record = window.accounts.current.record if window.accounts.current else None
    assert record is not None
    assert record.api_base == server.base_url
    # Saved for next time: the list in settings, the secret in the keyring.
    from avatar_studio.core.settings import load_settings
    assert window.context.settings_writer.flush(timeout=10)  # written off the GUI thread
    saved = load_settings()
    assert saved.last_account == record.key
    assert [a.key for a in saved.accounts] == [record.key]
    secret = CredentialStore().load(record)
    assert secret["access_token"]
    assert secret["api_key"] == demo.api_key
    assert secret.service == "x"
    assert [r.key for r in window.accounts.records()] == [record.key]  # listed once
    window.accounts.sign_out()
    qtbot.waitUntil(lambda: window.accounts.current is None, timeout=10_000)
    assert window.account_panel.name.text() == "Not signed in"
    # Signing out deletes the secret from the keyring, not just the entry.
    with pytest.raises(SecretsMissing):
        CredentialStore().load(record)
    assert window.accounts.records() == []


def test_sandbox_in_one_click(qtbot, window: MainWindow) -> None:
    dialog = window.show_sign_in()
    dialog.choose("x")
    dialog.choose("sandbox")
    save_artifact(dialog, "21-sign-in-sandbox-tab")
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        dialog.sandbox_button.click()
    assert window.accounts.current is not None
    assert window.account_panel.handle.text().startswith("@")
    assert "(sandbox)" in window.account_panel.switcher.itemText(0)


def test_closing_the_dialog_mid_step_drops_the_step(qtbot, window: MainWindow) -> None:
    dialog = window.show_sign_in()
    dialog.choose("sandbox")
    dialog.sandbox_button.click()
    assert window.context.runner.busy
    dialog.reject()
    # The dialog deletes itself on close; its step's result must not reach it.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(dialog)
    qtbot.waitUntil(lambda: not window.context.runner.busy, timeout=10_000)
    assert window.accounts.current is None
    assert window.accounts.records() == []


def test_upload_progress_processing_and_refreshed_avatar(qtbot, window: MainWindow,
                                                         tmp_path: Path) -> None:
    signed_in_with_image(qtbot, window, tmp_path)
    before = window.accounts.avatar.copy()
    phases: list[str] = []
    sent: list[tuple[int, int]] = []
    attempts: list[int] = []
    window.upload.phase_changed.connect(phases.append)
    window.upload.bytes_sent.connect(lambda a, b: sent.append((a, b)))
    window.upload.attempt.connect(attempts.append)
    exact = window.previews.current()
    assert exact is not None
    with qtbot.waitSignal(window.upload.finished, timeout=20_000) as done:
        window.upload_panel.upload.click()
        first = window.upload._handle
        window.upload_panel.upload.click()  # double click: ignored
        window.upload.start()
        assert window.upload._handle is first
        assert not window.upload_panel.upload.isEnabled()
        qtbot.waitUntil(lambda: window.upload.phase == "processing", timeout=10_000)
        # X's documented wait, as the test's service has it (FAST_POLL: 0.2 s).
        assert "processing the picture (about 0.2 s)" in window.upload_panel.status.text()
        save_artifact(window, "30-upload-processing")
        save_artifact(window.side_column, "30-upload-processing-side")
    outcome = done.args[0]
    assert outcome.uploaded.data == exact.result.data  # exactly the previewed bytes
    assert sent[-1][0] == sent[-1][1] >= len(exact.result.data)
    seen = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert seen == ["uploading", "processing", "checking", "done"]
    assert attempts
    assert attempts[0] == 1
    assert "attempt" not in window.upload_panel.status.text()
    assert "Done" in window.upload_panel.status.text()
    # The account panel shows the new picture, downloaded from the new URL.
    avatar = window.accounts.avatar
    assert avatar.cacheKey() != before.cacheKey()
    assert near(pixel(avatar, 0.2, 0.2), TL)
    assert near(pixel(avatar, 0.8, 0.8), BR)
    assert window.accounts.current is not None
    assert window.accounts.current.identity is not None
    assert window.accounts.current.identity.avatar_url == outcome.confirmed.avatar_url
    assert window.upload_panel.after.isVisible()
    assert window.upload_panel.before.isVisible()
    assert window.upload_panel.upload.isEnabled()
    save_artifact(window, "31-upload-done")
    save_artifact(window.side_column, "31-upload-done-side")


def test_switching_account_during_upload_keeps_the_other_profile(qtbot, window: MainWindow,
                                                                 tmp_path: Path) -> None:
    signed_in_with_image(qtbot, window, tmp_path)
    current = window.accounts.current
    assert current is not None
    uploader = current.record.key
    server = server_of(window)
    demo = server.demo
    other = server.state.add_user("second_user", "Second User")
    token = server.state.issue_access_token(demo.api_key, other.user_id)
    sign_in = FAST_X.sign_in(SignInRequest(SignInKind.TOKENS, api_base=server.base_url,
                                           app_key=demo.api_key, app_secret=demo.api_secret))
    second = sign_in.with_tokens({"access_token": token.token, "access_secret": token.secret})
    sign_in.close()
    window.accounts.add(second, session_only=True)
    qtbot.waitUntil(lambda: window.accounts.current is not None
                    and window.accounts.current.record.account_id == other.id_str
                    and not window.accounts.avatar.isNull(), timeout=10_000)
    added = window.accounts.current
    assert added is not None
    other_key = added.record.key
    other_avatar = window.accounts.avatar.copy()
    window.accounts.select(uploader)
    qtbot.waitUntil(lambda: window.accounts.current is not None
                    and window.accounts.current.record.key == uploader
                    and not window.accounts.avatar.isNull(), timeout=10_000)
    assert window.upload_panel.upload.isEnabled()

    server.faults.stall_processing(True)
    window.upload_panel.upload.click()
    qtbot.waitUntil(lambda: window.upload.phase == "checking", timeout=10_000)
    window.accounts.select(other_key)
    qtbot.waitUntil(lambda: window.accounts.current is not None
                    and window.accounts.current.record.key == other_key
                    and not window.accounts.avatar.isNull(), timeout=10_000)
    with qtbot.waitSignal(window.upload.finished, timeout=20_000):
        server.faults.stall_processing(False)
    # The upload was for the first account: the one now shown keeps its own profile.
    shown = window.accounts.current
    assert shown is not None
    assert shown.record.key == other_key
    assert shown.identity is not None
    assert shown.identity.handle == "@second_user"
    assert window.accounts.avatar == other_avatar
    assert window.account_panel.handle.text() == "@second_user"


def _fault_401(server: SandboxServer) -> None:
    server.faults.revoke_token(server.demo.access_token)


def _fault_429(server: SandboxServer) -> None:
    server.limiter.limits["update_profile_image"] = 0


def _fault_500(server: SandboxServer) -> None:
    server.faults.fail_next(1, 500)


def _fault_drop(server: SandboxServer) -> None:
    server.faults.drop_next(1)


def _fault_read_only(server: SandboxServer) -> None:
    server.faults.set_read_only(server.demo.api_key)


@pytest.mark.parametrize(("fault", "action", "words"), [
    (_fault_401, "Sign in again…", "token"),
    (_fault_read_only, "Open help", "read"),
    (_fault_429, "Retry", "rate limit"),
    (_fault_500, "Retry", ""),
    (_fault_drop, "Retry", ""),
])
def test_upload_errors_keep_the_crop_and_offer_the_way_out(
        qtbot, window: MainWindow, tmp_path: Path, fault, action: str, words: str) -> None:
    signed_in_with_image(qtbot, window, tmp_path)
    window.editor.zoom_by(1.5)
    window.editor.pan_pixels(30, 10)
    state, loaded = window.document.state, window.document.loaded
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    server = server_of(window)
    fault(server)
    with qtbot.waitSignal(window.upload.phase_changed,
                          check_params_cb=lambda p: p == "failed", timeout=20_000):
        window.upload_panel.upload.click()
    banner = window.banner
    assert banner.isVisible()
    assert banner.action_button.text() == action
    assert words.lower() in banner.label.text().lower()
    assert "Traceback" not in banner.label.text()
    # Plain words in front; the status and error codes wait behind "Details".
    assert "HTTP " not in banner.label.text()
    if fault is _fault_500:
        assert banner.report is not None
        assert "HTTP 50" in banner.report.details
        assert banner.details_button.isVisibleTo(banner)
    # Nothing lost: same picture, same crop, and the app takes the next command.
    assert window.document.state == state
    assert window.document.loaded is loaded
    assert window.upload_panel.upload.isEnabled()
    assert not window.upload_panel.progress.isVisible()
    save_artifact(window, f"40-error-{fault.__name__.strip('_')}")
    if action == "Retry":
        server.faults.reset()
        server.limiter.limits.pop("update_profile_image", None)
        with qtbot.waitSignal(window.upload.finished, timeout=20_000):
            banner.action_button.click()
        assert window.upload.phase == "done"
    elif action == "Sign in again…":
        with qtbot.waitSignal(window.sign_in_dialog_opened, timeout=5_000):
            banner.action_button.click()


def test_cancel_during_upload_and_while_waiting(qtbot, window: MainWindow,
                                                tmp_path: Path) -> None:
    window.start_sandbox_demo()
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(quadrants(tmp_path / "big.png", (2400, 2400)))
    qtbot.waitUntil(lambda: window.accounts.current is not None
                    and window.accounts.current.identity is not None, timeout=10_000)
    user = window.accounts.current.identity if window.accounts.current else None
    assert user is not None
    old_url = user.avatar_url
    # A fresh change: the upload task must render the bytes first, and Cancel (clicked
    # right away) lands before anything is sent.
    window.editor.zoom_by(1.2)
    state = window.document.state
    assert window.previews.current() is None
    window.upload_panel.upload.click()
    assert window.upload_panel.cancel.isVisible()
    with qtbot.waitSignal(window.upload.phase_changed,
                          check_params_cb=lambda p: p == "cancelled", timeout=10_000):
        window.upload_panel.cancel.click()
    assert "not changed" in window.upload_panel.status.text()
    assert window.document.state == state
    assert window.upload_panel.upload.isEnabled()
    assert not window.banner.isVisible()
    server = server_of(window)
    assert server.demo  # still serving
    session = window.accounts.open_session()
    try:
        assert session.whoami().avatar_url == old_url
    finally:
        session.close()

    server.faults.stall_processing(True)
    window.upload_panel.upload.click()
    qtbot.waitUntil(lambda: window.upload.phase == "checking", timeout=10_000)
    with qtbot.waitSignal(window.upload.phase_changed,
                          check_params_cb=lambda p: p == "cancelled", timeout=10_000):
        window.upload_panel.cancel.click()
    assert "Stopped waiting" in window.upload_panel.status.text()
    assert window.upload_panel.upload.isEnabled()
    assert window.document.state == state


def test_paste_tokens_path(qtbot, window: MainWindow) -> None:
    server = server_of(window)
    demo = server.demo
    dialog = window.show_sign_in()
    dialog.choose("x")
    dialog.choose("x", tokens=True)
    dialog.x_page.api_base.setText(server.base_url)
    dialog.x_page.api_key.setText(demo.api_key)
    dialog.x_page.api_secret.setText(demo.api_secret)
    dialog.x_page.tok_token.setText(demo.access_token)
    dialog.x_page.tok_secret.setText("not-the-secret")
    dialog.x_page.tokens_button.click()
    qtbot.waitUntil(dialog.x_page.tokens_error.isVisible, timeout=10_000)
    error = dialog.x_page.tokens_error
    assert "rejected" in error.text() or "authenticate" in error.text()
    assert "HTTP" not in error.text()  # plain words; the code is in the tooltip
    assert "401" in error.toolTip()
    assert dialog.x_page.tokens_button.isEnabled()
    save_artifact(dialog, "22-sign-in-tokens-error")
    dialog.x_page.tok_secret.setText(demo.access_secret)
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        dialog.x_page.tokens_button.click()
    assert window.account_panel.handle.text() == f"@{demo.screen_name}"


def test_check_again_after_not_published_yet_never_uploads_twice_and_tells_real_time(
        qtbot, tmp_path: Path) -> None:
    # Gives up after half a second, so "not published yet" comes quickly.
    patient = XService(retry=NO_RETRY, poll=dataclasses.replace(FAST_POLL, timeout_s=0.5))
    window = show_window(qtbot, dataclasses.replace(make_context(), services=lambda key: patient))
    signed_in_with_image(qtbot, window, tmp_path)
    # The controller's clock: the user waits three minutes before checking again.
    now = [1000.0]
    window.upload._clock = lambda: now[0]
    server = server_of(window)
    server.faults.stall_processing(True)
    checking: list[str] = []
    window.upload.phase_changed.connect(
        lambda p: checking.append(window.upload_panel.status.text()) if p == "checking"
        else None)
    with qtbot.waitSignal(window.upload.phase_changed,
                          check_params_cb=lambda p: p == "failed", timeout=20_000):
        window.upload_panel.upload.click()
    # While it waits, it says for how long, not only "attempt n".
    assert checking
    assert all("since the upload began" in text for text in checking)
    assert window.banner.isVisible()
    assert "has not published the new image yet" in window.banner.label.text()
    assert "nothing is lost" in window.upload_panel.status.text()
    # Only a re-check happens, and it says so; the same crop cannot be uploaded twice.
    assert window.banner.action_button.text() == "Check Again"
    assert not window.upload_panel.upload.isEnabled()
    assert not window.upload_action.isEnabled()
    assert server.processor.pending == 1
    server.faults.stall_processing(False)
    now[0] += 180.0
    with qtbot.waitSignal(window.upload.finished, timeout=20_000) as done:
        window.banner.action_button.click()
    assert window.upload.phase == "done"
    assert "3 min after the upload began" in window.upload_panel.status.text()
    # One picture reached the sandbox: Retry asked again instead of uploading again.
    assert server.processor.completed == 1
    assert server.processor.pending == 0
    current = window.accounts.current
    assert current is not None
    assert current.identity is not None
    assert done.args[0].confirmed.avatar_url == current.identity.avatar_url


def test_an_accounts_limits_are_asked_once_not_on_every_change(
        qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window asks an account's server for its limits once: not again for the
    publish targets, nor on every crop change (each one used to cost a request)."""
    from avatar_studio.core.services.x.service import XSession

    asked: list[str] = []
    real = XSession.render_spec

    def counting(self: XSession) -> object:
        asked.append(self.identity.account_id)
        return real(self)

    monkeypatch.setattr(XSession, "render_spec", counting)
    signed_in_with_image(qtbot, window, tmp_path)
    current = window.accounts.current
    assert current is not None
    for _ in range(3):  # crop changes: each one refreshes the publish actions
        window.editor_actions.rotate_right.trigger()
    qtbot.waitUntil(lambda: not window.context.runner.busy, timeout=10_000)
    assert asked == [current.record.account_id]


def test_cancel_after_the_last_byte_ends_at_once_and_does_not_claim_nothing_changed(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    """Cancel once the whole picture has left: the wait for the server's answer ends
    at once (the connection is dropped), and the window does not say the profile was
    not changed — the service had every byte and may still act on it."""
    signed_in_with_image(qtbot, window, tmp_path)
    server = server_of(window)
    server.faults.set_latency(60)  # the server holds its answer
    try:
        with qtbot.waitSignal(window.upload.bytes_sent, timeout=10_000,
                              check_params_cb=lambda sent, total: sent == total):
            window.upload_panel.upload.click()
        assert "waiting for X's answer" in window.upload_panel.status.text()
        # Well before the server would answer: the cancel drops the connection.
        with qtbot.waitSignal(window.upload.phase_changed, timeout=5_000,
                              check_params_cb=lambda p: p == "cancelled"):
            window.upload_panel.cancel.click()
    finally:
        server.faults.set_latency(0)
    text = window.upload_panel.status.text()
    assert "may still publish it" in text
    assert "not changed" not in text
    assert window.upload_panel.upload.isEnabled()
