"""The previews: 400×400 from the exact upload bytes, round ones at X's sizes, facts.

:class:`PreviewPanel` only shows what it is given. :class:`PreviewController` feeds it: a
quick preview from the proxy on every change, then — once the user pauses — the image
decoded back from the bytes ``render()`` produced on a worker thread. Those bytes are kept
(:attr:`PreviewController.latest`) so the upload sends exactly what was shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from avatar_studio.core.imaging.animation import (
    AnimationResult,
    render_animation,
    should_animate,
)
from avatar_studio.core.imaging.render import RenderResult, render
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.services import registry
from avatar_studio.gui.animationpreview import AnimationPlayer
from avatar_studio.gui.cropgeometry import render_quick
from avatar_studio.gui.document import CropDocument, RenderJob
from avatar_studio.gui.qtimage import exact_pixmap, pil_to_qimage, scaled_pixmap
from avatar_studio.gui.tasks import TaskContext, TaskRunner
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

#: The round sizes of the compact strip under the exact preview (X shows 73, 48, 24).
ROUND_SIZES = (73, 48, 24)
DEBOUNCE_MS = 300


@dataclass(frozen=True)
class ExactPreview:
    """Bytes ready for upload, with the picture decoded back from them."""

    result: RenderResult
    image: QImage
    generation: int


def format_bytes(n: int) -> str:
    return f"{n / 1000:.1f} KB" if n < 1_000_000 else f"{n / 1e6:.2f} MB"


def strip_sizes(spec: RenderSpec) -> tuple[int, ...]:
    """The display sizes of ``spec`` small enough for the compact strip (X's by default)."""
    small = tuple(size for size in spec.display_sizes if size <= 96)
    return small[:3] or ROUND_SIZES


def info_line(result: RenderResult, spec: RenderSpec) -> tuple[str, bool]:
    size = len(result.data)
    ok = size < spec.max_bytes_exclusive
    text = (f"{result.format} · {result.width}×{result.height} px · {format_bytes(size)} "
            f"of {spec.name}'s {format_bytes(spec.max_bytes_exclusive)} limit")
    return text, ok


class PreviewPanel(QWidget):
    """Signals:
        frame_chosen(int): the user picked another frame of an animated image.
    """

    frame_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None, *,
                 spec: RenderSpec | None = None) -> None:
        super().__init__(parent)
        self._spec = spec or registry.default_spec(registry.keys()[0])
        self.setObjectName("previewPanel")
        side = self.spec.output_side
        self.big = QLabel(self)
        self.big.setObjectName("preview400")
        self.big.setFixedSize(side, side)
        self.big.setAccessibleName(f"{side} by {side} preview of the upload")
        # One uploaded pixel per logical pixel, never stretched: a smaller upload (a
        # small source is never enlarged) sits in the middle at its own size.
        self.big.setScaledContents(False)
        self.big.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge = QLabel("No image yet", self)
        self.badge.setObjectName("previewBadge")
        self.badge.setWordWrap(True)  # never wider than the exact preview
        self.badge.setAccessibleName("Preview status")
        self.rounds: dict[int, QLabel] = {}
        strip = QHBoxLayout()
        strip.setSpacing(8)
        self._strip = QHBoxLayout()
        self._strip.setSpacing(8)
        strip.addLayout(self._strip)
        self._build_strip()
        facts = QVBoxLayout()
        facts.setSpacing(2)
        self.info = QLabel("", self)
        self.info.setObjectName("previewInfo")
        self.info.setAccessibleName("Output format and size")
        self.info.setWordWrap(True)
        self.warnings = QLabel("", self)
        self.warnings.setObjectName("previewWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setAccessibleName("Warnings about the picture")
        facts.addWidget(self.info)
        facts.addWidget(self.warnings)
        facts.addStretch(1)
        strip.addLayout(facts, 1)
        self.frame_row = QWidget(self)
        frame_layout = QHBoxLayout(self.frame_row)
        frame_layout.setContentsMargins(0, 0, 0, 0)
        frame_label = QLabel("Fra&me:", self.frame_row)
        frame_layout.addWidget(frame_label)
        self.frame_picker = QSpinBox(self.frame_row)
        self.frame_picker.setAccessibleName("Frame to upload")
        self.frame_picker.setToolTip(f"{self.spec.name} keeps one frame of an "
                                     "animation: choose which")
        self.frame_picker.setMinimum(1)
        frame_label.setBuddy(self.frame_picker)
        self.frame_picker.valueChanged.connect(self.on_frame_picker_value_changed)
        frame_layout.addWidget(self.frame_picker)
        # Hidden or shown, the row keeps its place: nothing below it moves.
        policy = self.frame_row.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.frame_row.setSizePolicy(policy)
        self.frame_row.hide()
        badge_row = QHBoxLayout()
        badge_row.addWidget(self.badge, 1)
        badge_row.addWidget(self.frame_row)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.big)
        layout.addLayout(badge_row)
        layout.addLayout(strip)
        layout.addStretch(1)
        self.shown: QImage = QImage()
        self.is_exact = False

    @property
    def spec(self) -> RenderSpec:
        return self._spec

    @spec.setter
    def spec(self, spec: RenderSpec) -> None:
        changed = spec.display_sizes != self._spec.display_sizes or \
            spec.round_display != self._spec.round_display
        self._spec = spec
        if changed:
            self._build_strip()
            if not self.shown.isNull():
                self.show_image(self.shown, exact=self.is_exact)

    def _build_strip(self) -> None:
        """The small previews at the sizes the service shows (round or square as it
        does), up to 96 px: the large sizes are the exact preview's business."""
        while self._strip.count():
            item = self._strip.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.rounds.clear()
        spec = self._spec
        sizes = strip_sizes(spec)
        shape = "Round" if spec.round_display else "Square"
        for size in sizes:
            label = QLabel(self)
            label.setFixedSize(size, size)
            label.setAccessibleName(f"{shape} preview at {size} pixels")
            label.setToolTip(f"As {spec.name} shows it at {size} px")
            self.rounds[size] = label
            self._strip.addWidget(label, 0, Qt.AlignmentFlag.AlignTop)

    def show_image(self, image: QImage, *, exact: bool) -> None:
        self.shown = image
        self.is_exact = exact
        room = self.big.width()
        larger = image.width() > room or image.height() > room
        if larger:
            # A service that takes more than the column holds (Bluesky's 1000 px): the
            # whole picture, scaled once to fit, rather than a clipped middle.
            dpr = self.big.devicePixelRatioF()
            fitted = image.scaled(round(room * dpr), round(room * dpr),
                                  Qt.AspectRatioMode.KeepAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation)
            pixmap = exact_pixmap(fitted, 1.0)
            pixmap.setDevicePixelRatio(dpr)
            self.big.setPixmap(pixmap)
        else:
            self.big.setPixmap(exact_pixmap(image, self.big.devicePixelRatioF()))
        source = image
        for size, label in sorted(self.rounds.items(), reverse=True):
            dpr = label.devicePixelRatioF()
            if not exact:
                # While the crop moves, each smaller picture comes from the one above it
                # (a tenth of the work of scaling the 400 px one again); the exact ones,
                # on a pause, come from the exact picture.
                px = max(1, round(size * dpr))
                source = source.scaled(px, px, Qt.AspectRatioMode.IgnoreAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation)
            label.setPixmap(scaled_pixmap(source, size, round_mask=self._spec.round_display,
                                          dpr=dpr))
        side = self.spec.output_side
        if not exact:
            self.badge.setText("Quick preview… (the exact one follows when you pause)")
        elif larger:
            self.badge.setText(f"Exactly what will be uploaded: {image.width()}×"
                               f"{image.height()} px, shown at {room} px")
        elif image.width() < side:
            self.badge.setText(f"Exactly what will be uploaded: {image.width()}×"
                               f"{image.height()} px, which {self.spec.name} "
                               "enlarges")
        else:
            self.badge.setText("Exactly what will be uploaded, pixel for pixel")

    def event(self, event: QEvent) -> bool:
        # Moved to a screen with another pixel ratio: rebuild the pixmaps for it.
        if event.type() == QEvent.Type.DevicePixelRatioChange and not self.shown.isNull():
            self.show_image(self.shown, exact=self.is_exact)
        return super().event(event)

    def show_info(self, text: str, ok: bool) -> None:
        self.info.setText(text if ok else f"⚠ Over the limit: {text}")
        self.info.setProperty("over", not ok)

    def set_warnings(self, lines: list[str]) -> None:
        self.warnings.setText("\n".join(f"⚠ {line}" for line in lines))
        self.warnings.setVisible(bool(lines))

    def set_frames(self, count: int, current: int) -> None:
        self.frame_row.setVisible(count > 1)
        self.frame_picker.blockSignals(True)
        self.frame_picker.setMaximum(max(1, count))
        self.frame_picker.setValue(current + 1)
        self.frame_picker.blockSignals(False)

    def clear(self) -> None:
        self.shown = QImage()
        self.is_exact = False
        self.big.clear()
        for label in self.rounds.values():
            label.clear()
        self.info.clear()
        self.set_warnings([])
        self.badge.setText("No image yet")

    @Slot(int)
    def on_frame_picker_value_changed(self, value: int) -> None:
        self.frame_chosen.emit(value - 1)


def source_warnings(doc: CropDocument, spec: RenderSpec) -> list[str]:
    if doc.loaded is None:
        return []
    info = doc.loaded.source.info
    lines = []
    if min(info.width, info.height) < spec.output_side:
        lines.append(f"The picture is only {info.width}×{info.height} px: it will look soft "
                     f"at {spec.output_side}×{spec.output_side}.")
    if info.animated and not spec.keeps_animation:
        lines.append(f"Animated ({info.frame_count} frames): {spec.name} keeps "
                     "one frame. Pick it above.")
    elif info.animated and spec.accepts("GIF"):
        lines.append(f"Animated ({info.frame_count} frames): {spec.name} keeps the "
                     "animation; the preview plays what will be uploaded.")
    if info.has_alpha:
        lines.append("Transparency is flattened onto the fill colour."
                     if doc.flatten_alpha else "Transparency is kept (PNG).")
    return lines


class PreviewController(QObject):
    """Keeps the panel in step with the document.

    Signals:
        exact_ready(object): an ExactPreview for the current crop.
        failed(object): rendering raised (e.g. the byte limit cannot be met).
    """

    exact_ready = Signal(object)
    failed = Signal(object)

    def __init__(self, document: CropDocument, panel: PreviewPanel, runner: TaskRunner,
                 parent: QObject | None = None, *, spec: RenderSpec | None = None,
                 debounce_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self._doc = document
        self._panel = panel
        self._runner = runner
        self._spec = spec or registry.default_spec(registry.keys()[0])
        self.latest: ExactPreview | None = None
        self._render_now = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self.render_exact)
        self.player = AnimationPlayer(lambda image: panel.show_image(image, exact=True), self)
        document.crop_changed.connect(self.on_document_crop_changed)
        document.image_changed.connect(self.on_document_image_changed)

    def current(self) -> ExactPreview | None:
        """The exact render, if it matches the crop as it is now."""
        if self.latest is not None and self.latest.generation == self._doc.generation:
            return self.latest
        return None

    @Slot()
    def on_document_image_changed(self) -> None:
        loaded = self._doc.loaded
        if loaded is None:
            self._panel.clear()
            return
        self._panel.set_frames(loaded.source.info.frame_count, loaded.frame)
        # A new picture: render its exact preview at once. The debounce is for a user who
        # is moving the crop, and nobody has moved yet.
        self._render_now = True

    @Slot()
    def on_document_crop_changed(self) -> None:
        loaded, state = self._doc.loaded, self._doc.state
        if loaded is None or state is None:
            return
        info = loaded.source.info
        self.player.stop()
        quick = render_quick(loaded.qproxy, loaded.proxy.scale, info.width, info.height,
                             state, self._spec.output_side, self._doc.letterbox_fill(),
                             self._doc.under_fill(), has_alpha=info.has_alpha)
        self._panel.show_image(quick, exact=False)
        self._panel.set_warnings(source_warnings(self._doc, self._spec))
        if self._render_now:
            self._render_now = False
            self.render_exact()
        else:
            self._timer.start()

    @property
    def spec(self) -> RenderSpec:
        return self._spec

    def set_spec(self, spec: RenderSpec) -> None:
        """Preview for another service's limits (the account in use changed)."""
        if spec == self._spec:
            return
        self._spec = spec
        self._panel.spec = spec
        self.latest = None
        self.player.stop()
        if self._doc.job() is not None:
            self._panel.set_warnings(source_warnings(self._doc, spec))
            self.render_exact()

    def stop(self) -> None:
        self._timer.stop()
        self.player.stop()

    def render_exact(self) -> None:
        self._timer.stop()
        job = self._doc.job()
        if job is None:
            return
        spec = self._spec

        def work(ctx: TaskContext) -> ExactPreview:
            return render_job(job, spec)

        def failed(exc: BaseException) -> None:
            # Only the crop as it is now may put an error in front of the user.
            if job.generation == self._doc.generation:
                self.failed.emit(exc)

        self._runner.run(work, on_success=self._on_exact, on_error=failed)

    def _on_exact(self, preview: ExactPreview) -> None:
        if preview.generation != self._doc.generation:
            return  # the user moved on; a newer render is queued
        self.latest = preview
        result = preview.result
        if isinstance(result, AnimationResult):
            self.player.play([pil_to_qimage(f) for f in result.frames], result.durations,
                             result.loop)
        else:
            self.player.stop()
            self._panel.show_image(preview.image, exact=True)
        self._panel.show_info(*info_line(result, self._spec))
        self.exact_ready.emit(preview)


def render_job(job: RenderJob, spec: RenderSpec) -> ExactPreview:
    result: RenderResult
    if should_animate(job.source, spec, None):
        # The service keeps animations (Mastodon): every frame, as one GIF.
        result = render_animation(job.source, job.state, spec=spec, options=job.options)
    else:
        result = render(job.source, job.state, spec=spec, options=job.options)
    return ExactPreview(result=result, image=pil_to_qimage(result.image),
                        generation=job.generation)
