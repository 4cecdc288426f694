"""Previews of the other render specs among the publish targets.

The exact 400 px preview shows the current account's spec. When the targets include
other services (Bluesky's 1000 px JPEG, Mastodon's animated GIF…), each distinct spec
gets one line here: its picture at the size and in the shape that service shows it,
and the bytes it will upload against that service's budget, rendered from the same crop
once the user pauses (the exact preview's moment) on a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable

from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.publish import RenderCache
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.errors import split_details, user_message
from avatar_studio.gui.previews import (
    ExactPreview,
    PreviewController,
    info_line,
    render_job,
    strip_sizes,
)
from avatar_studio.gui.qtimage import pil_to_qimage, scaled_pixmap
from avatar_studio.gui.tasks import TaskContext, TaskRunner
from PySide6.QtCore import Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

THUMB = 36


class SpecRow(QWidget):
    def __init__(self, spec: RenderSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.side = min(strip_sizes(spec)[0], THUMB) if spec.display_sizes else THUMB
        self.picture = QLabel(self)
        self.picture.setFixedSize(self.side, self.side)
        shape = "round" if spec.round_display else "square"
        self.picture.setAccessibleName(f"{spec.name}: {shape} preview")
        self.picture.setToolTip(f"As {spec.name} shows it")
        self.info = QLabel(f"{spec.name}: preparing…", self)
        self.info.setObjectName("specInfo")
        self.info.setWordWrap(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.picture)
        row.addWidget(self.info, 1)
        self.setFixedHeight(self.side + 4)

    def show(self, result: RenderResult, image: QImage) -> None:  # type: ignore[override]
        self.picture.setPixmap(scaled_pixmap(image, self.side,
                                             round_mask=self.spec.round_display,
                                             dpr=self.picture.devicePixelRatioF()))
        text, ok = info_line(result, self.spec)
        self.info.setText(f"{self.spec.name}: {text}" if ok
                          else f"⚠ {self.spec.name}, over the limit: {text}")
        super().show()


class OtherSpecs(QWidget):
    """One line per spec among the targets besides the exact preview's."""

    def __init__(self, document: CropDocument, previews: PreviewController,
                 runner: TaskRunner, specs: Callable[[], list[RenderSpec]],
                 parent: QWidget | None = None, *,
                 cache: Callable[[], RenderCache | None] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("otherSpecs")
        self._doc = document
        self._previews = previews
        self._runner = runner
        self._specs = specs
        #: The crop's shared render cache (the publish reuses what is rendered here).
        self._cache = cache
        self.rows: dict[RenderSpec, SpecRow] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        previews.exact_ready.connect(self.on_exact_ready)
        document.crop_changed.connect(self.on_crop_changed)
        self.hide()

    def wanted(self) -> list[RenderSpec]:
        main = self._previews.spec
        return [s for s in self._specs() if s != main]

    @Slot()
    def refresh(self) -> None:
        """The targets changed: one line per other spec, rendered when there is a crop."""
        wanted = self.wanted()
        for spec in [s for s in self.rows if s not in wanted]:
            self.rows.pop(spec).deleteLater()
        added = []
        for spec in wanted:
            if spec not in self.rows:
                row = SpecRow(spec, self)
                self.rows[spec] = row
                self._layout.addWidget(row)
                added.append(spec)
        self.setVisible(bool(wanted))
        if added and self._previews.current() is not None:
            self._render(added)

    @Slot()
    def on_crop_changed(self) -> None:
        for row in self.rows.values():
            row.info.setText(f"{row.spec.name}: updating when you pause…")

    @Slot(object)
    def on_exact_ready(self, _preview: ExactPreview) -> None:
        wanted = self.wanted()
        if wanted:
            self._render(wanted)

    def _render(self, specs: list[RenderSpec]) -> None:
        job = self._doc.job()
        if job is None:
            return
        cache = self._cache() if self._cache is not None else None
        for spec in specs:
            def work(ctx: TaskContext, spec: RenderSpec = spec) -> tuple[RenderResult, QImage]:
                if cache is not None:
                    result = cache.get(spec)  # waits for the render pool: one at a time
                    return result, pil_to_qimage(result.image)
                out = render_job(job, spec)
                return out.result, out.image

            def done(out: tuple[RenderResult, QImage], spec: RenderSpec = spec) -> None:
                row = self.rows.get(spec)
                if row is not None and job.generation == self._doc.generation:
                    row.show(*out)

            def failed(exc: BaseException, spec: RenderSpec = spec) -> None:
                row = self.rows.get(spec)
                if row is not None and job.generation == self._doc.generation:
                    row.info.setText(f"⚠ {spec.name}: "
                                     f"{split_details(user_message(exc))[0]}")

            self._runner.run(work, on_success=done, on_error=failed)


