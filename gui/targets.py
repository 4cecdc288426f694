"""Publish to several accounts: the list of targets and the glue over the publish use case.

:class:`TargetList` shows every signed-in account grouped by service, each with a service
badge (and SANDBOX for the sandboxes), a check box that makes it a target and, during a
publish, its own phase, progress, result and Retry. :class:`MultiPublish` runs one
:class:`~avatar_studio.core.publish.Publisher` run for the checked accounts (one render
per distinct RenderSpec, one lane per account); the lanes' events arrive on worker
threads and are carried to the GUI thread by a queued signal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from avatar_studio.core.accounts import account_name
from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.publish import (
    FINAL,
    LaneEvent,
    LaneResult,
    Phase,
    Publisher,
    RenderCache,
    Target,
)
from avatar_studio.core.services.base import Receipt
from avatar_studio.core.services.errors import NotPublishedYet
from avatar_studio.core.settings import AccountRecord
from avatar_studio.gui.accounts import AccountManager
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.errors import describe, split_details
from avatar_studio.gui.previews import PreviewController, format_bytes, render_job
from avatar_studio.gui.upload import format_duration
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

PHASE_WORDS = {
    Phase.QUEUED: "Waiting…", Phase.OPENING: "Signing in…", Phase.RENDERING: "Preparing…",
    Phase.UPLOADING: "Uploading…", Phase.PROCESSING: "Processing…",
    Phase.CHECKING: "Checking…", Phase.DONE: "✓ Done", Phase.CANCELLED: "Cancelled",
    Phase.FAILED: "Failed",
}


def _badge(text: str, parent: QWidget, name: str, strong: bool = False) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName(name)
    # Palette roles only: readable in either theme, re-resolved on a theme change.
    colours = ("background: palette(highlight); color: palette(highlighted-text);"
               if strong else "border: 1px solid palette(mid); color: palette(window-text);")
    label.setStyleSheet(f"QLabel#{name} {{ {colours} border-radius: 3px; padding: 0 4px;"
                        " font-size: 11px; font-weight: 600; }")
    return label


class TargetRow(QWidget):
    """One account: check box, badges, phase, progress, Retry."""

    def __init__(self, record: AccountRecord, name: str, service_name: str, sandbox: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record = record
        self.check = QCheckBox(name, self)
        self.check.setAccessibleName(f"Publish to {name} on {service_name}")
        self.check.setToolTip(f"Publish to {name} ({service_name})")
        self.service_badge = _badge(service_name, self, "serviceBadge")
        self.sandbox_badge = _badge("SANDBOX", self, "targetSandboxBadge", strong=True)
        self.sandbox_badge.setToolTip("A local stand-in: nothing reaches the real service")
        self.sandbox_badge.setVisible(sandbox)
        self.status = QLabel("", self)
        self.status.setObjectName("laneStatus")
        self.status.setAccessibleName(f"Publishing to {name}")
        self.status.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName(f"Progress for {name}")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        self.show_button = QToolButton(self)
        self.show_button.setText("Show")
        self.show_button.setAccessibleName(f"Show {name}")
        self.show_button.setToolTip("Show this account's picture, and its service's exact "
                                    "preview on the right")
        self.show_button.setAutoRaise(True)
        self.retry = QToolButton(self)
        self.retry.setText("Retry")
        self.retry.setAccessibleName(f"Retry {name}")
        self.retry.hide()
        # One line whatever happens: phase, progress and Retry never change its height.
        self.status.setWordWrap(False)
        self.progress.setFixedWidth(80)
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.progress.setSizePolicy(policy)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.addWidget(self.service_badge, 0, 0)
        grid.addWidget(self.sandbox_badge, 0, 1)
        grid.addWidget(self.check, 0, 2)
        grid.addWidget(self.status, 0, 3)
        grid.addWidget(self.progress, 0, 4)
        grid.addWidget(self.retry, 0, 5)
        grid.addWidget(self.show_button, 0, 6)
        grid.setColumnStretch(3, 1)
        self.setFixedHeight(max(self.check.sizeHint().height(),
                                self.retry.sizeHint().height()))

    def show_event(self, event: LaneEvent) -> None:
        words = PHASE_WORDS[event.phase]
        if event.phase is Phase.UPLOADING and event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.sent)
            words = f"Uploading… {format_bytes(event.sent)} of {format_bytes(event.total)}"
        elif event.phase is Phase.CHECKING:
            words = f"Waiting for the new picture to show (check {event.check})…"
        elif event.phase not in FINAL:
            self.progress.setRange(0, 0)
        self.progress.setVisible(event.phase not in FINAL)
        self.retry.hide()
        self.set_status(words)

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)


class TargetList(QWidget):
    """Every signed-in account, grouped by service, with a target check box each.

    Signals:
        targets_changed(): a check box was ticked or cleared, or the list changed.
        retry_requested(str): the Retry (or Check Again) of the account with this key.
    """

    targets_changed = Signal()
    retry_requested = Signal(str)

    def __init__(self, manager: AccountManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("targetList")
        self._manager = manager
        self.rows: dict[str, TargetRow] = {}
        self._checked: set[str] = set()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.title = QLabel("Publish to (grouped by service):", self)
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        manager.accounts_changed.connect(self.refill)
        manager.current_changed.connect(self._on_current_changed)
        self.refill()

    def _service_name(self, key: str) -> str:
        try:
            return str(self._manager.services(key).display_name)
        except KeyError:
            return key

    @Slot()
    def refill(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.title:
                widget.deleteLater()
        self.rows.clear()
        records = self._manager.records()
        self._checked &= {r.key for r in records}
        self._layout.addWidget(self.title)
        # With one account there is nothing to choose: it is the target.
        self.setVisible(len(records) > 1)
        services: list[str] = []
        for record in records:
            if record.service not in services:
                services.append(record.service)
        for service in services:
            for record in (r for r in records if r.service == service):
                row = TargetRow(record, account_name(record, records),
                                self._service_name(service),
                                self._manager.is_sandbox(record), self)
                row.check.setChecked(record.key in self._checked)
                row.check.toggled.connect(
                    lambda on, k=record.key: self._on_toggled(k, on))
                row.retry.clicked.connect(
                    lambda _=False, k=record.key: self.retry_requested.emit(k))
                row.show_button.clicked.connect(
                    lambda _=False, k=record.key: self._manager.select(k))
                self.rows[record.key] = row
                self._layout.addWidget(row)
        self.targets_changed.emit()

    def _on_toggled(self, key: str, on: bool) -> None:
        if on:
            self._checked.add(key)
        else:
            self._checked.discard(key)
        self.targets_changed.emit()

    @Slot(object)
    def _on_current_changed(self, current: object) -> None:
        # A new sign-in (or the first account) is a target until the user says not.
        record = getattr(current, "record", None)
        for key, row in self.rows.items():
            shown = record is not None and key == record.key
            row.show_button.setText("Shown" if shown else "Show")
            row.show_button.setEnabled(not shown)
        if record is not None and not self._checked:
            self.set_checked(record.key, True)

    def set_checked(self, key: str, on: bool) -> None:
        row = self.rows.get(key)
        if row is not None:
            row.check.setChecked(on)
        elif on:
            self._checked.add(key)

    def targets(self) -> list[AccountRecord]:
        return [row.record for row in self.rows.values() if row.check.isChecked()]


@dataclass(frozen=True)
class PublishSummary:
    results: list[LaneResult]

    @property
    def done(self) -> list[LaneResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[LaneResult]:
        return [r for r in self.results if not r.ok]


class _Relay(QObject):
    """Lane events from the publisher's threads, delivered on the GUI thread."""

    arrived = Signal(object, QImage)

    def deliver(self, event: LaneEvent) -> None:
        """On the lane's thread: the new picture is decoded here, not on the GUI's."""
        confirmed = event.result.confirmed if event.result is not None else None
        image = QImage.fromData(confirmed.image) if confirmed is not None else QImage()
        self.arrived.emit(event, image)


class MultiPublish(QObject):
    """One publish run to every checked account, with a lane each.

    Signals:
        lane_event(object): a LaneEvent, on the GUI thread.
        finished(object): a PublishSummary once every lane has ended.
        busy_changed(bool): a run started or ended.
    """

    lane_event = Signal(object)
    finished = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, document: CropDocument, previews: PreviewController,
                 manager: AccountManager, targets: TargetList, publisher: Publisher,
                 parent: QObject | None = None, *,
                 alt_text: Callable[[], str] = lambda: "") -> None:
        super().__init__(parent)
        self._doc = document
        self._previews = previews
        self._manager = manager
        self._list = targets
        self._publisher = publisher
        self._alt_text = alt_text
        self._relay = _Relay(self)
        self._relay.arrived.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        targets.retry_requested.connect(self.retry)
        self._runs: list[object] = []
        #: Lanes still running, by account key.
        self.running: set[str] = set()
        self.results: dict[str, LaneResult] = {}
        self._cache: RenderCache | None = None
        self._run_keys: list[str] = []
        self._started_at = 0.0
        self._clock: Callable[[], float] = time.monotonic

    @property
    def busy(self) -> bool:
        return bool(self.running)

    def start(self, records: list[AccountRecord] | None = None) -> bool:
        """Publish the crop as it is now to ``records`` (default: the checked ones)."""
        records = records if records is not None else self._list.targets()
        cache = self.cache_for_now()
        if self.busy or cache is None or not records:
            return False
        targets = [Target(r.key, r.label, self._manager.session_opener(r)) for r in records]
        self._begin(targets, cache)
        return True

    def cache_for_now(self) -> RenderCache | None:
        """The render cache of the crop as it is now, shared by the other specs'
        previews and the publish: each spec is rendered once per crop (on the
        publisher's render pool), the exact preview's own render reused."""
        job = self._doc.job()
        if job is None:
            return None
        key = ("document", job.generation)
        cache = self._cache
        if cache is not None and cache.crop_key == key:
            return cache
        ready = self._previews.current()
        seeded: dict[RenderSpec, RenderResult] = (
            {self._previews.spec: ready.result} if ready is not None else {})

        def renderer(spec: RenderSpec) -> RenderResult:
            return render_job(job, spec).result

        self._cache = self._publisher.render_cache(key, renderer, seeded=seeded)
        return self._cache

    def retry(self, key: str) -> None:
        """One lane again: a re-check when the service already has the picture."""
        last = self.results.get(key)
        row = self._list.rows.get(key)
        if self.busy or row is None:
            return
        error = last.error if last is not None else None
        receipt = error.receipt if isinstance(error, NotPublishedYet) else None
        if isinstance(receipt, Receipt):
            target = Target(key, row.record.label, self._manager.session_opener(row.record),
                            receipt)
            self._begin([target], None)
        else:
            self.start([row.record])

    def _begin(self, targets: list[Target], cache: object) -> None:
        self.running = {t.key for t in targets}
        self._run_keys = [t.key for t in targets]
        for key in self.running:
            self.results.pop(key, None)
        self._started_at = self._clock()
        relay = self._relay
        run = self._publisher.start(cache, targets,  # type: ignore[arg-type]
                                    on_event=relay.deliver, alt_text=self._alt_text())
        self._runs = [run]
        self.busy_changed.emit(True)

    def cancel(self) -> None:
        for run in self._runs:
            run.cancel()  # type: ignore[attr-defined]

    @Slot(object, QImage)
    def _on_event(self, event: LaneEvent, image: QImage) -> None:
        row = self._list.rows.get(event.key)
        if row is not None:
            row.show_event(event)
        if event.phase in FINAL and event.result is not None:
            self._finish_lane(event.result, row, image)
        self.lane_event.emit(event)

    def _finish_lane(self, result: LaneResult, row: TargetRow | None,
                     image: QImage) -> None:
        self.results[result.key] = result
        self.running.discard(result.key)
        if row is not None:
            if result.ok:
                row.set_status(f"✓ Done: the new picture is live "
                               f"({format_duration(self._clock() - self._started_at)})")
            elif result.error is not None:
                report = describe(result.error, can_retry=True)
                plain, details = split_details(report.message)
                row.set_status(f"⚠ {plain}")
                row.status.setToolTip(details or report.message)
                row.retry.setText("Check Again" if isinstance(result.error, NotPublishedYet)
                                  else "Retry")
                row.retry.setVisible(report.action is not None)
        if result.ok and result.confirmed is not None:
            self._manager.show_profile(result.key, result.confirmed.identity, image)
        if not self.running:
            self.busy_changed.emit(False)
            self.finished.emit(PublishSummary([self.results[k] for k in self._run_keys
                                               if k in self.results]))
