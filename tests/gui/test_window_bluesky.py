"""The window with Bluesky: sign in by handle on the Bluesky tab, then upload, against the
real PDS sandbox; the profile keeps its other fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from avatar_studio.core.credentials import CredentialStore, MemoryBackend
from avatar_studio.core.sandbox.bluesky import BlueskySandbox, BlueskySandboxConfig
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.services.base import Service
from avatar_studio.core.services.bluesky.service import BlueskyService, ConfirmPolicy
from avatar_studio.core.settings import Settings
from avatar_studio.gui.context import AppContext
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.sandboxhost import SandboxHost
from avatar_studio.gui.tasks import TaskRunner

from tests.gui.helpers import FAST_X, quadrants, save_artifact, show_window

pytestmark = pytest.mark.gui

FAST_BLUESKY = BlueskyService(confirm_policy=ConfirmPolicy(timeout_s=10.0,
                                                           first_interval_s=0.05))


def services(key: str) -> Service:
    known: dict[str, Service] = {"x": FAST_X, "bluesky": FAST_BLUESKY}
    return known[key]


def test_window_signs_in_by_handle_and_uploads(qtbot, tmp_path: Path):
    with BlueskySandbox() as pds:
        before = requests.get(f"{pds.base_url}/_sandbox/status", timeout=5).json()["profile"]
        context = AppContext(runner=TaskRunner(),
                             store=CredentialStore(MemoryBackend(), services=services),
                             services=services,
                             sandbox=SandboxHost(SandboxConfig(processing_delay=0.3)),
                             settings=Settings(), preview_debounce_ms=50)
        window = show_window(qtbot, context)
        dialog = window.show_sign_in()
        dialog.choose("bluesky")
        page = dialog.bluesky_page
        page.handle.setText(pds.demo.handle)
        page.password.setText(pds.demo.app_password)
        page.server.setText(pds.base_url)
        save_artifact(dialog, "25-sign-in-bluesky")
        with qtbot.waitSignal(window.accounts.current_changed, timeout=15_000):
            page.button.click()
        assert window.account_panel.handle.text() == f"@{pds.demo.handle}"
        with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
            window.open_path(quadrants(tmp_path / "me.png"))
        qtbot.waitUntil(lambda: window.previews.current() is not None
                        and window.upload_panel.upload.isEnabled(), timeout=15_000)
        with qtbot.waitSignal(window.upload.finished, timeout=30_000) as done:
            window.upload_panel.upload.click()
        outcome = done.args[0]
        # Rendered for Bluesky's spec (up to 1000 px; the 800 px source is not scaled up),
        # not for X's 400 px.
        assert (outcome.uploaded.width, outcome.uploaded.height) == (800, 800)
        assert len(outcome.uploaded.data) < 1_000_000
        after = requests.get(f"{pds.base_url}/_sandbox/status", timeout=5).json()["profile"]
        cid = after["avatar"]["ref"]["$link"]
        assert outcome.confirmed.avatar_url.endswith(cid)
        for name in ("displayName", "description", "banner", "sandbox.customField"):
            assert after[name] == before[name]
        save_artifact(window, "35-bluesky-upload-done")
        current = window.accounts.current
        assert current is not None
        refresh = current.secret["refresh_jwt"]
        with qtbot.waitSignal(window.accounts.current_changed, timeout=15_000,
                              check_params_cb=lambda now: now is None):
            window.accounts.sign_out()
        # Signing out deleted the session on the PDS, not only the local secret.
        gone = requests.post(f"{pds.base_url}/xrpc/com.atproto.server.refreshSession",
                             headers={"Authorization": f"Bearer {refresh}"}, timeout=5)
        assert gone.json() == {"error": "ExpiredToken", "message": "Token has been revoked"}
        window.close()
        context.runner.shutdown()


def test_the_next_session_starts_from_the_rotated_token(qtbot, tmp_path: Path):
    """No grace period: a window that reused the first refresh token would be signed out."""
    with BlueskySandbox(BlueskySandboxConfig(refresh_grace_s=0)) as pds:
        store = CredentialStore(MemoryBackend(), services=services)
        context = AppContext(runner=TaskRunner(), store=store, services=services,
                             sandbox=SandboxHost(SandboxConfig(processing_delay=0.3)),
                             settings=Settings(), preview_debounce_ms=50)
        window = MainWindow(context)
        qtbot.addWidget(window)
        dialog = window.show_sign_in()
        page = dialog.bluesky_page
        page.handle.setText(pds.demo.handle)
        page.password.setText(pds.demo.app_password)
        page.server.setText(pds.base_url)
        with qtbot.waitSignal(window.accounts.current_changed, timeout=15_000):
            page.button.click()
        # The window's own profile refresh runs first (two sessions refreshing the same
        # token at once is what the PDS's grace period is for; here there is none).
        qtbot.waitUntil(lambda: not context.runner.busy, timeout=15_000)
        for _ in range(2):  # each session refreshes (rotation) after the tokens expire
            pds.control("expire_access")
            session = window.accounts.open_session()
            try:
                assert session.whoami().account_id == pds.demo.did
            finally:
                session.close()
        current = window.accounts.current
        assert current is not None
        assert store.load(current.record)["refresh_jwt"] != current.secret["refresh_jwt"]
        window.close()
        context.runner.shutdown()
