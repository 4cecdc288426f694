"""Upload and refresh: the button, bytes-sent progress with Cancel, the service's
processing.

:class:`UploadController` is glue over the publish use case (core/publish.py): one
task (gui/tasks.py) starts a run for the current account with the exact bytes of the
preview and waits for it; the lane's events come back as progress reports on the GUI
thread. :class:`UploadPanel` only displays.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.publish import (
    LaneEvent,
    LaneResult,
    Phase,
    Publisher,
    PublishRun,
    Target,
)
from avatar_studio.core.services import registry
from avatar_studio.core.services.base import Confirmed, Receipt
from avatar_studio.core.services.errors import NotPublishedYet
from avatar_studio.gui.accounts import AccountManager, Current
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
    confirmed: Confirmed
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


def _run_lane(ctx: TaskContext, publisher: Publisher, target: Target,
              renderer: Callable[[RenderSpec], RenderResult] | None,
              seeded: dict[RenderSpec, RenderResult], crop_key: Hashable,
              box: _RunBox, uploaded: RenderResult | None = None,
              alt_text: str = "") -> UploadOutcome:
    """Worker side: one publish run for one account; its events become progress."""
    cache = (publisher.render_cache(crop_key, renderer, seeded=seeded)
             if renderer is not None else None)
    run = publisher.start(cache, [target], on_event=lambda event: ctx.progress("event", event),
                          alt_text=alt_text)
    box.run = run
    if ctx.cancelled:  # Cancel was pressed before the run existed
        run.cancel()
    (result,) = run.wait()
    box.result = dataclasses.replace(result, rendered=result.rendered or uploaded)
    return _outcome(box.result)


@dataclass
class _RunBox:
    """What the worker shares with the GUI thread: the run (to cancel it) and its
    result (read only after the task finished)."""

    run: PublishRun | None = None
    result: LaneResult | None = None


def _outcome(result: LaneResult) -> UploadOutcome:
    if result.error is not None:
        raise result.error
    assert result.confirmed is not None
    assert result.rendered is not None
    return UploadOutcome(result.confirmed, QImage.fromData(result.confirmed.image),
                         result.rendered, result.key)


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
                 spec: RenderSpec | None = None, publisher: Publisher | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._previews = previews
        self._accounts = accounts
        self._runner = runner
        self._panel = panel
        self._banner = banner
        self._spec = spec or registry.default_spec(registry.keys()[0])
        self._publisher = publisher or Publisher()
        self._all_sent = False
        self._handle: TaskHandle[Any] | None = None
        #: The publish run of the task in flight (set by the worker).
        self._box = _RunBox()
        self.phase = "idle"
        #: When the upload being followed began (time.monotonic), for honest durations.
        self._started_at = 0.0
        #: The crop generation the service already has but has not published yet: the
        #: same crop is not uploaded again, "Check Again" asks instead.
        self._pending_generation: int | None = None
        #: The crop generation the last status line is about.
        self._status_generation: int | None = None
        self._upload_generation = 0
        self._clock: Callable[[], float] = time.monotonic
        #: The alt text to send where the service stores it (the window's field).
        self.alt_text: Callable[[], str] = lambda: ""
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
        account_key = current.record.key
        # The preview's limits are the account's service's (set when the account changed).
        spec = self._spec = self._previews.spec
        self._banner.hide()
        self._panel.show_before_after(None, None)
        self._before = QImage(self._accounts.avatar)
        self._started_at = self._clock()
        self._pending_generation = None
        self._upload_generation = job.generation
        seeded = {spec: ready.result} if ready is not None else {}
        target = self._target(current)
        publisher, box = self._publisher, _RunBox()
        self._box = box

        def renderer(wanted: RenderSpec) -> RenderResult:
            return render_job(job, wanted).result

        alt_text = self.alt_text()

        def work(ctx: TaskContext) -> UploadOutcome:
            return _run_lane(ctx, publisher, target, renderer, seeded,
                             ("document", job.generation), box, alt_text=alt_text)

        self._run(work, "uploading", "Uploading…", account_key)

    def _target(self, current: Current, resume: Receipt | None = None) -> Target:
        accounts = self._accounts
        return Target(current.record.key, current.record.handle,
                      lambda: accounts.open_session(current), resume)

    def check_again(self, waited: NotPublishedYet, uploaded: RenderResult,
                    account_key: str) -> None:
        """After "not published yet": ask again; the picture is NOT uploaded twice."""
        current = self._accounts.current
        receipt = waited.receipt
        if (self.busy or current is None or current.record.key != account_key
                or not isinstance(receipt, Receipt)):
            # Another account is shown now: its upload button starts afresh.
            self.start()
            return
        self._banner.hide()
        target = self._target(current, receipt)
        publisher, box = self._publisher, _RunBox()
        self._box = box

        def work(ctx: TaskContext) -> UploadOutcome:
            return _run_lane(ctx, publisher, target, None, {}, None, box, uploaded)

        self._run(work, "checking", "Checking for the new image…", account_key)

    def _run(self, work: Callable[[TaskContext], UploadOutcome], phase: str, text: str,
             account_key: str) -> None:
        """Run an upload or a re-check through the publish use case."""
        box = self._box

        def failed(exc: BaseException) -> None:
            uploaded = box.result.rendered if box.result is not None else None
            self._on_error(exc, uploaded, account_key)

        self._handle = self._runner.run(work, on_success=self._on_done, on_error=failed,
                                        on_progress=self._on_progress,
                                        on_cancelled=self._on_cancelled)
        #: Every byte of the picture has left: from then on the service may have it.
        self._all_sent = False
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
            self._handle.cancel()  # before looking at the run: see _run_lane
            run = self._box.run
            if run is not None:
                run.cancel()

    def _on_progress(self, kind: str, event: LaneEvent) -> None:
        if kind != "event":
            return
        if event.phase is Phase.UPLOADING and event.total:
            sent, total = event.sent, event.total
            self._panel.progress.setRange(0, max(1, total))
            self._panel.progress.setValue(sent)
            self._panel.progress.setFormat(f"{format_bytes(sent)} of {format_bytes(total)}")
            self.bytes_sent.emit(sent, total)
            if sent >= total:
                self._all_sent = True
                self._set_phase("uploading", f"Sent {format_bytes(total)}; waiting for "
                                f"{self._spec.name}'s answer…")
            else:
                self._set_phase("uploading", f"Uploading… {format_bytes(sent)} of "
                                f"{format_bytes(total)}")
        elif event.phase is Phase.PROCESSING:
            self._panel.progress.setRange(0, 0)
            wait = f" (about {event.wait_s:g} s)" if event.wait_s > 0 else ""
            self._set_phase("processing", f"Uploaded. {self._spec.name} is "
                            f"processing the picture{wait}…")
        elif event.phase is Phase.CHECKING:
            n = event.check
            self.attempt.emit(n)
            self._set_phase("checking", f"Waiting for {self._spec.name} to show the new "
                            f"picture: {self._elapsed()} since the upload began (check {n})."
                            " Keep working; Esc stops waiting.")

    def _finish(self) -> None:
        self._handle = None
        self._panel.cancel.hide()
        self._panel.progress.hide()
        self.update_enabled()

    def _on_done(self, outcome: UploadOutcome) -> None:
        self._finish()
        # The user may have switched accounts meanwhile: only the uploader's is updated.
        self._accounts.show_profile(outcome.account_key, outcome.confirmed.identity,
                                    outcome.image)
        self._panel.show_before_after(self._before, outcome.image)
        self._pending_generation = None
        self._set_phase("done", f"Done: your new picture is live "
                        f"({self._elapsed()} after the upload began).")
        self.finished.emit(outcome)

    def _on_error(self, exc: BaseException, uploaded: RenderResult | None = None,
                  account_key: str = "") -> None:
        self._finish()
        if isinstance(exc, NotPublishedYet) and uploaded is not None:
            # The service has the picture: only a re-check, never a second upload of
            # the same crop.
            self._pending_generation = self._upload_generation
            self._set_phase("failed", f"Uploaded {self._elapsed()} ago, but "
                            f"{self._spec.name} has not published the new picture yet; "
                            "nothing is lost.")
            self.update_enabled()
            self._banner.show_error(
                exc, retry=lambda: self.check_again(exc, uploaded, account_key))
            return
        self._set_phase("failed", "The upload did not finish; your image and crop are kept.")
        self._banner.show_error(exc, retry=self.start)

    def _on_cancelled(self) -> None:
        was = self.phase
        self._finish()
        if was == "uploading" and not self._all_sent:
            text = "Upload cancelled; your profile picture was not changed."
        elif was == "uploading":
            # The whole picture had left: whether the service acts on it is its own.
            text = (f"Stopped waiting. {self._spec.name} had received the whole picture "
                    "and may still publish it; check your profile later.")
        else:
            text = (f"Stopped waiting. {self._spec.name} already has the picture and may "
                    "still publish it; check your profile later.")
        self._set_phase("cancelled", text)
