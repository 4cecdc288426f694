"""Upload and refresh: the button, bytes-sent progress with Cancel, X's processing.

:class:`UploadController` runs one task that sends the exact bytes of the preview, waits
out X's processing and polls until the new picture is published and downloaded; its
phases come back as progress reports. :class:`UploadPanel` only displays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from avatar_studio.core import services
from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.services import ServiceProfile
from avatar_studio.core.x.client import XClient
from avatar_studio.core.x.errors import NotPublishedYet
from avatar_studio.core.x.refresh import RefreshResult
from avatar_studio.gui.accounts import AccountManager
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.errors import ErrorBanner
from avatar_studio.gui.previews import PreviewController, format_bytes, render_job
from avatar_studio.gui.qtimage import scaled_pixmap
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

BEFORE_AFTER_SIDE = 44


@dataclass(frozen=True)
class UploadOutcome:
    refresh: RefreshResult
    image: QImage
    uploaded: RenderResult
    #: The account the picture was uploaded for (AccountRecord.key).
    account_key: str


def format_duration(seconds: float) -> str:
    """"4.2 s", "47 s", "2 min 5 s": how long something really took."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


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
        # The primary action: large enough to find at a glance, always at the bar's right.
        self.upload.setMinimumSize(220, 40)
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
        self.after_caption = QLabel("After", self)
        self.after.setToolTip("Downloaded back from the service after the upload")
        # A bar along the bottom of the window: the pictures, the status with its
        # progress, then Cancel and the primary action at the right, always in view.
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for picture, caption in ((self.before, self.before_caption),
                                 (self.after, self.after_caption)):
            column = QVBoxLayout()
            column.setSpacing(0)
            column.addWidget(picture, 0, Qt.AlignmentFlag.AlignHCenter)
            column.addWidget(caption, 0, Qt.AlignmentFlag.AlignHCenter)
            row.addLayout(column)
        self.status_box = QWidget(self)
        status_layout = QVBoxLayout(self.status_box)
        status_layout.setContentsMargins(0, 0, 0, 0)
        status_layout.addWidget(self.status)
        status_layout.addWidget(self.progress)
        row.addWidget(self.status_box, 1)
        row.addWidget(self.cancel, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.upload, 0, Qt.AlignmentFlag.AlignVCenter)
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
                 service: ServiceProfile = services.X) -> None:
        super().__init__(parent)
        self._doc = document
        self._previews = previews
        self._accounts = accounts
        self._runner = runner
        self._panel = panel
        self._banner = banner
        self._service = service
        self._handle: TaskHandle[Any] | None = None
        self.phase = "idle"
        #: When the upload being followed began (time.monotonic), for honest durations.
        self._started_at = 0.0
        #: The crop generation the service already has but has not published yet: the
        #: same crop is not uploaded again, "Check Again" asks instead.
        self._pending_generation: int | None = None
        #: The crop generation the last status line is about.
        self._status_generation: int | None = None
        self._clock: Callable[[], float] = time.monotonic
        self._upload_generation = 0
        panel.upload.clicked.connect(self.start)
        panel.cancel.clicked.connect(self.cancel)
        document.crop_changed.connect(self.on_document_crop_changed)
        document.image_changed.connect(self.update_enabled)
        accounts.current_changed.connect(self.update_enabled)
        self.update_enabled()

    @property
    def busy(self) -> bool:
        return self._handle is not None

    def can_upload(self) -> bool:
        return (self._doc.has_image and self._accounts.current is not None and not self.busy
                and self._pending_generation != self._doc.generation)

    @Slot()
    def on_document_crop_changed(self) -> None:
        """A finished upload's words and pictures are about a crop that is gone now."""
        if (not self.busy and self.phase in ("done", "failed", "cancelled")
                and self._status_generation != self._doc.generation):
            self._panel.status.clear()
            self._panel.show_before_after(None, None)
            self.phase = "idle"
            self.phase_changed.emit("idle")
        self.update_enabled()

    @Slot()
    def update_enabled(self) -> None:
        self._panel.upload.setEnabled(self.can_upload())
        if self._accounts.current is None:
            self._panel.upload.setToolTip("Sign in first")
        elif not self._doc.has_image:
            self._panel.upload.setToolTip("Open or drop an image first")
        elif self._pending_generation == self._doc.generation and not self.busy:
            self._panel.upload.setToolTip("The service already has this picture: use "
                                          "Check Again, or change the crop to upload anew")
        else:
            self._panel.upload.setToolTip("Send exactly the 400×400 preview to X (Ctrl+U)")

    def _set_phase(self, phase: str, text: str) -> None:
        self.phase = phase
        self._status_generation = self._doc.generation
        self._panel.status.setText(text)
        self.phase_changed.emit(phase)

    def _elapsed(self) -> str:
        return format_duration(self._clock() - self._started_at)

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
        service = self._service
        self._banner.hide()
        self._panel.show_before_after(None, None)
        self._before = QImage(self._accounts.avatar)
        self._started_at = self._clock()
        self._pending_generation = None
        self._upload_generation = job.generation

        sent: list[RenderResult] = []

        def work(ctx: TaskContext) -> UploadOutcome:
            with client:
                result = (ready.result if ready is not None
                          else render_job(job, service).result)
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
            wait = args[0] / 1000 if args else self._service.processing_min_wait_s
            self._set_phase("processing", f"Uploaded. {self._service.display_name} is "
                            f"processing the picture (about {wait:g} s)…")
        elif kind == "attempt":
            (n,) = args
            self.attempt.emit(n)
            self._set_phase("checking", f"Waiting for {self._service.display_name} to show "
                            f"the new picture: {self._elapsed()} since the upload began "
                            f"(check {n}). Keep working; Esc stops waiting.")

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
        self._pending_generation = None
        self._set_phase("done", f"Done: your new picture is live "
                        f"({self._elapsed()} after the upload began).")
        self.finished.emit(outcome)

    def _on_error(self, exc: BaseException, uploaded: RenderResult | None = None,
                  account_key: str = "") -> None:
        self._finish()
        if isinstance(exc, NotPublishedYet) and uploaded is not None:
            # X has the picture: Retry only asks again, it must not upload a second time.
            self._pending_generation = self._upload_generation
            self._set_phase("failed", f"Uploaded {self._elapsed()} ago, but X has not "
                            "published the new picture yet; nothing is lost.")
            self.update_enabled()
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
