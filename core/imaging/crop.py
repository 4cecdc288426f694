"""The crop model: a square in view coordinates, pure data, no Qt.

"View" is the oriented source, rotated clockwise by ``rotation`` and then flipped. The
square lives in view pixels (floats). Outside fit mode it always stays inside the view;
in fit mode it may grow past the image (the renderer letterboxes the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: Smallest crop side in source pixels.
MIN_SIZE = 1.0


@dataclass(frozen=True)
class CropState:
    x: float
    y: float
    size: float
    #: 0, 90, 180 or 270 degrees clockwise.
    rotation: int = 0
    flip_h: bool = False
    flip_v: bool = False


@dataclass(frozen=True)
class SourceBox:
    """The crop in oriented source pixels (before rotation and flips)."""

    x: float
    y: float
    size: float


def view_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    return (height, width) if rotation % 180 else (width, height)


def source_box(state: CropState, width: int, height: int) -> SourceBox:
    """Map the view square back onto the oriented source (``width`` × ``height``)."""
    vw, vh = view_size(width, height, state.rotation)
    x, y, s = state.x, state.y, state.size
    # Undo the flips (applied last), in view coordinates.
    if state.flip_h:
        x = vw - x - s
    if state.flip_v:
        y = vh - y - s
    # Undo the clockwise rotation one step at a time: a clockwise step maps a source
    # point (px, py) of a w×h image to (h - py, px).
    w, h = vw, vh
    for _ in range((state.rotation // 90) % 4):
        # Inverse of one clockwise step on the current (w×h) view: the previous view is
        # h×w and view (vx, vy) came from (vy, w - vx).
        x, y = y, w - x - s
        w, h = h, w
    return SourceBox(x, y, s)


def _rotate_square_cw(x: float, y: float, s: float, w: int, h: int
                      ) -> tuple[float, float]:
    """Where a square at (x, y) in a w×h image lands after a clockwise turn."""
    return h - y - s, x


class CropModel:
    """Mutable crop editing over a ``width`` × ``height`` oriented image."""

    def __init__(self, width: int, height: int, *, fit: bool = False) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"image size must be positive, got {width}×{height}")
        self.width = width
        self.height = height
        self._fit = fit
        self.state = self._initial(0, False, False)

    # -- geometry ------------------------------------------------------------------------
    @property
    def fit(self) -> bool:
        return self._fit

    @property
    def view_size(self) -> tuple[int, int]:
        return view_size(self.width, self.height, self.state.rotation)

    @property
    def max_size(self) -> float:
        vw, vh = self.view_size
        return float(max(vw, vh) if self._fit else min(vw, vh))

    @property
    def min_size(self) -> float:
        return min(MIN_SIZE, self.max_size)

    @property
    def zoom_level(self) -> float:
        """1.0 shows the largest square; 2.0 a square half as wide; and so on."""
        return min(self.view_size) / self.state.size

    def source_box(self) -> SourceBox:
        return source_box(self.state, self.width, self.height)

    def _initial(self, rotation: int, flip_h: bool, flip_v: bool) -> CropState:
        vw, vh = view_size(self.width, self.height, rotation)
        s = float(min(vw, vh))
        return CropState((vw - s) / 2, (vh - s) / 2, s, rotation, flip_h, flip_v)

    def _clamped(self, state: CropState) -> CropState:
        vw, vh = view_size(self.width, self.height, state.rotation)
        hi = float(max(vw, vh) if self._fit else min(vw, vh))
        size = min(max(state.size, min(MIN_SIZE, hi)), hi)
        # Within the view when the square fits along an axis; when it is larger (fit
        # mode), the image stays inside the square instead.
        x = min(max(state.x, min(0.0, vw - size)), max(0.0, vw - size))
        y = min(max(state.y, min(0.0, vh - size)), max(0.0, vh - size))
        return replace(state, x=x, y=y, size=size)

    # -- editing -----------------------------------------------------------------------
    def set_state(self, state: CropState) -> None:
        if state.rotation % 90 or not 0 <= state.rotation < 360:
            raise ValueError(f"rotation must be 0, 90, 180 or 270, got {state.rotation}")
        self.state = self._clamped(state)

    def pan(self, dx: float, dy: float) -> None:
        """Move the square by (dx, dy) view pixels."""
        s = self.state
        self.state = self._clamped(replace(s, x=s.x + dx, y=s.y + dy))

    def nudge(self, dx: int, dy: int) -> None:
        """Move by whole pixels (arrow keys), landing on whole-pixel positions."""
        s = self.state
        self.state = self._clamped(replace(s, x=round(s.x) + dx, y=round(s.y) + dy))

    def zoom(self, factor: float, about: tuple[float, float] | None = None) -> None:
        """Zoom in by ``factor`` (> 1 shows less of the image) keeping ``about`` (view
        coordinates; default the square's centre) fixed on screen."""
        if factor <= 0:
            raise ValueError("zoom factor must be positive")
        s = self.state
        ax, ay = about if about is not None else (s.x + s.size / 2, s.y + s.size / 2)
        lo, hi = self.min_size, self.max_size
        size = min(max(s.size / factor, lo), hi)
        k = size / s.size
        self.state = self._clamped(replace(
            s, x=ax - (ax - s.x) * k, y=ay - (ay - s.y) * k, size=size))

    def set_zoom(self, level: float, about: tuple[float, float] | None = None) -> None:
        self.zoom(level / self.zoom_level, about)

    def rotate(self, steps: int = 1) -> None:
        """Turn the view by ``steps`` × 90° clockwise (negative: anticlockwise); the
        square keeps covering the same part of the image."""
        s = self.state
        x, y, size = s.x, s.y, s.size
        w, h = self.view_size
        flip_h, flip_v = s.flip_h, s.flip_v
        for _ in range(steps % 4):
            x, y = _rotate_square_cw(x, y, size, w, h)
            w, h = h, w
            # Turning a flipped view equals flipping the other axis of the turned view.
            flip_h, flip_v = flip_v, flip_h
        rotation = (s.rotation + 90 * steps) % 360
        self.state = self._clamped(CropState(x, y, size, rotation, flip_h, flip_v))

    def flip_horizontal(self) -> None:
        s = self.state
        vw, _ = self.view_size
        self.state = self._clamped(replace(s, x=vw - s.x - s.size, flip_h=not s.flip_h))

    def flip_vertical(self) -> None:
        s = self.state
        _, vh = self.view_size
        self.state = self._clamped(replace(s, y=vh - s.y - s.size, flip_v=not s.flip_v))

    def reset(self) -> None:
        """Back to the largest centred square, unturned and unflipped."""
        self.state = self._initial(0, False, False)

    def centre(self) -> None:
        """The largest centred square, keeping the turn and the flips."""
        s = self.state
        self.state = self._initial(s.rotation, s.flip_h, s.flip_v)

    def set_fit(self, fit: bool) -> None:
        self._fit = fit
        self.state = self._clamped(self.state)

    def set_source_box(self, x: float, y: float, size: float) -> None:
        """Select a square given in oriented source pixels (keeps rotation and flips)."""
        s = self.state
        box = CropState(x, y, size)
        # Carry the box through the current rotation and flips into view coordinates.
        model = CropModel(self.width, self.height, fit=True)
        model.state = box
        model.rotate(s.rotation // 90)
        if s.flip_h:
            model.flip_horizontal()
        if s.flip_v != model.state.flip_v:
            model.flip_vertical()
        self.state = self._clamped(replace(model.state, rotation=s.rotation,
                                           flip_h=s.flip_h, flip_v=s.flip_v))

    @classmethod
    def from_source_box(cls, width: int, height: int, x: float, y: float, size: float,
                        *, fit: bool = False) -> CropModel:
        model = cls(width, height, fit=fit)
        model.set_source_box(x, y, size)
        return model
