"""The image being edited: source, proxy, crop model and the user's choices.

One :class:`CropDocument` is shared by the editor, the previews and the upload panel;
each listens to its signals. Work that leaves the GUI thread takes a
:class:`RenderJob` snapshot (plain, immutable data), never the document itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avatar_studio.core.imaging.crop import CropModel, CropState, SourceBox
from avatar_studio.core.imaging.render import RenderOptions
from avatar_studio.core.imaging.source import ImageSource, Proxy
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QImage


@dataclass(frozen=True)
class LoadedImage:
    """An opened image, ready to edit (built by the loader on a worker thread)."""

    source: ImageSource
    proxy: Proxy
    qproxy: QImage
    #: What to call it: a file path, a link, or "pasted image".
    origin: str
    path: Path | None = None
    frame: int = 0


@dataclass(frozen=True)
class RenderJob:
    """Everything a worker needs to render the upload bytes."""

    source: ImageSource
    state: CropState
    options: RenderOptions
    generation: int


def _rgb(color: QColor) -> tuple[int, int, int]:
    return (color.red(), color.green(), color.blue())


class CropDocument(QObject):
    """Signals:
        image_changed(): a new image (or frame) was loaded; the crop was reset.
        crop_changed(): the crop or an output option changed.
        view_changed(): only how the editor looks changed (mask shape).
    """

    image_changed = Signal()
    crop_changed = Signal()
    view_changed = Signal()

    def __init__(self, parent: QObject | None = None, *, circle: bool = True,
                 fill: QColor | None = None, flatten_alpha: bool = False) -> None:
        super().__init__(parent)
        self.loaded: LoadedImage | None = None
        self.model: CropModel | None = None
        self.circle = circle
        self.fill = fill if fill is not None else QColor("#ffffff")
        self.fit = False
        self.flatten_alpha = flatten_alpha
        #: Bumped on every change, so late background results can be recognised.
        self.generation = 0
        #: The crop as opened, until the user changes it (then None).
        self._untouched: CropState | None = None

    # -- image --------------------------------------------------------------------
    def set_image(self, loaded: LoadedImage) -> None:
        self.loaded = loaded
        info = loaded.source.info
        self.model = CropModel(info.width, info.height, fit=self.fit)
        self._untouched = self.model.state
        self._bump()
        self.image_changed.emit()
        self.crop_changed.emit()

    def set_frame(self, loaded: LoadedImage) -> None:
        """Another frame of the same animated source: the crop stays where it is."""
        if self.loaded is None or loaded.source is not self.loaded.source:
            return  # a late frame of an image the user has since replaced
        self.loaded = loaded
        self._bump()
        self.image_changed.emit()
        self.crop_changed.emit()

    @property
    def has_image(self) -> bool:
        return self.loaded is not None and self.model is not None

    @property
    def state(self) -> CropState | None:
        return self.model.state if self.model is not None else None

    @property
    def crop_untouched(self) -> bool:
        """True while the crop is still the one the image opened with."""
        return self.model is not None and self.model.state == self._untouched

    # -- edits --------------------------------------------------------------------
    def apply_first_crop(self, loaded: LoadedImage, box: SourceBox) -> bool:
        """Move the opening crop to ``box`` (oriented source px), as an ordinary edit,
        unless the image was replaced or the user has moved the crop meanwhile."""
        if (self.loaded is None or loaded.source is not self.loaded.source
                or not self.crop_untouched):
            return False
        self.edit(lambda m: m.set_source_box(box.x, box.y, box.size))
        if self.model is not None:
            self._untouched = self.model.state
        return True

    def edit(self, change: Callable[[CropModel], object]) -> None:
        if self.model is None:
            return
        before = self.model.state
        change(self.model)
        if self.model.state != before:
            self._bump()
            self.crop_changed.emit()

    def set_fit(self, on: bool) -> None:
        self.fit = on
        if self.model is not None:
            self.model.set_fit(on)
        self._bump()
        self.crop_changed.emit()

    def set_fill(self, color: QColor) -> None:
        self.fill = QColor(color)
        self._bump()
        self.crop_changed.emit()

    def set_flatten_alpha(self, on: bool) -> None:
        self.flatten_alpha = on
        self._bump()
        self.crop_changed.emit()

    def set_circle(self, on: bool) -> None:
        self.circle = on
        self.view_changed.emit()

    # -- output -------------------------------------------------------------------
    def render_options(self) -> RenderOptions:
        frame = self.loaded.frame if self.loaded is not None else 0
        fill = self.fill
        return RenderOptions(
            frame=frame,
            background=_rgb(fill) if self.flatten_alpha else None,
            fit_fill=(fill.red(), fill.green(), fill.blue(), 255) if self.fit else None,
        )

    def editor_fill(self) -> QColor | None:
        """What the editor paints under the image inside the frame."""
        if self.fit or (self.flatten_alpha and self.loaded is not None
                        and self.loaded.source.info.has_alpha):
            return self.fill
        return None

    def job(self) -> RenderJob | None:
        if self.loaded is None or self.model is None:
            return None
        return RenderJob(self.loaded.source, self.model.state, self.render_options(),
                         self.generation)

    def _bump(self) -> None:
        self.generation += 1
