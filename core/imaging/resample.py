"""Pillow's resize in bands, on every core.

Pillow resamples in two separable passes with an 8-bit image of the same mode between
them: horizontally, over the source rows the vertical pass reads, then vertically. Each
pass is independent along the other axis, so :func:`resize_in_bands` makes the
horizontal pass in bands of rows and the vertical pass in bands of columns, each band
one call of Pillow's own resize along one axis (its C loops release the GIL, so the
bands run side by side), and pastes them together. The coefficients are Pillow's,
computed from the same boxes: the result is Pillow's two passes pixel for pixel
(tests/core/imaging/test_render.py compares them). The per-pixel work before them
(colour transform, premultiplying alpha) runs band by band too.
"""

from __future__ import annotations

import math
import os
import struct
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from PIL import Image

T = TypeVar("T")

#: Filter support in source pixels at scale 1 (Pillow's filters).
SUPPORT: dict[Image.Resampling, float] = {
    Image.Resampling.LANCZOS: 3.0, Image.Resampling.BICUBIC: 2.0,
    Image.Resampling.BILINEAR: 1.0, Image.Resampling.HAMMING: 1.0,
    Image.Resampling.BOX: 0.5,
}
#: Below this much work (filter taps, plus pixels ``prepare`` touches) one call is about
#: as quick as starting threads (a million taps take about a millisecond).
MIN_PARALLEL_WORK = 1_000_000


def workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_all(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``tasks`` side by side (the first on this thread) and return their results
    in order; the first exception raised is raised here, after every task ended."""
    if len(tasks) <= 1:
        return [task() for task in tasks]
    results: list[T | None] = [None] * len(tasks)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = tasks[i]()
        except BaseException as exc:  # noqa: BLE001 - raised on the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,), name="resample", daemon=True)
               for i in range(1, len(tasks))]
    for thread in threads:
        thread.start()
    work(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _f32(v: float) -> float:
    """``v`` as Pillow's C code holds a box coordinate (a C float)."""
    packed: float = struct.unpack("f", struct.pack("f", v))[0]
    return packed


def parts_for(im: Image.Image, size: tuple[int, int], resample: Image.Resampling,
              box: tuple[float, float, float, float], prepare: bool = False) -> int:
    """How many bands :func:`resize_in_bands` should use: one per core when the work
    (filter taps, plus the pixels ``prepare`` touches) is worth the threads, else 1."""
    out_w, out_h = size
    x0, y0, x1, y1 = box
    support = SUPPORT.get(resample, 0.5)
    sx, sy = max(1.0, (x1 - x0) / out_w), max(1.0, (y1 - y0) / out_h)
    rows = min(im.height, y1 - y0 + 2 * support * sy)
    work = rows * out_w * 2 * support * sx + out_w * out_h * 2 * support * sy
    if prepare:
        work += rows * min(im.width, x1 - x0 + 2 * support * sx)
    parts = workers() if work >= MIN_PARALLEL_WORK else 1
    return parts if rows >= 2 * parts and out_w >= 2 * parts else 1


def resize_in_bands(im: Image.Image, size: tuple[int, int], resample: Image.Resampling,
                    box: tuple[float, float, float, float],
                    prepare: Callable[[Image.Image], Image.Image] | None = None,
                    *, parts: int = 2) -> Image.Image:
    """``prepare(im).resize(size, resample, box=box)`` made as Pillow makes it, a
    horizontal pass and then a vertical one, in ``parts`` bands side by side, from only
    the pixels the filter reads (``im`` itself is never changed).

    ``prepare`` must work pixel by pixel (a colour transform, premultiplying alpha): it
    runs on each band of source pixels, a copy it may change in place. The mode it
    returns (``im``'s without it) must not be RGBA or LA, which Pillow's resize
    premultiplies itself: premultiply in ``prepare`` (``convert("RGBa")``).

    The pixels do not depend on ``parts``. They are those of Pillow's two passes in its
    usual order; a Pillow build that takes the vertical pass first for some sizes (when
    it expects that to be quicker) rounds the 8-bit image between the passes otherwise.
    """
    out_w, out_h = size
    x0, y0, x1, y1 = box
    support = SUPPORT.get(resample, 0.5)
    # The source pixels the filter reads, with a margin (extra pixels are never read).
    # Cutting them out shifts a one-axis pass's box by whole pixels: exact for the C
    # floats Pillow holds it in, so its coefficients do not change.
    reach_x = support * max(1.0, (x1 - x0) / out_w) + 1
    reach_y = support * max(1.0, (y1 - y0) / out_h) + 1
    left, top = max(0, math.floor(x0 - reach_x)), max(0, math.floor(y0 - reach_y))
    right = min(im.width, math.ceil(x1 + reach_x))
    bottom = min(im.height, math.ceil(y1 + reach_y))
    h0, h1 = _f32(x0) - left, _f32(x1) - left
    v0, v1 = _f32(y0) - top, _f32(y1) - top
    parts = max(1, min(parts, (bottom - top) // 2, out_w // 2))

    def horizontal(r0: int, r1: int) -> Image.Image:
        band = im.crop((left, r0, right, r1))
        if prepare is not None:
            band = prepare(band)
        _check_mode(band)
        return band.resize((out_w, r1 - r0), resample, box=(h0, 0, h1, r1 - r0))

    rows = [top + (bottom - top) * i // parts for i in range(parts + 1)]
    bands = run_all([_bind(horizontal, rows[i], rows[i + 1]) for i in range(parts)])
    between = Image.new(bands[0].mode, (out_w, bottom - top))
    for r0, band in zip(rows, bands, strict=False):
        between.paste(band, (0, r0 - top))
    del bands

    def vertical(c0: int, c1: int) -> Image.Image:
        column = between.crop((c0, 0, c1, between.height))
        return column.resize((c1 - c0, out_h), resample, box=(0, v0, c1 - c0, v1))

    cols = [out_w * i // parts for i in range(parts + 1)]
    columns = run_all([_bind(vertical, cols[i], cols[i + 1]) for i in range(parts)])
    out = Image.new(between.mode, size)
    for c0, column in zip(cols, columns, strict=False):
        out.paste(column, (c0, 0))
    return out


def _bind(func: Callable[[int, int], T], a: int, b: int) -> Callable[[], T]:
    return lambda: func(a, b)


def _check_mode(im: Image.Image) -> None:
    if im.mode in ("RGBA", "LA"):
        raise ValueError(f"premultiply {im.mode} before resize() (see its docstring)")
