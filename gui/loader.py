"""Opens images off the GUI thread: files, links (downloaded) and raw bytes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avatar_studio.core.fetch import DEFAULT_FETCH_LIMITS, FetchLimits, fetch_image
from avatar_studio.core.imaging.faces import DetectorUnavailable, FaceFinder
from avatar_studio.core.imaging.smartcrop import Framing, frame
from avatar_studio.core.imaging.source import ImageSource
from avatar_studio.gui.document import LoadedImage
from avatar_studio.gui.imageinput import ImageRequest
from avatar_studio.gui.qtimage import pil_to_qimage, qimage_to_png
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

if TYPE_CHECKING:
    from avatar_studio.core.http import BoundedSession

log = logging.getLogger(__name__)

PROXY_SIDE = 2048
#: The smallest first crop when the picture allows: the largest side the services
#: upload (X's 400 px), so that framing a small face never makes the upload smaller.
FRAMING_MIN_SIDE = 400


@dataclass(frozen=True)
class Framed:
    """The smart first crop for one loaded image (``framing`` in oriented source px)."""

    loaded: LoadedImage
    framing: Framing


def _prepare(source: ImageSource, origin: str, path: Path | None, frame: int) -> LoadedImage:
    proxy = source.proxy(frame=frame, max_side=PROXY_SIDE)
    # Premultiplied ARGB is what the raster engine paints fastest: convert once, here.
    qproxy = pil_to_qimage(proxy.image).convertToFormat(
        QImage.Format.Format_ARGB32_Premultiplied)
    return LoadedImage(source=source, proxy=proxy, qproxy=qproxy, origin=origin, path=path,
                       frame=frame)


class ImageLoader(QObject):
    """Signals:
        started(str): what is being opened (a path, a link, "pasted image").
        progress(int, int): bytes downloaded of a link (total 0 if unknown).
        loaded(object): a LoadedImage, shown at once with the centred crop.
        framed(object): a Framed, the first crop found for it afterwards (face, saliency
            or centre) on a worker thread; only with a ``face_finder``.
        frame_loaded(object): a LoadedImage for another frame of the current source.
        failed(object): the exception, for the error banner.
    """

    started = Signal(str)
    progress = Signal(int, int)
    loaded = Signal(object)
    framed = Signal(object)
    frame_loaded = Signal(object)
    failed = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None, *,
                 fetch_limits: FetchLimits = DEFAULT_FETCH_LIMITS,
                 session: BoundedSession | None = None,
                 face_finder: Callable[[], FaceFinder | DetectorUnavailable] | None = None,
                 framing_min_side: int = FRAMING_MIN_SIDE) -> None:
        super().__init__(parent)
        self._runner = runner
        self._face_finder = face_finder
        self._framing_min_side = framing_min_side
        self._framing: TaskHandle[Any] | None = None
        #: Bumped by every open(): a framing deferred for an older image never starts.
        self._opened = 0
        self._fetch_limits = fetch_limits
        self._session = session
        self._current: TaskHandle[Any] | None = None
        self.last_request: ImageRequest | None = None

    @property
    def busy(self) -> bool:
        return self._current is not None and not self._current.done()

    def open(self, request: ImageRequest) -> None:
        """Open a file, a link or bytes; a newer request replaces a running one."""
        self.last_request = request
        if self._current is not None:
            self._current.cancel()
        if self._framing is not None:
            self._framing.cancel()
        self._opened += 1
        limits, session = self._fetch_limits, self._session
        origin = str(request.path) if request.path else request.url or request.name

        def work(ctx: TaskContext) -> LoadedImage:
            if request.path is not None:
                source = ImageSource.open_path(request.path)
            elif request.url is not None:
                got = fetch_image(request.url, session=session, limits=limits,
                                  cancel=ctx.cancel_event, progress=ctx.progress)
                ctx.check_cancelled()
                source = ImageSource.open_bytes(got.data, name=got.name)
            elif request.image is not None:
                source = ImageSource.open_bytes(qimage_to_png(request.image), name=request.name)
            else:
                assert request.data is not None
                source = ImageSource.open_bytes(request.data, name=request.name)
            ctx.check_cancelled()
            return _prepare(source, origin, request.path, 0)

        self.started.emit(origin)
        self._current = self._runner.run(work, on_success=self._on_loaded,
                                         on_error=self.failed.emit,
                                         on_progress=self.progress.emit)

    def _on_loaded(self, loaded: LoadedImage) -> None:
        # The first frame goes out now, centred; the face comes after, off this thread,
        # started from the next turn of the event loop: after the first frame's paint
        # (posted events come before timers), so it never competes with it.
        self.loaded.emit(loaded)
        finder_for, opened = self._face_finder, self._opened
        if finder_for is not None:
            def start() -> None:
                if self._opened == opened:
                    self.find_framing(loaded, finder_for)

            QTimer.singleShot(0, self, start)

    def find_framing(self, loaded: LoadedImage,
                     finder_for: Callable[[], FaceFinder | DetectorUnavailable]) -> None:
        """Find the first crop for ``loaded`` in the background; emits ``framed``."""
        min_side = self._framing_min_side
        info = loaded.source.info

        def work(ctx: TaskContext) -> Framed:
            finder = finder_for()
            ctx.check_cancelled()
            return Framed(loaded, frame(loaded.proxy.image, info.width, info.height,
                                        finder=finder, min_side=min_side))

        def failed(exc: BaseException) -> None:
            # frame() degrades by itself; anything else leaves the centred crop as it is.
            log.error("finding the first crop failed", exc_info=exc)

        self._framing = self._runner.run(work, on_success=self.framed.emit,
                                         on_error=failed)

    def open_path(self, path: Path) -> None:
        self.open(ImageRequest(name=path.name, path=path))

    def open_frame(self, current: LoadedImage, frame: int) -> None:
        def work(ctx: TaskContext) -> LoadedImage:
            return _prepare(current.source, current.origin, current.path, frame)

        self._runner.run(work, on_success=self.frame_loaded.emit, on_error=self.failed.emit)
