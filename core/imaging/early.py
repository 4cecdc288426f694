"""A JPEG decode begun before the rest of the program has loaded.

The decode is the longest step of ``avatar-studio-cli render`` (about 90 ms of a 24 MP
photo at 1/4 DCT scale) and runs on one core. Everything else a render loads (the
dataclasses and ``inspect`` behind every value type, the source, render, colour and
encoding modules, the log file) is some 40 ms of Python. This module needs only Pillow,
the file reader and the scale arithmetic, so the CLI starts the decoder as soon as
Pillow has loaded and the rest imports beside it on the other core (the decoder releases
the GIL). :meth:`ImageSource.adopt_early <avatar_studio.core.imaging.source.ImageSource.
adopt_early>` then takes the decode over when it is the one the render asks for, after
the source's own checks of the same bytes; otherwise it is dropped and the render decodes
as it always does. Only a plain JPEG's frame 0 starts early: the one format whose decode
time matters this much and whose pixels depend on nothing but the DCT scale.

So that the pixels cannot differ, what the early decode and the source's own decodes share
lives here too: the one-plugin opener (``open_with_plugin``), the JPEG set-up
(``prepare_jpeg``) and the switch-interval hand-over for background decoders.
"""

from __future__ import annotations

import importlib
import io
import struct
import sys
import threading
import warnings

from avatar_studio.core.imaging.scale import dct_scale, least_scale
from PIL import Image, ImageFile, UnidentifiedImageError

#: Bytes of a JPEG handed to the decoder per call (Pillow's default is 64 KiB): each call
#: is a return to Python, and a wait for the GIL while another thread runs Python.
JPEG_BLOCK = 1 << 20

#: Pillow's plugin module for the formats whose magic number names them alone.
_PLUGIN_MODULES = {"JPEG": "JpegImagePlugin", "PNG": "PngImagePlugin"}


class GilHandover:
    """A shorter interpreter switch interval while background decoders run that return
    to Python often (0.2 ms instead of 5 ms: the wait for the GIL after each chunk)."""

    QUICK = 0.0002

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = 0.0

    def quicken(self) -> None:
        with self._lock:
            if self._users == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, self.QUICK))
            self._users += 1

    def restore(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._saved)


gil_handover = GilHandover()


def open_with_plugin(data: bytes, formats: tuple[str, ...]) -> Image.Image:
    """``Image.open(BytesIO(data), formats=formats)``. A JPEG or a PNG (the one format
    its magic number names) goes through that plugin's registered opener alone, as
    Image.open would call it: Image.open on bytes imports five plugins first
    (Image.preinit, 5-10 ms on the way to a render's decode, which the render runs
    beside the decoder instead). Image.open's checks stay: a header the opener
    rejects is "cannot identify", and the pixel count is checked as Image.open checks
    it (Image.MAX_IMAGE_PIXELS: a warning above it, an error above twice that)."""
    fmt = formats[0] if len(formats) == 1 else ""
    if fmt not in _PLUGIN_MODULES:
        return Image.open(io.BytesIO(data), formats=list(formats))
    importlib.import_module(f"PIL.{_PLUGIN_MODULES[fmt]}")
    factory, accept = Image.OPEN[fmt]
    if accept is not None and accept(data[:16]) is not True:
        raise UnidentifiedImageError(f"cannot identify image file as {fmt}")
    try:
        im = factory(io.BytesIO(data), "")
    except (SyntaxError, IndexError, TypeError, struct.error):
        raise UnidentifiedImageError(f"cannot identify image file as {fmt}") from None
    limit = Image.MAX_IMAGE_PIXELS
    pixels = max(1, im.size[0]) * max(1, im.size[1])
    if limit is not None and pixels > 2 * limit:
        im.close()
        raise Image.DecompressionBombError(
            f"Image size ({pixels} pixels) exceeds limit of {2 * limit} pixels, "
            "could be decompression bomb DOS attack.")
    if limit is not None and pixels > limit:
        warnings.warn(f"Image size ({pixels} pixels) exceeds limit of {limit} pixels, "
                      "could be decompression bomb DOS attack.",
                      Image.DecompressionBombWarning, stacklevel=2)
    return im


def prepare_jpeg(im: ImageFile.ImageFile, scale: int) -> None:
    """Ask ``im`` (a JPEG, nothing decoded yet) for a 1/``scale`` DCT decode, fed to the
    decoder in JPEG_BLOCK pieces: how every JPEG decode of a source is set up, so an
    early one has the very pixels the source's own would have."""
    if scale > 1:
        w, h = im.size
        im.draft(None, (max(1, w // scale), max(1, h // scale)))
    im.decodermaxblock = max(im.decodermaxblock, JPEG_BLOCK)


class EarlyDecode:
    """Frame 0 of a JPEG, decoding at 1/``scale`` on a background thread from ``data``."""

    def __init__(self, data: bytes, image: ImageFile.ImageFile, scale: int) -> None:
        self.data = data
        #: The DCT scale-down (1, 2, 4 or 8).
        self.scale = scale
        #: The size of frame 0 as stored (before EXIF orientation), at full resolution.
        self.stored_size = image.size
        #: The colour profile the pixels are in (None: sRGB).
        self.icc: bytes | None = image.info.get("icc_profile")
        self._image = image
        self._error: BaseException | None = None
        self._done = threading.Event()
        prepare_jpeg(image, scale)
        # The decoder returns to Python after every block: while the caller imports,
        # this thread must get the GIL back quickly.
        gil_handover.quicken()
        try:
            threading.Thread(target=self._run, name="early-decode", daemon=True).start()
        except BaseException:
            gil_handover.restore()
            raise

    def _run(self) -> None:
        try:
            self._image.load()
        except BaseException as exc:  # noqa: BLE001 - raised by result(), where it is due
            self._error = exc
        finally:
            gil_handover.restore()
            self._done.set()

    def result(self) -> ImageFile.ImageFile:
        """The decoded image, once the decoder is done; raises what it raised."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._image


def begin(data: bytes, *, crop_side: float | None, service_side: int, max_pixels: int
          ) -> EarlyDecode | None:
    """Start decoding ``data`` at the DCT scale a render of a ``crop_side`` square (None:
    the largest centred one) at ``service_side`` px asks for, if it is a plain JPEG of at
    most ``max_pixels``; None for anything else, and for a header Pillow doubts (the
    render then opens the bytes as always and says what is wrong). Raises nothing."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = open_with_plugin(data, ("JPEG",))
        w, h = im.size
        # MPO (several pictures in one file) opens as another format: not early.
        if im.format != "JPEG" or not isinstance(im, ImageFile.ImageFile) or not (
                0 < w * h <= max_pixels):
            im.close()
            return None
        side = float(min(w, h)) if crop_side is None else crop_side
        if side <= 0:
            im.close()
            return None
        return EarlyDecode(data, im, dct_scale(least_scale(side, service_side)))
    except Exception:  # noqa: BLE001 - whatever it is, the render meets it and says it
        return None
