"""Open an image from a path or from bytes, safely, and decode it fast or in full.

The source is read once, read-only, into memory; every decode works on that copy, so the
file on disk is never touched again (and never changed). EXIF orientation is read once at
open and applied to every decode; colours end up as 8-bit sRGB (see ``colour``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from avatar_studio.core.imaging import pngpipe
from avatar_studio.core.imaging.colour import apply_transform, colour_transform, to_device_rgb
from avatar_studio.core.imaging.early import (
    EarlyDecode,
    gil_handover,
    open_with_plugin,
    prepare_jpeg,
)
from avatar_studio.core.imaging.errors import (
    DamagedImage,
    EmptyFile,
    FileTooLarge,
    FrameOutOfRange,
    ImageError,
    TooManyPixels,
    UnsupportedFormat,
)
from avatar_studio.core.imaging.files import MAX_BYTES, MAX_PIXELS, mb, read_source
from avatar_studio.core.imaging.scale import dct_scale
from PIL import Image, ImageFile, UnidentifiedImageError

if TYPE_CHECKING:
    from PIL import ImageCms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceLimits:
    """Budgets checked before any pixel is decoded."""

    max_bytes: int = MAX_BYTES
    max_pixels: int = MAX_PIXELS


DEFAULT_LIMITS = SourceLimits()

#: Long side of the first proxy to show (see ImageSource.quick_proxy).
QUICK_PROXY_SIDE = 1024

#: Pillow format names we read, in the order we name them to users.
_BASE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")
_FORMAT_LABELS = {"WEBP": "WebP", "HEIF": "HEIC/HEIF"}

# EXIF orientation -> the transpose that undoes it (as PIL.ImageOps.exif_transpose).
_ORIENT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112
# Decoders that apply the orientation themselves: Pillow's TIFF plugin (size is reported
# upright at open) and pillow-heif (libheif applies irot/imir and resets the EXIF tag).
_SELF_ORIENTING = frozenset({"TIFF", "HEIF"})

# What a decoder raises on damaged or truncated data. Pillow's plugins raise OSError,
# SyntaxError, ValueError, EOFError, struct.error and more; the AVIF and HEIF decoders
# (libavif, libheif) raise RuntimeError. Any Exception escaping a decoder call means the
# decoder could not read these bytes, so it is damage, never an internal error; our own
# ImageErrors raised inside such a call pass through unchanged.
_DECODE_ERRORS = (Exception,)


_heif_lock = threading.Lock()
_heif_state: list[bool] = []


def _heif_available() -> bool:
    """Register pillow-heif on first use (importing it is not free)."""
    with _heif_lock:
        if not _heif_state:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_state.append(True)
            except ImportError:  # pragma: no cover - it is a declared dependency
                log.info("pillow-heif is not installed: HEIC/HEIF images cannot be read")
                _heif_state.append(False)
        return _heif_state[0]


def silence_libtiff() -> None:
    """See ``native`` (ctypes: imported only when a TIFF may be decoded)."""
    from avatar_studio.core.imaging.native import silence_libtiff as silence

    silence()


def read_formats() -> tuple[str, ...]:
    """Pillow format names accepted as sources."""
    silence_libtiff()
    return (*_BASE_FORMATS, "HEIF") if _heif_available() else _BASE_FORMATS


# Magic numbers of the formats we read, for formats_for().
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"), (b"MM\x00+", "TIFF"),
)


def formats_for(data: bytes) -> tuple[str, ...]:
    """The formats to try on ``data``: the one its magic number names, so Pillow loads
    only that plugin (not all of them: 4 MB and ~10 ms of a CLI render), and pillow-heif
    (18 ms, 5 MB) only for an ISO media file ("ftyp" box, as HEIC/HEIF and AVIF have).
    Anything else gets every format (and the usual messages)."""
    for signature, fmt in _SIGNATURES:
        if data.startswith(signature):
            if fmt == "TIFF":
                silence_libtiff()
            return (fmt,)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ("WEBP",)
    if data[4:8] == b"ftyp":
        return read_formats()
    silence_libtiff()  # every format is tried, TIFF among them
    return _BASE_FORMATS


def supported_formats_text() -> str:
    names = [_FORMAT_LABELS.get(f, f) for f in read_formats()]
    return ", ".join(names[:-1]) + " or " + names[-1]


@dataclass(frozen=True)
class SourceInfo:
    name: str
    format: str
    #: Size after EXIF orientation.
    width: int
    height: int
    frame_count: int
    has_alpha: bool
    byte_size: int

    @property
    def animated(self) -> bool:
        return self.frame_count > 1


@dataclass(frozen=True)
class Proxy:
    """A quickly decoded, oriented sRGB image for interaction."""

    image: Image.Image
    #: Proxy pixels per source pixel (after orientation); <= 1.
    scale: float
    frame: int = 0
    _pyramid: list[Image.Image] = field(default_factory=list, compare=False, repr=False)

    def pyramid(self) -> list[Image.Image]:
        """The proxy and its halvings (premultiplied when there is alpha), built once:
        previews resample from the level nearest their size, in about a millisecond."""
        with _pyramid_lock:
            if not self._pyramid:
                level = self.image.convert("RGBa") if self.image.mode == "RGBA" else self.image
                self._pyramid.append(level)
                while min(level.size) >= 64:
                    level = level.reduce(2)
                    self._pyramid.append(level)
            return list(self._pyramid)


_pyramid_lock = threading.Lock()


def _header_size(data: bytes, formats: tuple[str, ...]) -> tuple[int, int] | None:
    """The stored size from the header alone, bypassing Pillow's bomb check."""
    prefix = data[:16]
    for fmt in formats:
        # Only the plugins Pillow has loaded so far are in Image.OPEN (a GIF is
        # identified by the few that load first): skip the others.
        if fmt not in Image.OPEN:
            continue
        factory, accept = Image.OPEN[fmt]
        if accept is not None and not accept(prefix):
            continue
        try:
            return factory(io.BytesIO(data), "").size
        except Exception:  # noqa: BLE001, S112 - any failure means "not this format"
            continue
    return None


def _looks_like(data: bytes, formats: tuple[str, ...]) -> str | None:
    prefix = data[:16]
    for fmt in formats:
        if fmt not in Image.OPEN:
            continue
        accept = Image.OPEN[fmt][1]
        if accept is not None and accept(prefix):
            return fmt
    return None


def _has_alpha(im: Image.Image) -> bool:
    return (im.mode in ("RGBA", "LA", "PA", "RGBa", "La")
            or "transparency" in im.info)


class ImageSource:
    """An opened image: metadata now, pixels on request (proxy fast, full exact).

    Construct with :meth:`open_path` or :meth:`open_bytes`. ``proxy()`` and ``full()``
    may be called from a worker thread; each decode opens its own Pillow image.
    """

    def __init__(self, data: bytes, info: SourceInfo, orientation: int) -> None:
        self._data = data
        self.info = info
        self._orientation = orientation
        self._lock = threading.Lock()
        # One decode at a time: the window's proxy, its exact preview and the sharp view
        # run on different workers, and a second request waits and reuses the first.
        self._decode_lock = threading.Lock()
        # The sharpest decode kept for rendering (the proxy, a DCT-scaled decode or the
        # full frame).
        self._base: RenderBase | None = None
        # A decode of frame 0 begun before this source existed (adopt_early).
        self._early: EarlyDecode | None = None

    @property
    def data(self) -> bytes:
        """The file's bytes as read (animation reads frame timing from them)."""
        return self._data

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def open_path(cls, path: str | os.PathLike[str], *,
                  limits: SourceLimits = DEFAULT_LIMITS) -> ImageSource:
        data, name = read_source(path, limits.max_bytes)
        return cls._from_data(data, name, limits)

    @classmethod
    def open_bytes(cls, data: bytes, *, name: str = "pasted image",
                   limits: SourceLimits = DEFAULT_LIMITS) -> ImageSource:
        return cls._from_data(bytes(data), name, limits)

    @classmethod
    def _from_data(cls, data: bytes, name: str, limits: SourceLimits) -> ImageSource:
        if not data:
            raise EmptyFile(f"{name} is empty (0 bytes)")
        if len(data) > limits.max_bytes:
            raise FileTooLarge(
                f"{name} is {mb(len(data))}; images up to {mb(limits.max_bytes)} can be opened")
        formats = formats_for(data)
        im = _open_image(data, name, formats, limits)
        try:
            width, height = im.size
            if width * height > limits.max_pixels:
                raise TooManyPixels(_pixels_message(name, width, height, limits))
            if width < 1 or height < 1:
                raise DamagedImage(f"{name} has no pixels ({width}×{height})")
            orientation = _orientation(im)
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            fmt = im.format or "unknown"
            try:
                # Counting frames walks the file (GIF): damage can surface here.
                frames = max(1, int(getattr(im, "n_frames", 1)))
            except _DECODE_ERRORS as exc:
                raise DamagedImage(
                    f"{name} is damaged and cannot be read ({_short(exc)})") from None
            info = SourceInfo(name=name, format=fmt, width=width, height=height,
                              frame_count=frames, has_alpha=_has_alpha(im),
                              byte_size=len(data))
        finally:
            im.close()
        return cls(data, info, orientation)

    # -- decoding ----------------------------------------------------------------------
    def check_frame(self, frame: int) -> None:
        """Raise FrameOutOfRange unless ``frame`` exists."""
        if not 0 <= frame < self.info.frame_count:
            count = self.info.frame_count
            raise FrameOutOfRange(
                f"{self.info.name} has {count} frame{'s' if count != 1 else ''}; "
                f"frame {frame} does not exist (frames are numbered from 0)")

    def _decode_stored(self, frame: int, draft: int = 1, reduce_to: int | None = None
                       ) -> tuple[Image.Image, ImageCms.ImageCmsTransform | None]:
        """Decode one frame as stored (not yet oriented): JPEG DCT scaling by ``draft``
        (1, 2, 4 or 8), then an integer ``reduce`` so the long side is at most
        ``reduce_to``. Returns 8-bit RGB/RGBA and the transform to sRGB still due."""
        im, icc = self._open_stored(frame, draft)
        return self._load_stored(im, icc, reduce_to)

    def _open_stored(self, frame: int, draft: int = 1) -> tuple[Image.Image, bytes | None]:
        """The first half of :meth:`_decode_stored`: the headers read, the frame and the
        DCT scale chosen, no pixels decoded yet (all of it Python, holding the GIL)."""
        self.check_frame(frame)
        with self._decode_errors():
            # A large still PNG decodes on two cores (inflate beside unfiltering).
            piped = (pngpipe.open_piped(self._data)
                     if not frame and self.info.format == "PNG" else None)
            im = piped or _open_quiet(self._data, formats_for(self._data))
            icc = im.info.get("icc_profile")
            if frame:
                im.seek(frame)
                icc = im.info.get("icc_profile", icc)
            if im.format == "JPEG" and isinstance(im, ImageFile.ImageFile):
                prepare_jpeg(im, draft)
        return im, icc

    def _load_stored(self, im: Image.Image, icc: bytes | None, reduce_to: int | None
                     ) -> tuple[Image.Image, ImageCms.ImageCmsTransform | None]:
        """The second half of :meth:`_decode_stored`: decode (the decoders release the
        GIL), reduce, and hand over to ``colour``."""
        with self._decode_errors():
            im.load()
            if reduce_to is not None:
                factor = math.ceil(max(im.size) / reduce_to)
                if factor > 1:
                    im = _reduce(im, factor)
            return to_device_rgb(im, icc)

    @contextlib.contextmanager
    def _decode_errors(self) -> Iterator[None]:
        """What decoders raise, as the errors users see."""
        try:
            yield
        except Image.DecompressionBombError:
            # Only reachable when SourceLimits.max_pixels exceeds Pillow's own limit.
            raise TooManyPixels(_pixels_message(
                self.info.name, self.info.width, self.info.height,
                SourceLimits(max_pixels=int(Image.MAX_IMAGE_PIXELS or 0) * 2))) from None
        except ImageError:
            raise
        except _DECODE_ERRORS as exc:
            log.info("Decoding %s failed: %r", self.info.name, exc)
            raise DamagedImage(
                f"{self.info.name} is damaged or incomplete and cannot be shown "
                f"({_short(exc)})") from None

    def _orient(self, im: Image.Image) -> Image.Image:
        transpose = _ORIENT.get(self._orientation)
        return im.transpose(transpose) if transpose is not None else im

    def _draft_for(self, scale: float) -> int:
        """The largest JPEG DCT scale-down (1, 2, 4, 8) that keeps at least ``scale``."""
        return dct_scale(scale) if self.info.format == "JPEG" else 1

    def proxy(self, frame: int = 0, max_side: int = 2048) -> Proxy:
        """A fast decode whose long side is at most ``max_side`` (never upscaled): the
        largest JPEG DCT scale that fits, else a full decode and an integer reduce."""
        long_side = max(self.info.width, self.info.height)
        with self._lock:
            base = self._base
        if (base is not None and base.frame == frame and base.is_full
                and long_side <= max_side):
            return Proxy(base.image, 1.0, frame)
        draft = 1
        if self.info.format == "JPEG":
            for s in (1, 2, 4, 8):
                draft = s
                if math.ceil(long_side / s) <= max_side:
                    break
        with self._decode_lock:
            im, transform = self._decode_stored(frame, draft, max_side)
            im = self._orient(apply_transform(im, transform, in_place=True))
            w, h = self.info.width, self.info.height
            if w % im.width == 0 and h % im.height == 0 and w // im.width == h // im.height:
                # An exact 1/k scale of the oriented sRGB frame: the render can resample
                # from it (the window's first exact preview decodes nothing again).
                self._keep(RenderBase(frame, im, None, 1, im.width / w))
        return Proxy(im, im.width / self.info.width, frame)

    def quick_proxy(self, frame: int = 0) -> Proxy:
        """The first thing to show: a proxy of at most QUICK_PROXY_SIDE px (for a 24 MP
        JPEG a 1/8 DCT decode); fetch ``proxy()`` for interaction afterwards."""
        return self.proxy(frame, QUICK_PROXY_SIDE)

    def full(self, frame: int = 0) -> Image.Image:
        """The full-resolution frame, oriented, 8-bit sRGB RGB/RGBA (cached)."""
        with self._lock:
            base = self._base
        if base is not None and base.frame == frame and base.is_full:
            return base.image
        with self._decode_lock:
            if self.has_full(frame):  # decoded by another thread meanwhile
                return self.full(frame)
            im, transform = self._decode_stored(frame)
            im = self._orient(apply_transform(im, transform, in_place=True))
            self._keep(RenderBase(frame, im, None, 1, 1.0))
        return im

    def _keep(self, base: RenderBase) -> None:
        """Keep ``base`` as the one cached decode (full frames are large) unless a decode
        of this frame at least as sharp is kept already (the oriented sRGB full frame
        wins over a stored one of the same size)."""
        with self._lock:
            old = self._base
            if (old is None or old.frame != base.frame or old.scale < base.scale - 1e-9
                    or (base.is_full and not old.is_full)):
                self._base = base

    def _cached(self, frame: int, min_scale: float) -> RenderBase | None:
        with self._lock:
            base = self._base
        if base is not None and base.frame == frame and base.scale >= min_scale - 1e-9:
            return base
        return None

    def has_full(self, frame: int = 0) -> bool:
        with self._lock:
            return self._base is not None and self._base.frame == frame and self._base.is_full

    def render_base(self, frame: int, min_scale: float) -> RenderBase:
        """Pixels for the final render, at least ``min_scale`` of full resolution: the
        cached decode when it is sharp enough, else a new (possibly DCT-scaled) one."""
        base = self._cached(frame, min_scale)
        if base is not None:
            return base
        with self._decode_lock:
            # Another thread (the proxy, the sharp view, start_render_base) may have
            # decoded it meanwhile.
            base = self._cached(frame, min_scale)
            if base is not None:
                return base
            draft = self._draft_for(min_scale)
            early = self._early_for(frame, draft, take=True)
            if early is not None:
                im, transform = self._finish_early(early)
            else:
                im, transform = self._decode_stored(frame, draft)
            base = self._keep_render_base(frame, im, transform)
        return base

    def adopt_early(self, early: EarlyDecode) -> None:
        """Take ``early`` (begun by core.imaging.early on these very bytes, before this
        source was opened and checked) as the decode of frame 0 at its DCT scale:
        ``render_base`` waits for it instead of decoding again when it asks for that
        scale, and drops it when it asks for another. A decode of other bytes, or of a
        source that is not a still JPEG, is not taken."""
        if (self.info.format == "JPEG" and self.info.frame_count == 1
                and early.stored_size == self._stored_size
                and (early.data is self._data or early.data == self._data)):
            with self._lock:
                self._early = early

    def _early_for(self, frame: int, draft: int, *, take: bool) -> EarlyDecode | None:
        """The adopted early decode if it is the one asked for. Taken (``take``), it is
        no longer kept, matching or not: it is the decode, not a cache."""
        with self._lock:
            early = self._early
            if take:
                self._early = None
        return early if early is not None and frame == 0 and early.scale == draft else None

    def _finish_early(self, early: EarlyDecode
                      ) -> tuple[Image.Image, ImageCms.ImageCmsTransform | None]:
        """:meth:`_load_stored` for a decode that ran on the early thread: its errors
        are this source's errors, its pixels go to ``colour`` the same way."""
        with self._decode_errors():
            im = early.result()
            return to_device_rgb(im, im.info.get("icc_profile"))

    def start_render_base(self, frame: int, min_scale: float) -> None:
        """Begin the decode that ``render_base(frame, min_scale)`` returns, on a
        background thread, and return as soon as the decoder runs: ``render_base`` then
        waits for it and decodes nothing again (one decode, shared). The headers are read
        here, on the calling thread; the background thread spends its time in the
        decoder, which releases the GIL, so the caller's own work (imports, the colour
        transform) runs beside it on another core. Errors are not raised here: the
        decode is left to ``render_base``, which raises them as it always does."""
        if self._cached(frame, min_scale) is not None:
            return
        early = self._early_for(frame, self._draft_for(min_scale), take=False)
        if early is not None:
            # Under way already (adopt_early): only the work beside it is left.
            self._beside_decoder(early.icc)
            return
        self._decode_lock.acquire()
        try:
            im, icc = self._open_stored(frame, self._draft_for(min_scale))
        except Exception:  # noqa: BLE001 - render_base opens it again and raises it
            self._decode_lock.release()
            return
        # The decoder returns to Python after every block (a PNG's every IDAT chunk):
        # while this thread runs Python, it must get the GIL back quickly.
        gil_handover.quicken()
        try:
            threading.Thread(target=self._finish_render_base, args=(frame, im, icc),
                             name="decode", daemon=True).start()
        except BaseException:
            gil_handover.restore()
            self._decode_lock.release()
            raise
        self._beside_decoder(icc)

    @staticmethod
    def _beside_decoder(icc: bytes | None) -> None:
        """What a render needs next, made while the decoder runs: the colour transform
        (the decoder's thread finds it built) and the plugins Image.save imports
        (Image.preinit; open_with_plugin skipped it)."""
        if icc is not None:
            colour_transform(icc)
        Image.preinit()

    def _finish_render_base(self, frame: int, im: Image.Image, icc: bytes | None) -> None:
        """The background half of :meth:`start_render_base` (holds ``_decode_lock``)."""
        try:
            image, transform = self._load_stored(im, icc, None)
            self._keep_render_base(frame, image, transform)
        except Exception:
            log.debug("Early decode of %s failed", self.info.name, exc_info=True)
        finally:
            gil_handover.restore()
            self._decode_lock.release()

    def _keep_render_base(self, frame: int, im: Image.Image,
                          transform: ImageCms.ImageCmsTransform | None) -> RenderBase:
        base = RenderBase(frame, im, transform, self._orientation,
                          im.width / self._stored_size[0])
        self._keep(base)
        return base

    @property
    def orientation(self) -> int:
        """The EXIF orientation (1-8) applied to every decode."""
        return self._orientation

    @property
    def _stored_size(self) -> tuple[int, int]:
        w, h = self.info.width, self.info.height
        return (h, w) if self._orientation in (5, 6, 7, 8) else (w, h)


@dataclass(frozen=True)
class RenderBase:
    """Decoded pixels for rendering: as stored (``orientation`` still to apply) and in
    the source's colours (``transform`` to sRGB still to apply) unless ``is_full``."""

    frame: int
    image: Image.Image
    transform: ImageCms.ImageCmsTransform | None
    orientation: int
    #: Decoded pixels per stored source pixel.
    scale: float

    @property
    def is_full(self) -> bool:
        return self.transform is None and self.orientation == 1 and self.scale == 1.0


def _open_quiet(data: bytes, formats: tuple[str, ...]) -> Image.Image:
    # Sizes were checked at open; Pillow's own bomb warning must not reach stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return open_with_plugin(data, formats)


def _open_image(data: bytes, name: str, formats: tuple[str, ...],
                limits: SourceLimits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return open_with_plugin(data, formats)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as bomb:
        size = _header_size(data, formats)
        if size is not None:
            raise TooManyPixels(_pixels_message(name, *size, limits)) from None
        # Some plugins check while reading the header (a GIF frame larger than its
        # screen): Pillow's message still has the pixel count.
        counted = re.search(r"\((\d+) pixels\)", str(bomb))
        amount = (f"{int(counted.group(1)) / 1e6:.1f} megapixels" if counted
                  else "too many pixels")
        raise TooManyPixels(f"{name} has {amount}; the limit is "
                            f"{limits.max_pixels / 1e6:g} megapixels") from None
    except UnidentifiedImageError:
        pass
    except _DECODE_ERRORS as exc:
        raise DamagedImage(f"{name} is damaged and cannot be read ({_short(exc)})") from None
    looks = _looks_like(data, formats)
    if looks is not None:
        label = _FORMAT_LABELS.get(looks, looks)
        raise DamagedImage(f"{name} looks like a {label} image but is damaged")
    other = _other_format(data)
    if other is not None:
        raise UnsupportedFormat(f"{name} is in {other} format, which is not supported; "
                                f"use {supported_formats_text()}")
    raise UnsupportedFormat(f"{name} is not an image that can be read; use "
                            f"{supported_formats_text()}")


def _other_format(data: bytes) -> str | None:
    """The format name when Pillow knows it but we do not accept it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                return im.format
    except Exception:  # noqa: BLE001 - unknown to Pillow too
        return None


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation we must apply (1 when the decoder applies it itself)."""
    if im.format in _SELF_ORIENTING:
        return 1
    try:
        if im.format == "PNG":
            # getexif() on a PNG decodes the whole image to look for a late eXIf chunk;
            # the usual early chunk is already in info.
            raw = im.info.get("exif")
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
        else:
            exif = im.getexif()
        value = exif.get(_EXIF_ORIENTATION, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _reduce(im: Image.Image, factor: int) -> Image.Image:
    if im.mode in ("P", "1", "PA"):
        # Averaging palette indices is meaningless: expand first.
        transparency = "transparency" in im.info or im.mode == "PA"
        im = im.convert("RGBA" if transparency else ("L" if im.mode == "1" else "RGB"))
    elif im.mode.startswith("I;16"):
        im = im.convert("I")
    info = im.info
    out = _reduce_premultiplied(im, factor) if im.mode == "RGBA" else im.reduce(factor)
    out.info = info
    return out


#: Rows per strip in _reduce_premultiplied (a 4000 px wide RGBA strip is 1 MB).
_STRIP_ROWS = 64


def _reduce_premultiplied(im: Image.Image, factor: int) -> Image.Image:
    """``im.reduce(factor)`` with alpha weighting, as every resample of RGBA must be (a
    straight average bleeds the colour of transparent pixels into the edges): premultiply
    and reduce a strip of rows at a time (no full-size premultiplied copy), then back to
    straight RGBA."""
    out = Image.new("RGBa", (math.ceil(im.width / factor), math.ceil(im.height / factor)))
    step = max(1, _STRIP_ROWS // factor) * factor
    for top in range(0, im.height, step):
        strip = im.crop((0, top, im.width, min(im.height, top + step))).convert("RGBa")
        out.paste(strip.reduce(factor), (0, top // factor))
    return out.convert("RGBA")


def _pixels_message(name: str, width: int, height: int, limits: SourceLimits) -> str:
    return (f"{name} is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:g} megapixels")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]
