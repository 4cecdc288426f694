"""Plays an animated render in the preview panel: exactly the uploaded frames, each for
its own duration, looping like the GIF (a GIF's loop count 0 means forever)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QImage

#: Browsers show frames shorter than this at 100 ms; the preview does the same.
MIN_FRAME_MS = 20


class AnimationPlayer(QObject):
    """``play(frames, durations, loop)`` shows frame after frame through ``show``."""

    def __init__(self, show: Callable[[QImage], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._show = show
        self._frames: list[QImage] = []
        self._durations: list[int] = []
        self._loop: int | None = 0
        self._index = 0
        self._rounds = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def index(self) -> int:
        return self._index

    @property
    def frame_count(self) -> int:
        return len(self._frames)

    def play(self, frames: Sequence[QImage], durations: Sequence[int],
             loop: int | None = 0) -> None:
        self.stop()
        self._frames = list(frames)
        self._durations = [d if d >= MIN_FRAME_MS else 100 for d in durations]
        self._loop = loop
        self._index = 0
        self._rounds = 0
        if not self._frames:
            return
        self._show(self._frames[0])
        if len(self._frames) > 1:
            self._timer.start(self._durations[0])

    def stop(self) -> None:
        self._timer.stop()
        self._frames = []

    @Slot()
    def _next(self) -> None:
        if not self._frames:
            return
        self._index += 1
        if self._index >= len(self._frames):
            self._rounds += 1
            # loop None: play once; loop N > 0: N extra rounds; 0: forever.
            if self._loop is None or (self._loop > 0 and self._rounds > self._loop):
                self._index = len(self._frames) - 1
                return
            self._index = 0
        self._show(self._frames[self._index])
        self._timer.start(self._durations[self._index])
