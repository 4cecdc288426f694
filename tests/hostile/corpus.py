"""A seeded mutation corpus of real image files (generated here, never stored).

Every sample is a small real image written by Pillow / pillow-heif in one of the formats
users give us; each case is one deterministic mutation of one sample (bit flips, runs of
0xFF over size fields, truncation, insertion, zeroed or repeated ranges). The same seed
always gives the same bytes, so a failing case is reproduced by its number alone.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw

#: Cases in CI; AVATAR_STUDIO_FUZZ_CASES asks for more (or fewer) locally.
DEFAULT_CASES = 1000
FUZZ_ENV = "AVATAR_STUDIO_FUZZ_CASES"
SEED_ENV = "AVATAR_STUDIO_FUZZ_SEED"
DEFAULT_SEED = 20261201


def case_count() -> int:
    return int(os.environ.get(FUZZ_ENV, DEFAULT_CASES))


def seed() -> int:
    return int(os.environ.get(SEED_ENV, DEFAULT_SEED))


def _picture(w: int, h: int, mode: str = "RGB") -> Image.Image:
    im = Image.new("RGB", (w, h), (30, 90, 160))
    d = ImageDraw.Draw(im)
    for i in range(0, w, 6):
        d.line((i, 0, w - i, h), fill=(i * 5 % 256, 200 - i % 200, 90))
    d.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=(240, 200, 40))
    if mode == "RGBA":
        im.putalpha(Image.linear_gradient("L").resize((w, h)))
    return im


def _save(im: Image.Image | list[Image.Image], fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    if isinstance(im, list):
        im[0].save(buf, fmt, save_all=True, append_images=im[1:], **params)
    else:
        im.save(buf, fmt, **params)
    return buf.getvalue()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "FuzzCam"
    return exif.tobytes()


@cache
def samples() -> dict[str, bytes]:
    """Name -> bytes of each real sample (small, so a case decodes in milliseconds)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    rgb, rgba = _picture(72, 48), _picture(40, 40, "RGBA")
    frames = [_picture(32, 32).rotate(a) for a in (0, 30, 60)]
    return {
        "jpeg": _save(rgb, "JPEG", quality=85, exif=_exif(6)),
        "jpeg-progressive": _save(rgb, "JPEG", quality=70, progressive=True),
        "png": _save(rgb, "PNG"),
        "png-alpha": _save(rgba, "PNG", exif=_exif(3)),
        "png-palette": _save(rgb.convert("P"), "PNG"),
        "gif-animated": _save([f.convert("P") for f in frames], "GIF", duration=50, loop=0),
        "webp": _save(rgb, "WEBP", quality=80),
        "webp-animated": _save(frames, "WEBP", duration=50),
        "avif": _save(rgb, "AVIF", quality=60),
        "heic": _save(rgb, "HEIF", quality=60),
        "tiff": _save(rgb, "TIFF"),
        "tiff-deflate": _save(rgba, "TIFF", compression="tiff_adobe_deflate"),
        "bmp": _save(rgb, "BMP"),
    }


def _flip_bits(rnd: random.Random, data: bytearray) -> str:
    n = rnd.randint(1, 8)
    head = rnd.random() < 0.5
    for _ in range(n):
        i = rnd.randrange(min(len(data), 96) if head else len(data))
        data[i] ^= 1 << rnd.randrange(8)
    return f"flip {n} bits{' in the header' if head else ''}"


def _ff_run(rnd: random.Random, data: bytearray) -> str:
    # Sizes, lengths and offsets at their maximum: the usual way into a decoder bug.
    width = rnd.choice((1, 2, 4))
    i = rnd.randrange(min(len(data), 128) - width)
    data[i:i + width] = rnd.choice((b"\xff", b"\x7f", b"\x00", b"\x80")) * width
    return f"{width} bytes at {i} set to an extreme"


def _truncate(rnd: random.Random, data: bytearray) -> str:
    cut = rnd.randrange(1, len(data))
    del data[cut:]
    return f"truncated to {cut} bytes"


def _insert(rnd: random.Random, data: bytearray) -> str:
    i = rnd.randrange(len(data))
    n = rnd.randint(1, 64)
    data[i:i] = bytes(rnd.randrange(256) for _ in range(n))
    return f"{n} random bytes inserted at {i}"


def _zero(rnd: random.Random, data: bytearray) -> str:
    i = rnd.randrange(len(data))
    n = rnd.randint(1, 256)
    data[i:i + n] = bytes(len(data[i:i + n]))
    return f"{n} bytes zeroed at {i}"


def _repeat(rnd: random.Random, data: bytearray) -> str:
    i = rnd.randrange(len(data))
    chunk = bytes(data[i:i + rnd.randint(4, 512)])
    data[i:i] = chunk * rnd.randint(1, 4)
    return f"a {len(chunk)}-byte range repeated at {i}"


_MUTATIONS: tuple[Callable[[random.Random, bytearray], str], ...] = (
    _flip_bits, _flip_bits, _ff_run, _ff_run, _truncate, _insert, _zero, _repeat)


@dataclass(frozen=True)
class Case:
    number: int
    sample: str
    what: str
    data: bytes

    @property
    def file_name(self) -> str:
        ext = self.sample.split("-")[0].replace("jpeg", "jpg")
        return f"case{self.number:05d}.{ext}"


def cases(count: int | None = None, start_seed: int | None = None) -> Iterator[Case]:
    """``count`` deterministic cases, cycling through the samples."""
    base = samples()
    names = sorted(base)
    root = start_seed if start_seed is not None else seed()
    for number in range(count if count is not None else case_count()):
        rnd = random.Random(root * 1_000_003 + number)
        name = names[number % len(names)]
        data = bytearray(base[name])
        steps = [rnd.choice(_MUTATIONS)(rnd, data) if len(data) >= 8 else "too short for more"
                 for _ in range(rnd.choice((1, 1, 2, 3)))]
        yield Case(number, name, "; ".join(steps), bytes(data))


# -- hand-made hostile files the mutations rarely reach ------------------------------
def gif(screen: tuple[int, int], frame: tuple[int, int]) -> bytes:
    """A GIF with this logical screen and one frame of this size (65535×65535: about
    4.3 gigapixels); the frame's few bytes of LZW data say nothing of its size."""
    header = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + bytes(6)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0) + b"\x02\x02\x44\x01\x00"
    return header + image + b"\x3b"


def png_huge_size() -> bytes:
    """A PNG header that claims 1,000,000 × 1,000,000 pixels."""
    ihdr = struct.pack(">IIBBBBB", 1_000_000, 1_000_000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 64)
    chunk2 = b"IDAT" + idat
    body += struct.pack(">I", len(idat)) + chunk2 + struct.pack(">I", zlib.crc32(chunk2))
    return b"\x89PNG\r\n\x1a\n" + body + b"\x00\x00\x00\x00IEND\xaeB`\x82"
