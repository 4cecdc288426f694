"""Upload and refresh: the button, bytes-sent progress with Cancel, X's processing.

:class:`UploadController` runs one task that sends the exact bytes of the preview, waits
out X's processing and polls until the new picture is published and downloaded; its
phases come back as progress reports. :class:`UploadPanel` only displays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.services import registry
from avatar_studio.core.services.x.client import XClient
from avatar_studio.core.services.x.errors import NotPublishedYet
from avatar_studio.core.services.x.refresh import RefreshResult
from avatar_studio.gui.accounts import AccountManager
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.errors import ErrorBanner
from avatar_studio.gui.previews import PreviewController, format_bytes, render_job
from avatar_studio.gui.qtimage import scaled_pixmap
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

log = logging.getLogger(__name__)

BEFORE_AFTER_SIDE = 96


@dataclass(frozen=True)
class UploadOutcome:
    refresh: RefreshResult
    image: QImage
    uploaded: RenderResult
    #: The account the picture was uploaded for (AccountRecord.key).
    account_key: str


def _await_picture(ctx: TaskContext, client: XClient, user_id: str, before_url: str,
                   uploaded: RenderResult, account_key: str) -> UploadOutcome:
    """Worker side: wait until X publishes the picture and download it."""
    refreshed = client.wait_for_new_image(
        user_id, before_url, on_attempt=lambda n: ctx.progress("attempt", n),
        cancel=ctx.cancel_event)
    return UploadOutcome(refreshed, QImage.fromData(refreshed.image), uploaded, account_key)


class UploadPanel(QWidget):
    """Upload/Cancel buttons, progress bar, status line, before/after pictures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("uploadPanel")
        self.upload = QPushButton("Upload as profile picture", self)
        self.upload.setObjectName("uploadButton")
        self.upload.setAccessibleName("Upload as profile picture")
        self.upload.setToolTip("Send exactly the 400×400 preview to X (Ctrl+U)")
        self.upload.setDefault(True)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setAccessibleName("Cancel upload")
        self.cancel.setToolTip("Stop the upload (your profile stays as it was)")
        self.cancel.hide()
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Upload progress")
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.status = QLabel("", self)
        self.status.setObjectName("uploadStatus")
        self.status.setAccessibleName("Upload status")
        self.status.setWordWrap(True)
        self.before = QLabel(self)
        self.before.setFixedSize(BEFORE_AFTER_SIDE, BEFORE_AFTER_SIDE)
        self.before.setAccessibleName("Profile picture before")
        self.after = QLabel(self)
        self.after.setFixedSize(BEFORE_AFTER_SIDE, BEFORE_AFTER_SIDE)
        self.after.setAccessibleName("Profile picture after")
        self.before_caption = QLabel("Before", self)
        self.after_caption = QLabel("After (from X)", self)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.upload, 0, 0, 1, 2)
        grid.addWidget(self.cancel, 0, 2)
        grid.addWidget(self.progress, 1, 0, 1, 3)
        grid.addWidget(self.status, 2, 0, 1, 3)
        grid.addWidget(self.before, 3, 0)
        grid.addWidget(self.after, 3, 1)
        grid.addWidget(self.before_caption, 4, 0, Qt.AlignmentFlag.AlignHCenter)
        grid.addWidget(self.after_caption, 4, 1, Qt.AlignmentFlag.AlignHCenter)
        grid.setColumnStretch(2, 1)
        self.show_before_after(None, None)

    def show_before_after(self, before: QImage | None, after: QImage | None) -> None:
        visible = after is not None
        for widget in (self.before, self.after, self.before_caption, self.after_caption):
            widget.setVisible(visible)
        if before is not None:
            self.before.setPixmap(scaled_pixmap(before, BEFORE_AFTER_SIDE, round_mask=True))
        if after is not None:
            self.after.setPixmap(scaled_pixmap(after, BEFORE_AFTER_SIDE, round_mask=True))


class UploadController(QObject):
    """Signals:
        phase_changed(str): "uploading", "processing", "checking", "done", "failed",
            "cancelled" or "idle".
        bytes_sent(int, int): sent, total.
        attempt(int): the n-th check for the new picture.
        finished(object): an UploadOutcome.
    """

    phase_changed = Signal(str)
    bytes_sent = Signal(int, int)
    attempt = Signal(int)
    finished = Signal(object)

    def __init__(self, document: CropDocument, previews: PreviewController,
                 accounts: AccountManager, runner: TaskRunner, panel: UploadPanel,
                 banner: ErrorBanner, parent: QObject | None = None, *,
                 spec: RenderSpec | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._previews = previews
        self._accounts = accounts
        self._runner = runner
        self._panel = panel
        self._banner = banner
        self._spec = spec or registry.default().default_spec
        self._handle: TaskHandle[Any] | None = None
        self.phase = "idle"
        panel.upload.clicked.connect(self.start)
        panel.cancel.clicked.connect(self.cancel)
        document.image_changed.connect(self.update_enabled)
        accounts.current_changed.connect(self.update_enabled)
        self.update_enabled()

    @property
    def busy(self) -> bool:
        return self._handle is not None

    def can_upload(self) -> bool:
        return self._doc.has_image and self._accounts.current is not None and not self.busy

    @Slot()
    def update_enabled(self) -> None:
        self._panel.upload.setEnabled(self.can_upload())
        if self._accounts.current is None:
            self._panel.upload.setToolTip("Sign in first")
        elif not self._doc.has_image:
            self._panel.upload.setToolTip("Open or drop an image first")
        else:
            self._panel.upload.setToolTip("Send exactly the 400×400 preview to X (Ctrl+U)")

    def _set_phase(self, phase: str, text: str) -> None:
        self.phase = phase
        self._panel.status.setText(text)
        self.phase_changed.emit(phase)

    @Slot()
    def start(self) -> None:
        """Upload the current crop; ignored while an upload runs (double-click guard)."""
        if not self.can_upload():
            return
        current = self._accounts.current
        job = self._doc.job()
        assert current is not None
        assert job is not None
        ready = self._previews.current()
        client = self._accounts.client(current)
        old_url = current.user.profile_image_url_https if current.user is not None else None
        user_id, account_key = current.record.user_id, current.record.key
        spec = self._spec
        self._banner.hide()
        self._panel.show_before_after(None, None)
        self._before = QImage(self._accounts.avatar)

        sent: list[RenderResult] = []

        def work(ctx: TaskContext) -> UploadOutcome:
            with client:
                result = (ready.result if ready is not None
                          else render_job(job, spec).result)
                ctx.check_cancelled()
                before_url = old_url
                if before_url is None:
                    before_url = client.verify_credentials().profile_image_url_https
                ctx.progress("bytes", 0, len(result.data))
                client.upload_profile_image(
                    result.data, mime_type=result.mime_type,
                    filename=f"avatar.{result.extension}",
                    progress=lambda sent, total: ctx.progress("bytes", sent, total),
                    cancel=ctx.cancel_event)
                sent.append(result)
                ctx.progress("processing", round(client.poll.min_wait_s * 1000))
                return _await_picture(ctx, client, user_id, before_url, result, account_key)

        self._run(work, "uploading", "Uploading…", sent, account_key)

    def check_again(self, waited: NotPublishedYet, uploaded: RenderResult,
                    account_key: str) -> None:
        """After "not published yet": ask X again; the picture is NOT uploaded twice."""
        current = self._accounts.current
        if self.busy or current is None or current.record.key != account_key:
            # Another account is shown now: its upload button starts afresh.
            self.start()
            return
        client = self._accounts.client(current)
        self._banner.hide()

        def work(ctx: TaskContext) -> UploadOutcome:
            with client:
                return _await_picture(ctx, client, waited.user_id, waited.old_url, uploaded,
                                      account_key)

        self._run(work, "checking", "Checking for the new image…", [uploaded], account_key)

    def _run(self, work: Callable[[TaskContext], UploadOutcome], phase: str, text: str,
             sent: list[RenderResult], account_key: str) -> None:
        """Run an upload or a re-check; ``sent`` gets the bytes once X has them."""

        def failed(exc: BaseException) -> None:
            self._on_error(exc, sent[0] if sent else None, account_key)

        self._handle = self._runner.run(work, on_success=self._on_done, on_error=failed,
                                        on_progress=self._on_progress,
                                        on_cancelled=self._on_cancelled)
        self._panel.upload.setEnabled(False)
        self._panel.cancel.show()
        self._panel.cancel.setEnabled(True)
        self._panel.progress.setRange(0, 0)
        self._panel.progress.show()
        self._set_phase(phase, text)

    @Slot()
    def cancel(self) -> None:
        if self._handle is not None:
            self._panel.cancel.setEnabled(False)
            self._handle.cancel()

    def _on_progress(self, kind: str, *args: int) -> None:
        if kind == "bytes":
            sent, total = args
            self._panel.progress.setRange(0, max(1, total))
            self._panel.progress.setValue(sent)
            self._panel.progress.setFormat(f"{format_bytes(sent)} of {format_bytes(total)}")
            self.bytes_sent.emit(sent, total)
            self._set_phase("uploading", f"Uploading… {format_bytes(sent)} of "
                            f"{format_bytes(total)}")
        elif kind == "processing":
            self._panel.progress.setRange(0, 0)
            wait = f" (about {args[0] / 1000:g} s)" if args else ""
            self._set_phase("processing", f"Uploaded. {self._spec.name} is "
                            f"processing the picture{wait}…")
        elif kind == "attempt":
            (n,) = args
            self.attempt.emit(n)
            self._set_phase("checking", f"Checking for the new image (attempt {n})…")

    def _finish(self) -> None:
        self._handle = None
        self._panel.cancel.hide()
        self._panel.progress.hide()
        self.update_enabled()

    def _on_done(self, outcome: UploadOutcome) -> None:
        self._finish()
        # The user may have switched accounts meanwhile: only the uploader's is updated.
        self._accounts.show_profile(outcome.account_key, outcome.refresh.user, outcome.image)
        self._panel.show_before_after(self._before, outcome.image)
        self._set_phase("done", f"Done: your new picture is live "
                        f"({outcome.refresh.waited_s:.1f} s after the upload began).")
        self.finished.emit(outcome)

    def _on_error(self, exc: BaseException, uploaded: RenderResult | None = None,
                  account_key: str = "") -> None:
        self._finish()
        if isinstance(exc, NotPublishedYet) and uploaded is not None:
            # X has the picture: Retry only asks again, it must not upload a second time.
            self._set_phase("failed", "Uploaded, but X has not published the new picture "
                            "yet; nothing is lost.")
            self._banner.show_error(
                exc, retry=lambda: self.check_again(exc, uploaded, account_key))
            return
        self._set_phase("failed", "The upload did not finish; your image and crop are kept.")
        self._banner.show_error(exc, retry=self.start)

    def _on_cancelled(self) -> None:
        was = self.phase
        self._finish()
        if was == "uploading":
            text = "Upload cancelled; your profile picture was not changed."
        else:
            text = ("Stopped waiting. X already has the picture and may still publish it; "
                    "check your profile later.")
        self._set_phase("cancelled", text)
