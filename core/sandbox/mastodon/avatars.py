"""What Mastodon does with an uploaded avatar (Paperclip + its lazy thumbnail processor).

* The type is sniffed from the bytes: a part without a Content-Type (toot sends one) or
  with ``application/octet-stream`` gets the sniffed type; a declared type that disagrees
  with the bytes is Paperclip's spoof error. Only JPEG, PNG, GIF and WebP are allowed.
* The file must be strictly smaller than the limit (checked on the upload and again on
  the stored file, as Mastodon validates the processed attachment).
* Geometry ``400x400#``: a centre square, scaled down to 400 px when larger. A file that
  is already a square of at most 400 px is kept byte for byte (the lazy processor skips
  converting it); otherwise the result is re-encoded without metadata.
* Animated GIF/WebP keep every frame (durations, loop, disposal) and get a static twin:
  the first frame as PNG (``avatar_static``).
"""

from __future__ import annotations

import io
import secrets

from avatar_studio.core.sandbox.mastodon.state import Avatar
from PIL import Image, ImageSequence, UnidentifiedImageError

ALLOWED = {"image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
              "WEBP": "image/webp", "MPO": "image/jpeg"}
_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
SIDE = 400
#: Pillow's decompression-bomb guard, lowered: Mastodon refuses huge matrices too.
MAX_PIXELS = 33_177_600


class Invalid(Exception):
    """A validation failure: Paperclip's messages, per attribute."""

    def __init__(self, errors: tuple[tuple[str, str, str], ...]) -> None:
        super().__init__(errors)
        #: (attribute, ERR_CODE, description) in Mastodon's order.
        self.errors = errors

    @property
    def message(self) -> str:
        parts = [f"{attr.replace('_', ' ').capitalize()} {text}"
                 for attr, _, text in self.errors]
        return "Validation failed: " + ", ".join(parts)

    def details(self) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for attr, code, text in self.errors:
            out.setdefault(attr, []).append({"error": code, "description": text})
        return out


def _megabytes(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:g} MB"


def too_large(limit: int) -> Invalid:
    text = f"must be less than {_megabytes(limit)}"
    return Invalid((("avatar", "ERR_INVALID", text),
                    ("avatar_file_size", "ERR_INVALID", text)))


def bad_type() -> Invalid:
    return Invalid((("avatar_content_type", "ERR_INVALID", "is invalid"),
                    ("avatar", "ERR_INVALID", "is invalid")))


def spoofed() -> Invalid:
    return Invalid((("avatar", "ERR_INVALID",
                     "has contents that are not what they are reported to be"),))


def sniff(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return _BY_FORMAT.get(im.format or "")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def effective_type(data: bytes, declared: str | None) -> str:
    """The MIME type Mastodon would store, or Invalid."""
    sniffed = sniff(data)
    declared = (declared or "").split(";", 1)[0].strip().lower() or None
    if declared in (None, "application/octet-stream", "binary/octet-stream"):
        declared = sniffed
    if declared not in ALLOWED:
        raise bad_type()
    if sniffed is None or sniffed != declared:
        if sniffed is None or sniffed not in ALLOWED:
            raise bad_type()
        raise spoofed()
    return declared


def process(data: bytes, declared: str | None, limit: int) -> Avatar:
    """Validate and store like Mastodon; raises Invalid with Paperclip's words."""
    if len(data) >= limit:
        raise too_large(limit)
    mime = effective_type(data, declared)
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise Invalid((("avatar", "ERR_INVALID", "dimensions are too large"),))
            frames = getattr(im, "n_frames", 1)
            animated = frames > 1 and mime in ("image/gif", "image/webp")
            keep = im.width == im.height and im.width <= SIDE and not _has_metadata(im)
            stored = data if keep else _convert(im, mime, animated)
            im.seek(0)
            static = _static(im) if animated else None
    except Invalid:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise Invalid((("avatar", "ERR_INVALID", "could not be processed"),)) from None
    if len(stored) >= limit:
        raise too_large(limit)
    return Avatar(key=secrets.token_hex(8), ext=_EXT[mime], mime=mime, data=stored,
                  static_ext="png", static_data=static, frames=frames if animated else 1)


def _has_metadata(im: Image.Image) -> bool:
    # Mastodon strips EXIF/ICC/dates: a file that carries them is rewritten.
    return any(k in im.info for k in ("exif", "icc_profile", "xmp"))


def _square_box(w: int, h: int) -> tuple[int, int, int, int]:
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return left, top, left + side, top + side


def _fit(frame: Image.Image) -> Image.Image:
    box = _square_box(frame.width, frame.height)
    side = box[2] - box[0]
    target = min(SIDE, side)
    return frame.resize((target, target), Image.Resampling.LANCZOS, box=box)


def _convert(im: Image.Image, mime: str, animated: bool) -> bytes:
    buf = io.BytesIO()
    if animated:
        frames: list[Image.Image] = []
        durations: list[int] = []
        for frame in ImageSequence.Iterator(im):
            durations.append(int(frame.info.get("duration", 100)))
            frames.append(_fit(frame.convert("RGBA")))
        fmt = "GIF" if mime == "image/gif" else "WEBP"
        frames[0].save(buf, fmt, save_all=True, append_images=frames[1:],
                       duration=durations, loop=int(im.info.get("loop", 0)),
                       disposal=2 if fmt == "GIF" else 0)
        return buf.getvalue()
    frame = im.convert("RGBA") if im.mode in ("P", "LA", "PA", "RGBA") else im.convert("RGB")
    out = _fit(frame)
    fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF",
           "image/webp": "WEBP"}[mime]
    if fmt == "JPEG" and out.mode != "RGB":
        out = out.convert("RGB")
    out.save(buf, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def _static(im: Image.Image) -> bytes:
    im.seek(0)
    first = _fit(im.convert("RGBA"))
    buf = io.BytesIO()
    first.save(buf, "PNG")
    return buf.getvalue()
