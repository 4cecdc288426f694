"""Sharp zoom: once the user pauses, the visible part of the picture from the full image.

The editor draws from a proxy (a 24 MP photo: 1500×1000), so at high zoom each proxy
pixel covers several screen pixels and looks soft. :class:`ViewRefiner` waits for a
pause, renders what is on screen at the screen's resolution from the full-resolution
source on a worker (:mod:`avatar_studio.gui.tasks`), and hands the editor a tile that
is valid for exactly that view. Any change drops the tile and cancels the work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from avatar_studio.core.imaging.crop import CropState
from avatar_studio.core.imaging.region import render_region
from avatar_studio.core.imaging.source import ImageSource
from avatar_studio.gui.qtimage import pil_to_qimage
from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
from PIL import Image
from PySide6.QtCore import QObject, QPointF, QRect, QRectF, QTimer, Signal
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

#: Pause before refining (ms): long enough not to start work between wheel steps.
REFINE_DELAY_MS = 200
#: Refine when one proxy pixel spans more than 1.25 device pixels.
MAGNIFIED_BELOW = 0.8


def needs_refinement(proxy_scale: float, device_per_source: float) -> bool:
    """Whether the proxy is visibly magnified and the full image has more to show.

    ``proxy_scale``: proxy pixels per source pixel; ``device_per_source``: device pixels
    per source pixel on screen.
    """
    if proxy_scale >= 1.0 or device_per_source <= 0:
        return False
    return proxy_scale / device_per_source < MAGNIFIED_BELOW


@dataclass(frozen=True)
class TileJob:
    """What a worker needs to draw one view (plain data; built on the GUI thread)."""

    source: ImageSource
    frame: int
    state: CropState
    #: Oriented source pixels (left, top, right, bottom) shown on ``device``.
    box: tuple[float, float, float, float]
    #: Device pixels covered (x, y, width, height).
    device: tuple[int, int, int, int]
    dpr: float
    #: The view this tile belongs to (document generation, widget size, pixel ratio).
    key: Hashable


@dataclass(frozen=True)
class RefinedTile:
    image: QImage
    #: Where to draw it, in logical pixels (one image pixel per device pixel).
    origin: QPointF
    #: Its logical rectangle (the proxy is not drawn under it).
    rect: QRectF
    key: Hashable
    generation: int


def make_job(source: ImageSource, frame: int, state: CropState, device: QRect, box: QRectF,
             dpr: float, key: Hashable) -> TileJob:
    return TileJob(source, frame, state,
                   (box.left(), box.top(), box.right(), box.bottom()),
                   (device.x(), device.y(), device.width(), device.height()), dpr, key)


def render_tile(job: TileJob, full: Callable[[], Image.Image], ctx: TaskContext,
                generation: int) -> RefinedTile:
    """Worker side: the full frame (cached by the source), the region, a Qt image."""
    image = full()
    ctx.check_cancelled()
    x, y, w, h = job.device
    region = render_region(image, job.box, (w, h), job.state)
    ctx.check_cancelled()
    tile = pil_to_qimage(region).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    tile.setDevicePixelRatio(job.dpr)
    return RefinedTile(tile, QPointF(x / job.dpr, y / job.dpr),
                       QRectF(x / job.dpr, y / job.dpr, w / job.dpr, h / job.dpr),
                       job.key, generation)


class ViewRefiner(QObject):
    """Debounces view changes and renders the view sharp in the background.

    ``plan()`` is asked, when the pause is over, for the view as it is then (None: no
    refinement wanted, e.g. low zoom or a drag in progress).

    Signals:
        refined(): a tile for the current view is ready (repaint).
    """

    refined = Signal()

    def __init__(self, runner: TaskRunner, plan: Callable[[], TileJob | None],
                 parent: QObject | None = None, *, delay_ms: int = REFINE_DELAY_MS) -> None:
        super().__init__(parent)
        self._runner = runner
        self._plan = plan
        self._generation = 0
        self._tile: RefinedTile | None = None
        self._handle: TaskHandle[RefinedTile] | None = None
        # One full decode at a time: a second request waits for the first and then
        # finds the frame cached instead of decoding it again alongside.
        self._decode_lock = threading.Lock()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.refine_now)

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def pending(self) -> bool:
        """A refinement is waiting for the pause or running."""
        return self._timer.isActive() or (self._handle is not None and not self._handle.done())

    def tile_for(self, key: Hashable) -> RefinedTile | None:
        tile = self._tile
        return tile if tile is not None and tile.key == key else None

    def view_changed(self, *, refine: bool) -> None:
        """The view changed: drop the tile, cancel work, and wait for a pause if asked."""
        self._generation += 1
        self._tile = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if refine:
            self._timer.start()
        else:
            self._timer.stop()

    def stop(self) -> None:
        self.view_changed(refine=False)

    def refine_now(self) -> bool:
        """Start rendering the current view; False when there is nothing to refine."""
        self._timer.stop()
        job = self._plan()
        if job is None:
            return False
        generation = self._generation
        lock = self._decode_lock

        def full() -> Image.Image:
            with lock:
                return job.source.full(job.frame)

        def work(ctx: TaskContext) -> RefinedTile:
            return render_tile(job, full, ctx, generation)

        def failed(exc: BaseException) -> None:
            # The proxy still shows the picture: nothing for the user to act on.
            log.info("Sharp view not rendered: %r", exc)

        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._runner.run(work, on_success=self._on_tile, on_error=failed)
        return True

    def _on_tile(self, tile: RefinedTile) -> None:
        if tile.generation != self._generation:
            return  # rendered for a view the user has since left
        self._handle = None
        self._tile = tile
        self.refined.emit()
