"""The image being edited: source, proxy, crop model and the user's choices.

One :class:`CropDocument` is shared by the editor, the previews and the upload panel;
each listens to its signals. Work that leaves the GUI thread takes a
:class:`RenderJob` snapshot (plain, immutable data), never the document itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avatar_studio.core.history import History
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


@dataclass(frozen=True)
class Snapshot:
    """Everything undo brings back: the crop and the output choices."""

    state: CropState | None
    fit: bool
    fill: str
    flatten_alpha: bool
    frame: int


class CropDocument(QObject):
    """Signals:
        image_changed(): a new image (or frame) was loaded; the crop was reset.
        crop_changed(): the crop or an output option changed.
        view_changed(): only how the editor looks changed (mask shape).
        history_changed(): what Undo and Redo would do changed.
        frame_wanted(int): undo or redo went back to another frame of an animation; the
            window loads it (the document only holds frames it was given).
    """

    image_changed = Signal()
    crop_changed = Signal()
    view_changed = Signal()
    history_changed = Signal()
    frame_wanted = Signal(int)

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
        self.history: History[Snapshot] = History(self.snapshot())

    # -- undo ---------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return Snapshot(self.state, self.fit, self.fill.name(), self.flatten_alpha,
                        self.loaded.frame if self.loaded is not None else 0)

    def _record(self, label: str, merge: str | None = None) -> None:
        if self.history.record(self.snapshot(), label, merge):
            self.history_changed.emit()

    def end_gesture(self) -> None:
        """A drag ended: the next move is a new undo step."""
        self.history.seal()

    def undo(self) -> None:
        self._restore(self.history.undo())

    def redo(self) -> None:
        self._restore(self.history.redo())

    def _restore(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        self.fit = snap.fit
        self.fill = QColor(snap.fill)
        self.flatten_alpha = snap.flatten_alpha
        if self.model is not None:
            self.model.set_fit(snap.fit)
            if snap.state is not None:
                self.model.set_state(snap.state)
        self._bump()
        self.history_changed.emit()
        self.crop_changed.emit()
        if self.loaded is not None and snap.frame != self.loaded.frame:
            self.frame_wanted.emit(snap.frame)

    # -- image --------------------------------------------------------------------
    def set_image(self, loaded: LoadedImage) -> None:
        self.loaded = loaded
        info = loaded.source.info
        self.model = CropModel(info.width, info.height, fit=self.fit)
        self._untouched = self.model.state
        # A new picture starts a new history: undo never reaches into another image.
        self.history = History(self.snapshot())
        self._bump()
        self.history_changed.emit()
        self.image_changed.emit()
        self.crop_changed.emit()

    def set_frame(self, loaded: LoadedImage) -> None:
        """Another frame of the same animated source: the crop stays where it is."""
        if self.loaded is None or loaded.source is not self.loaded.source:
            return  # a late frame of an image the user has since replaced
        self.loaded = loaded
        self._bump()
        self._record("Frame Choice")
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
        if self.model is None:
            return False
        before = self.model.state
        self.model.set_source_box(box.x, box.y, box.size)
        self._untouched = self.model.state
        # How the picture opened, not a change of the user's: undo does not go back
        # past it (Ctrl+0 and Centre Crop are the undoable ways back).
        self.history.replace_current(self.snapshot())
        if self.model.state != before:
            self._bump()
            self.crop_changed.emit()
        return True

    def reset_crop(self) -> None:
        """Back to the crop the picture opened with (framed on the face, on the most
        detailed part, or centred), unturned and unflipped: one undoable step."""
        opening = self._untouched
        if opening is None:
            self.edit(lambda m: m.reset(), "Reset Crop")
        else:
            self.edit(lambda m: m.set_state(opening), "Reset Crop")

    def edit(self, change: Callable[[CropModel], object], label: str = "Crop",
             merge: str | None = None) -> None:
        """Apply ``change`` to the crop as one undo step (``merge``: see History)."""
        if self.model is None:
            return
        before = self.model.state
        change(self.model)
        if self.model.state != before:
            self._bump()
            self._record(label, merge)
            self.crop_changed.emit()

    def set_fit(self, on: bool) -> None:
        self.fit = on
        if self.model is not None:
            self.model.set_fit(on)
        self._bump()
        self._record("Fit" if on else "Fit Off")
        self.crop_changed.emit()

    def fit_whole(self) -> None:
        """Fit mode, zoomed out so the whole picture shows inside the frame."""
        self.fit = True
        model = self.model
        if model is not None:
            model.set_fit(True)
            vw, vh = model.view_size
            side = float(max(vw, vh))
            s = model.state
            model.set_state(CropState((vw - side) / 2, (vh - side) / 2, side,
                                      s.rotation, s.flip_h, s.flip_v))
        self._bump()
        self._record("Fit Whole Picture")
        self.crop_changed.emit()

    def set_fill(self, color: QColor) -> None:
        self.fill = QColor(color)
        self._bump()
        self._record("Fill Colour")
        self.crop_changed.emit()

    def set_flatten_alpha(self, on: bool) -> None:
        self.flatten_alpha = on
        self._bump()
        self._record("Flatten Transparency")
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

    def letterbox_fill(self) -> QColor | None:
        """The colour around the picture inside the frame (fit mode only)."""
        return self.fill if self.fit else None

    def under_fill(self) -> QColor | None:
        """The colour beneath transparent parts: only when flattening was chosen."""
        if self.flatten_alpha and self.loaded is not None \
                and self.loaded.source.info.has_alpha:
            return self.fill
        return None

    def job(self) -> RenderJob | None:
        if self.loaded is None or self.model is None:
            return None
        return RenderJob(self.loaded.source, self.model.state, self.render_options(),
                         self.generation)

    def _bump(self) -> None:
        self.generation += 1
