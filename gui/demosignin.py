"""The sandbox button of a sign-in page: sign in as the demo account off the GUI thread,
with the page busy and the button off meanwhile (Bluesky's and Mastodon's pages)."""

from __future__ import annotations

from collections.abc import Callable

from avatar_studio.core.services.base import SignedInAccount
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtWidgets import QPushButton


def sign_in_as_demo(runner: TaskRunner, work: Callable[[TaskContext], SignedInAccount], *,
                    button: QPushButton, busy: Callable[[bool], None],
                    signed_in: Callable[[SignedInAccount], None],
                    failed: Callable[[BaseException], None]) -> TaskHandle[SignedInAccount]:
    busy(True)
    button.setEnabled(False)

    def done(account: SignedInAccount) -> None:
        busy(False)
        button.setEnabled(True)
        signed_in(account)

    def on_error(exc: BaseException) -> None:
        button.setEnabled(True)
        failed(exc)

    return runner.run(work, on_success=done, on_error=on_error)
