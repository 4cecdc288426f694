"""Profile image checks and processing, as X does them (Pillow).

* The format comes from the magic bytes: GIF, JPEG or PNG, nothing else (a ``data:``
  prefix therefore fails, as it did on X).
* Wider than 400 px is scaled down; an animated GIF keeps only its first frame.
* The variants X serves: ``_normal`` 48, ``_bigger`` 73, ``_mini`` 24, ``_200x200``,
  ``_400x400`` (squares) and the original (no suffix).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from PIL import Image, ImageDraw

#: X scales anything wider down to this (the sandbox's own fact, not the client's).
MAX_WIDTH = 400
#: Square variants by file-name suffix.
SQUARE_VARIANTS: dict[str, int] = {
    "_normal": 48,
    "_bigger": 73,
    "_mini": 24,
    "_200x200": 200,
    "_400x400": 400,
}
ORIGINAL = ""
VARIANT_SUFFIXES: tuple[str, ...] = (*SQUARE_VARIANTS, ORIGINAL)

#: Pillow format -> (file extension, MIME type).
FORMATS: dict[str, tuple[str, str]] = {
    "GIF": ("gif", "image/gif"),
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
}
MIME_BY_EXT = {ext: mime for ext, mime in FORMATS.values()}

#: Refuse pixel counts far beyond any avatar before decoding them (decompression bombs).
MAX_PIXELS = 25_000_000


class ImageRejected(Exception):
    """The upload is not an image X would take; ``message`` is X's wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


MEDIA_TYPE_UNRECOGNIZED = "media type unrecognized."


def sniff_format(data: bytes) -> str | None:
    """The Pillow format name from the magic bytes, or None."""
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    return None


def size_message(limit: int) -> str:
    """X's 2021 wording, with the configured limit."""
    if limit >= 1024 * 1024:
        amount = f"{limit / (1024 * 1024):.1f} MiB"
    else:
        amount = f"{limit / 1024:.1f} KiB"
    return f"Image validation failed with errors: Image size must be <= {amount}."


def validate(data: bytes, *, max_bytes: int) -> str:
    """Check an upload synchronously; return its format or raise :class:`ImageRejected`."""
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected(MEDIA_TYPE_UNRECOGNIZED)
    if len(data) > max_bytes:
        raise ImageRejected(size_message(max_bytes))
    too_large = "Image validation failed with errors: Image dimensions are too large."
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageRejected(too_large)
            img.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # (The warning arrives as an exception only where warnings are errors, as in tests.)
        raise ImageRejected(too_large) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected(
            "Image validation failed with errors: Image could not be decoded.") from exc
    return fmt


@dataclass(frozen=True)
class ProcessedImage:
    format: str
    extension: str
    width: int
    height: int
    #: File bytes by variant suffix ("" is the original).
    variants: dict[str, bytes]


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=90)
    elif fmt == "GIF":
        img.save(out, "GIF")
    else:
        img.save(out, "PNG", optimize=False)
    return out.getvalue()


def _working_copy(img: Image.Image, fmt: str) -> Image.Image:
    img.seek(0)  # animated GIFs: the first frame only
    frame = img.copy()
    if fmt == "JPEG":
        return frame.convert("RGB")
    return frame.convert("RGBA") if frame.mode in ("P", "LA", "PA", "1") else frame


def _for_format(img: Image.Image, fmt: str) -> Image.Image:
    if fmt == "GIF" and img.mode not in ("P", "L"):
        return img.convert("RGBA").convert("P", palette=Image.Palette.ADAPTIVE)
    return img


def _square(img: Image.Image, side: int) -> Image.Image:
    """Centre crop to a square, then resize to side x side (X shows squares)."""
    w, h = img.size
    edge = min(w, h)
    left, top = (w - edge) // 2, (h - edge) // 2
    return img.crop((left, top, left + edge, top + edge)).resize(
        (side, side), Image.Resampling.LANCZOS)


def process(data: bytes, *, max_width: int = MAX_WIDTH) -> ProcessedImage:
    """Scale, take the first frame and build every variant."""
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected(MEDIA_TYPE_UNRECOGNIZED)
    with Image.open(io.BytesIO(data), formats=[fmt]) as src:
        img = _working_copy(src, fmt)
    if img.width > max_width:
        height = max(1, round(img.height * max_width / img.width))
        img = img.resize((max_width, height), Image.Resampling.LANCZOS)
    variants = {ORIGINAL: _encode(_for_format(img, fmt), fmt)}
    for suffix, side in SQUARE_VARIANTS.items():
        variants[suffix] = _encode(_for_format(_square(img, side), fmt), fmt)
    ext = FORMATS[fmt][0]
    return ProcessedImage(format=fmt, extension=ext, width=img.width, height=img.height,
                          variants=variants)


@functools.cache
def default_avatar() -> ProcessedImage:
    """The grey silhouette every user without an upload shares (X's default_profile).

    Drawn once per process: every sandbox serves the same bytes."""
    side = 400
    img = Image.new("RGB", (side, side), (204, 214, 221))
    draw = ImageDraw.Draw(img)
    draw.ellipse((130, 70, 270, 210), fill=(245, 248, 250))
    draw.ellipse((70, 230, 330, 490), fill=(245, 248, 250))
    variants = {ORIGINAL: _encode(img, "PNG")}
    for suffix, edge in SQUARE_VARIANTS.items():
        variants[suffix] = _encode(img.resize((edge, edge), Image.Resampling.LANCZOS), "PNG")
    return ProcessedImage(format="PNG", extension="png", width=side, height=side,
                          variants=variants)
