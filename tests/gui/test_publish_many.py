"""One Publish to three sandbox accounts on three services (X, Mastodon, Bluesky) from the
window: a lane each, done on each; a fault on one leaves the other two done, and that
one's Retry finishes it (issue 13's "done when")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from avatar_studio.core.credentials import CredentialStore, MemoryBackend
from avatar_studio.core.publish import Phase
from avatar_studio.core.sandbox.bluesky import BlueskySandbox
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.services.base import Service
from avatar_studio.core.services.bluesky.service import BlueskyService, ConfirmPolicy
from avatar_studio.core.services.errors import NotPublishedYet
from avatar_studio.core.services.mastodon.apps import MemoryAppStore
from avatar_studio.core.services.mastodon.service import MastodonService
from avatar_studio.core.settings import Settings
from avatar_studio.gui.context import AppContext
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.previews import strip_sizes
from avatar_studio.gui.sandboxhost import MastodonSandboxHost, SandboxHost
from avatar_studio.gui.tasks import TaskRunner
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from tests.gui.helpers import FAST_X, quadrants, save_artifact, show_window

pytestmark = pytest.mark.gui

FAST: dict[str, Service] = {"x": FAST_X, "mastodon": MastodonService(apps=MemoryAppStore()),
        "bluesky": BlueskyService(confirm_policy=ConfirmPolicy(timeout_s=10.0,
                                                               first_interval_s=0.05))}


def services(key: str) -> Service:
    return FAST[key]


def _sign_in_everywhere(qtbot, window: MainWindow, pds: BlueskySandbox) -> None:
    with qtbot.waitSignal(window.accounts.current_changed, timeout=15_000):
        window.start_sandbox_demo()  # X's sandbox
    dialog = window.show_sign_in()
    dialog.choose("mastodon")
    with qtbot.waitSignal(window.accounts.current_changed, timeout=20_000):
        dialog.mastodon_page.sandbox_button.click()
    dialog = window.show_sign_in()
    dialog.choose("bluesky")
    page = dialog.bluesky_page
    page.handle.setText(pds.demo.handle)
    page.password.setText(pds.demo.app_password)
    page.server.setText(pds.base_url)
    with qtbot.waitSignal(window.accounts.current_changed, timeout=15_000):
        page.button.click()


@contextmanager
def _window_on_three_services(qtbot, *, processing_delay: float
                              ) -> Iterator[tuple[MainWindow, AppContext]]:
    """The real window, signed in to the X, Mastodon and Bluesky sandboxes."""
    with BlueskySandbox() as pds:
        context = AppContext(runner=TaskRunner(),
                             store=CredentialStore(MemoryBackend(), services=services),
                             services=services,
                             sandbox=SandboxHost(SandboxConfig(
                                 processing_delay=processing_delay)),
                             mastodon_sandbox=MastodonSandboxHost(),
                             settings=Settings(), preview_debounce_ms=50)
        window = show_window(qtbot, context)
        try:
            _sign_in_everywhere(qtbot, window, pds)
            yield window, context
        finally:
            window.close()
            QApplication.processEvents()
            context.runner.shutdown()


def test_publish_to_three_services_then_a_fault_on_one_leaves_two_done(
        qtbot, tmp_path: Path) -> None:
    with _window_on_three_services(qtbot, processing_delay=0.3) as (window, context):
        records = window.accounts.records()
        assert sorted(r.service for r in records) == ["bluesky", "mastodon", "x"]
        rows = window.targets.rows
        assert window.targets.isVisibleTo(window)
        # A badge per service, SANDBOX on the two built-in sandboxes.
        for record in records:
            assert rows[record.key].service_badge.text()
        QApplication.processEvents()  # new rows are shown by a queued call
        sandboxes = {r.service for r in records
                     if rows[r.key].sandbox_badge.isVisibleTo(window)}
        assert sandboxes == {"x", "mastodon"}
        for row in rows.values():
            row.check.setChecked(False)
        with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
            window.open_path(quadrants(tmp_path / "first.png"))
        qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=20_000)
        assert not window.upload_panel.upload.isEnabled()  # nothing ticked, nothing sent
        for row in rows.values():
            row.check.setChecked(True)
        assert window.upload_panel.upload.text() == "Publish to 3 Accounts"
        # The Mastodon sandbox (4.6) stores alt text: asked off the GUI thread.
        qtbot.waitUntil(lambda: window.alt_text.isVisibleTo(window), timeout=10_000)
        window.alt_text.setText("Four coloured squares")

        with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
            window.open_path(quadrants(tmp_path / "me.png"))
        qtbot.waitUntil(lambda: window.previews.current() is not None
                        and window.upload_panel.upload.isEnabled(), timeout=20_000)
        # Each other spec among the targets gets its own preview and byte budget.
        main = window.previews.spec
        others = window.other_specs
        qtbot.waitUntil(lambda: len(others.rows) == 2 and all(
            " of " in row.info.text() for row in others.rows.values()), timeout=30_000)
        assert main not in others.rows
        assert {spec.key for spec in others.rows} == {"x", "mastodon", "bluesky"} - {
            main.key}
        for spec, spec_row in others.rows.items():
            assert spec.name in spec_row.info.text()
            assert not spec_row.picture.pixmap().isNull()
        # The compact strip is at the current service's own display sizes and shape.
        assert tuple(window.preview_panel.rounds) == strip_sizes(main)
        phases: dict[str, set[Phase]] = {}
        window.multi.lane_event.connect(
            lambda e: phases.setdefault(e.key, set()).add(e.phase))
        with qtbot.waitSignal(window.multi.finished, timeout=60_000) as first:
            window.upload_panel.upload.click()
        summary = first.args[0]
        assert len(summary.done) == 3, [str(r.error) for r in summary.failed]
        # Three accounts with their lines, at 1024×700: still nothing to scroll.
        window.resize(1024, 700)
        QApplication.processEvents()
        assert window.side_scroll.verticalScrollBar().maximum() == 0
        button = window.upload_panel.upload
        assert window.rect().contains(
            QRect(button.mapTo(window, button.rect().topLeft()), button.size()))
        for key, seen in phases.items():
            assert {Phase.UPLOADING, Phase.DONE} <= seen, key
        for row in rows.values():
            assert "Done" in row.status.text()
        assert "all 3 accounts" in window.upload_panel.status.text()
        # The alt text reached the one service that stores it.
        mastodon = context.mastodon_sandbox
        assert mastodon is not None
        assert mastodon.server is not None
        assert mastodon.server.account().avatar_description == "Four coloured squares"
        # One render per spec for the crop: the exact preview's own is reused, the
        # other two (rendered for their previews) serve the publish as well.
        cache = window.multi.cache_for_now()
        assert cache is not None
        assert cache.renders == 2
        save_artifact(window, "80-published-to-three")

        # A fault on X alone: the other two still finish.
        x_key = next(r.key for r in records if r.service == "x")
        host = context.sandbox
        assert host is not None
        assert host.server is not None
        window.editor.zoom_by(1.4)
        qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=20_000)
        host.server.faults.fail_next(3, 500)
        with qtbot.waitSignal(window.multi.finished, timeout=60_000) as second:
            window.upload_panel.upload.click()
        summary = second.args[0]
        assert {r.key for r in summary.failed} == {x_key}
        assert len(summary.done) == 2
        x_row = rows[x_key]
        assert x_row.retry.isVisibleTo(window)
        assert "HTTP" not in x_row.status.text()
        assert "2 of 3" in window.upload_panel.status.text()
        save_artifact(window, "81-one-lane-failed")
        host.server.faults.reset()
        with qtbot.waitSignal(window.multi.finished, timeout=60_000) as third:
            x_row.retry.click()
        assert [r.key for r in third.args[0].done] == [x_key]
        assert "Done" in x_row.status.text()


def test_escape_during_a_publish_to_several_accounts_cancels_the_lanes_not_the_crop(
        qtbot, tmp_path: Path) -> None:
    with _window_on_three_services(qtbot, processing_delay=60.0) as (window, _context):
        for row in window.targets.rows.values():
            row.check.setChecked(True)
        with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
            window.open_path(quadrants(tmp_path / "me.png"))
        qtbot.waitUntil(lambda: window.previews.current() is not None
                        and window.upload_panel.upload.isEnabled(), timeout=20_000)
        window.editor.zoom_by(1.3)
        window.document.edit(lambda model: model.rotate(1), "Rotate")
        qtbot.waitUntil(lambda: window.previews.current() is not None
                        and window.upload_panel.upload.isEnabled(), timeout=20_000)
        crop_before = window.document.snapshot()
        x_key = next(r.key for r in window.accounts.records() if r.service == "x")
        # X's sandbox shows the new picture only after 60 s: at the Esc its lane is
        # still asking users/show.
        checking = []
        window.multi.lane_event.connect(
            lambda e: checking.append(e.phase) if e.key == x_key
            and e.phase is Phase.CHECKING else None)
        with qtbot.waitSignal(window.multi.finished, timeout=20_000) as ended:
            window.upload_panel.upload.click()
            qtbot.waitUntil(lambda: bool(checking) and window.multi.busy, timeout=15_000)
            window.activateWindow()  # the sign-in dialogs had the activation
            qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
            # Esc goes to whatever has the focus, as the user's key would.
            qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Escape)
        summary = ended.args[0]
        x_result = next(r for r in summary.results if r.key == x_key)
        assert not x_result.ok  # stopped, long before the 60 s
        assert isinstance(x_result.error, NotPublishedYet)
        assert x_result.error.cancelled
        assert "Check Again" in window.targets.rows[x_key].retry.text()
        assert not window.multi.busy
        assert window.document.snapshot() == crop_before  # Esc never touches the crop
