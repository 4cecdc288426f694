"""The Bluesky sign-in page against the real PDS sandbox: handle + app password, the
e-mailed code, the app-password warning, errors inline; and its tab in the dialog."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from avatar_studio.core.sandbox.bluesky import BlueskySandbox, BlueskySandboxConfig
from avatar_studio.core.services import registry
from avatar_studio.gui.sandboxhost import BlueskySandboxHost
from avatar_studio.gui.signin import SignInDialog
from avatar_studio.gui.signin_bluesky import BlueskySignInPage
from avatar_studio.gui.tasks import TaskRunner
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    tasks = TaskRunner()
    yield tasks
    tasks.shutdown()


def _page(qtbot, runner: TaskRunner, pds: BlueskySandbox) -> BlueskySignInPage:
    page = BlueskySignInPage(runner, registry.get)
    qtbot.addWidget(page)
    page.handle.setText(pds.demo.handle)
    page.server.setText(pds.base_url)
    return page


def test_sign_in_with_handle_and_app_password(qtbot, runner):
    with BlueskySandbox() as pds:
        page = _page(qtbot, runner, pds)
        page.password.setText(pds.demo.app_password)
        assert page.warning.isHidden()
        with qtbot.waitSignal(page.signed_in, timeout=15_000) as signal:
            qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
        account = signal.args[0]
        assert account.identity.account_id == pds.demo.did
        assert account.identity.display_name == "Alice Sandbox"
        assert page.password.text() == ""  # not kept in the widget


def test_the_emailed_code_is_asked_for_and_used(qtbot, runner):
    with BlueskySandbox(BlueskySandboxConfig(two_factor=True)) as pds:
        page = _page(qtbot, runner, pds)
        page.show()
        page.password.setText(pds.demo.app_password)
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(page.code.isVisible, timeout=15_000)
        assert "sign-in code" in page.error.text()
        code = requests.get(f"{pds.base_url}/_sandbox/outbox", timeout=5).json()[
            "messages"][-1]["code"]
        page.code.setText(code)
        with qtbot.waitSignal(page.signed_in, timeout=15_000):
            qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)


def test_warning_and_inline_error_for_a_main_password(qtbot, runner):
    with BlueskySandbox() as pds:
        page = _page(qtbot, runner, pds)
        page.show()
        page.password.setText("my main password")
        assert page.warning.isVisible()
        assert "app password" in page.warning.text()
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(page.error.isVisible, timeout=15_000)
        assert "did not accept" in page.error.text()
        assert page.button.isEnabled()


def test_the_assistant_offers_bluesky(qtbot, runner):
    dialog = SignInDialog(runner, registry.get, None)
    qtbot.addWidget(dialog)
    assert dialog.choices["bluesky"].isEnabled()
    dialog.choices["bluesky"].click()
    assert dialog.stack.currentWidget() is dialog.bluesky_page


def test_the_local_sandbox_in_one_click(qtbot, runner):
    host = BlueskySandboxHost()
    try:
        page = BlueskySignInPage(runner, registry.get, sandbox=host)
        qtbot.addWidget(page)
        page.show()
        assert page.sandbox_button.isVisible()
        with qtbot.waitSignal(page.sandbox_signed_in, timeout=15_000) as signal:
            qtbot.mouseClick(page.sandbox_button, Qt.MouseButton.LeftButton)
        account = signal.args[0]
        assert host.server is not None
        assert account.identity.account_id == host.server.demo.did
        assert account.identity.api_base == host.server.base_url
    finally:
        host.stop()
    assert not host.running


def test_no_sandbox_button_without_a_sandbox(qtbot, runner):
    page = BlueskySignInPage(runner, registry.get)
    qtbot.addWidget(page)
    page.show()
    assert not page.sandbox_button.isVisible()


def test_the_assistant_signs_in_to_the_bluesky_sandbox_for_this_session(qtbot, runner):
    host = BlueskySandboxHost()
    try:
        dialog = SignInDialog(runner, registry.get, None, bluesky_sandbox=host)
        qtbot.addWidget(dialog)
        dialog.choices["bluesky"].click()
        page = dialog.bluesky_page
        with qtbot.waitSignal(dialog.signed_in, timeout=15_000) as signal:
            page.sandbox_button.click()
        outcome = signal.args[0]
        assert outcome.session_only
        assert outcome.sandbox
        assert outcome.account.identity.service == "bluesky"
    finally:
        host.stop()
