"""Encode a rendered square for a service: the right format, no metadata, under the
byte limit (quality search, palette, smaller sides), or a clear error."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from avatar_studio.core.imaging.errors import CannotMeetByteLimit
from avatar_studio.core.imaging.spec import RenderSpec
from PIL import Image, ImageChops, ImageFile

log = logging.getLogger(__name__)

#: Photos: quality 95 without chroma subsampling (edges, faces and red text stay crisp).
PHOTO_QUALITY = 95
#: Quality steps tried, best first, when the limit binds (4:4:4 first, then 4:2:0).
_JPEG_STEPS: tuple[tuple[int, str], ...] = (
    *((q, "4:4:4") for q in (90, 85, 80, 75)),
    *((q, "4:2:0") for q in (85, 75, 65, 55, 45, 35, 25)),
)
#: Sides shrink by this factor per round when no setting fits, at most this often.
_SHRINK = 0.8
_SHRINK_ROUNDS = 8
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}


@dataclass(frozen=True)
class Encoded:
    data: bytes
    format: str


_maxblock_lock = threading.Lock()


def _ensure_jpeg_buffer(width: int, height: int) -> None:
    """Make Pillow's JPEG buffer big enough for optimize=True.

    With optimize=True libjpeg must hold the whole output in Pillow's buffer, which Pillow
    sizes from a guess (w×h bytes below q95) that noisy 4:4:4 images exceed: libjpeg then
    prints "Suspension not allowed here" and the save fails. ``ImageFile.MAXBLOCK`` is the
    floor of that buffer; it only ever grows here (4 bytes per pixel covers any JPEG).
    """
    need = 4 * width * height + 65536
    with _maxblock_lock:
        if need > ImageFile.MAXBLOCK:
            ImageFile.MAXBLOCK = need


def save_jpeg(im: Image.Image, quality: int, subsampling: str, *, optimize: bool = True
              ) -> bytes:
    """``optimize``: Huffman tables fitted to the image, a file some 5 % smaller for about
    three times the encoding time (a lossless difference)."""
    buf = io.BytesIO()
    if not optimize:
        im.save(buf, "JPEG", quality=quality, subsampling=subsampling)
        return buf.getvalue()
    _ensure_jpeg_buffer(im.width, im.height)
    try:
        im.save(buf, "JPEG", quality=quality, subsampling=subsampling, optimize=True)
    except OSError:
        # Should not happen after _ensure_jpeg_buffer; a plain save has no such limit.
        log.debug("JPEG optimize failed at q%d; saving without it", quality)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


def save_png(im: Image.Image, *, smallest: bool = False) -> bytes:
    """PNG at zlib's default level; ``smallest`` tries harder (level 9, several times
    slower on photos with alpha, a few per cent smaller)."""
    buf = io.BytesIO()
    if smallest:
        im.save(buf, "PNG", optimize=True)
    else:
        im.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def exact_palette(im: Image.Image) -> Image.Image | None:
    """A palette image with exactly the same pixels, when there are <= 256 colours."""
    colours = im.getcolors(256)
    if colours is None:
        return None
    n = max(2, len(colours))
    if im.mode == "RGBA":
        pal = im.quantize(n, method=Image.Quantize.FASTOCTREE)
    else:
        pal = im.quantize(n, method=Image.Quantize.MEDIANCUT)
    back = pal.convert(im.mode)
    # alpha_only=False: by default an RGBA bbox looks at alpha alone.
    if ImageChops.difference(back, im).getbbox(alpha_only=False) is not None:
        return None
    return pal


def lossy_palette(im: Image.Image) -> Image.Image:
    method = Image.Quantize.FASTOCTREE if im.mode == "RGBA" else Image.Quantize.MEDIANCUT
    return im.quantize(256, method=method, dither=Image.Dither.FLOYDSTEINBERG)


def is_photo(im: Image.Image) -> bool:
    """Many colours and no transparency: JPEG suits it better than PNG."""
    return im.mode == "RGB" and im.getcolors(256) is None


def _jpegs(im: Image.Image) -> Iterator[Encoded]:
    # The fitted Huffman tables only when the plain file is too big: usually it is not.
    yield Encoded(save_jpeg(im, PHOTO_QUALITY, "4:4:4", optimize=False), "JPEG")
    yield Encoded(save_jpeg(im, PHOTO_QUALITY, "4:4:4"), "JPEG")
    for q, sub in _JPEG_STEPS:
        yield Encoded(save_jpeg(im, q, sub), "JPEG")


def _candidates(im: Image.Image, spec: RenderSpec) -> Iterator[Encoded]:
    """Encodings in order of preference for this image at this size."""
    jpeg_ok = spec.accepts("JPEG")
    png_ok = spec.accepts("PNG")
    if im.mode == "RGB" and jpeg_ok and (is_photo(im) or not png_ok):
        yield from _jpegs(im)
        return
    if png_ok:
        pal = exact_palette(im)
        if pal is not None:
            yield Encoded(save_png(pal, smallest=True), "PNG")
        else:
            yield Encoded(save_png(im), "PNG")
            yield Encoded(save_png(im, smallest=True), "PNG")
            yield Encoded(save_png(lossy_palette(im), smallest=True), "PNG")
    if im.mode == "RGB" and jpeg_ok:
        yield from _jpegs(im)
    elif im.mode == "RGBA" and spec.accepts("GIF") and not png_ok:
        buf = io.BytesIO()
        lossy_palette(im).save(buf, "GIF")
        yield Encoded(buf.getvalue(), "GIF")


def encode_for(im: Image.Image, spec: RenderSpec) -> tuple[Encoded, Image.Image]:
    """The best encoding of ``im`` strictly under the spec's byte limit, with the image
    actually encoded (smaller than ``im`` when sides had to shrink)."""
    limit = spec.max_bytes_exclusive
    im.info = {}  # nothing from the source (EXIF, XMP, ICC) may reach the encoder
    current = im
    smallest = None
    for _round in range(_SHRINK_ROUNDS + 1):
        for enc in _candidates(current, spec):
            if len(enc.data) < limit:
                if current is not im:
                    log.info("Shrunk the output to %d px to fit under %d bytes",
                             current.width, limit)
                return enc, current
            smallest = min(smallest or len(enc.data), len(enc.data))
        side = int(current.width * _SHRINK)
        if side < 16:
            break
        current = im.resize((side, side), Image.Resampling.LANCZOS)
        current.info = {}
    raise CannotMeetByteLimit(
        f"cannot make this image smaller than {spec.name}'s limit of "
        f"{limit:,} bytes (smallest attempt: {smallest:,} bytes)")
