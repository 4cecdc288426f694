"""Every bad input gets its own typed error and a short message; the file is untouched."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.imaging import errors as ie
from avatar_studio.core.imaging.source import ImageSource, SourceLimits
from PIL import Image

from tests.core.imaging import samples
from tests.core.imaging.conftest import sha256


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; no pixel data needed to test the budget."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _check(exc: UserFacingError, *needles: str) -> None:
    text = str(exc)
    assert isinstance(exc, ie.ImageError)
    assert "\n" not in text, text
    assert len(text) < 200, text
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, (needle, text)


def _open_and_decode(path: Path, **kw: object) -> None:
    src = ImageSource.open_path(path, **kw)  # type: ignore[arg-type]
    src.proxy()
    src.full()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _jpeg() -> bytes:
    return samples.encode(samples.photo_like(300, 200), "JPEG", quality=90)


Case = tuple[str, Callable[[Path], Path], type[ie.ImageError], tuple[str, ...],
             dict[str, object]]
CASES: list[Case] = [
    ("empty", lambda d: _write(d, "empty.png", b""), ie.EmptyFile, ("empty.png is empty",),
     {}),
    ("text", lambda d: _write(d, "notes.jpg", b"hello, this is not a picture\n" * 20),
     ie.UnsupportedFormat, ("notes.jpg is not an image", "JPEG", "PNG", "WebP", "HEIC"), {}),
    ("other-format", lambda d: _write(d, "icon.ico", samples.encode(Image.new("RGB", (16, 16)),
                                                              "ICO")),
     ie.UnsupportedFormat, ("ICO format", "not supported", "AVIF"), {}),
    ("truncated-jpeg", lambda d: _write(d, "cut.jpg", _jpeg()[:4000]), ie.DamagedImage,
     ("cut.jpg is damaged or incomplete",), {}),
    ("truncated-png", lambda d: _write(
        d, "cut.png", samples.encode(samples.photo_like(200, 200), "PNG")[:5000]),
     ie.DamagedImage, ("cut.png is damaged",), {}),
    ("truncated-gif", lambda d: _write(
        d, "cut.gif", samples.encode(samples.photo_like(200, 200), "GIF")[:3000]),
     ie.DamagedImage, ("cut.gif is damaged",), {}),
    ("garbage-after-signature", lambda d: _write(d, "bad.jpg", b"\xff\xd8\xff" + b"\x00" * 500),
     ie.DamagedImage, ("bad.jpg looks like a JPEG image but is damaged",), {}),
    ("over-our-pixel-budget", lambda d: _write(d, "huge.png", _png_header_only(10_000, 9_000)),
     ie.TooManyPixels, ("10000×9000", "90.0 megapixels", "limit is 80 megapixels"), {}),
    ("decompression-bomb", lambda d: _write(d, "bomb.png", _png_header_only(30_000, 30_000)),
     ie.TooManyPixels, ("30000×30000", "limit is 80 megapixels"), {}),
    ("custom-pixel-budget", lambda d: _write(d, "small.jpg", _jpeg()), ie.TooManyPixels,
     ("300×200", "limit is 0.05 megapixels"), {"limits": SourceLimits(max_pixels=50_000)}),
    ("byte-budget", lambda d: _write(d, "big.jpg", _jpeg()), ie.FileTooLarge,
     ("big.jpg is", "up to 1,000 bytes"), {"limits": SourceLimits(max_bytes=1000)}),
]


@pytest.mark.parametrize(("make", "error", "needles", "kw"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_reported_and_source_unchanged(tmp_path, make, error, needles, kw):
    path = make(tmp_path)
    before = sha256(path)
    mtime = path.stat().st_mtime_ns
    with pytest.raises(error) as info:
        _open_and_decode(path, **kw)
    _check(info.value, *needles)
    assert sha256(path) == before
    assert path.stat().st_mtime_ns == mtime
    # The same bytes from a drop or the clipboard give the same error.
    if path.stat().st_size:
        with pytest.raises(error):
            ImageSource.open_bytes(path.read_bytes(), **kw).full()


def test_missing_file(tmp_path):
    with pytest.raises(ie.MissingFile) as info:
        ImageSource.open_path(tmp_path / "gone.png")
    _check(info.value, "gone.png: no such file")
    assert info.value.exit_code == 11


def test_folder(tmp_path):
    (tmp_path / "pics").mkdir()
    with pytest.raises(ie.NotAFile) as info:
        ImageSource.open_path(tmp_path / "pics")
    _check(info.value, "pics is a folder")


def test_empty_bytes():
    with pytest.raises(ie.EmptyFile) as info:
        ImageSource.open_bytes(b"", name="clipboard")
    _check(info.value, "clipboard is empty")


def test_frame_out_of_range():
    frames = [Image.new("RGB", (8, 8), (i * 80, 0, 0)) for i in range(3)]
    data = samples.encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    src = ImageSource.open_bytes(data, name="anim.gif")
    for bad in (3, -1):
        with pytest.raises(ie.FrameOutOfRange) as info:
            src.full(bad)
        _check(info.value, "anim.gif has 3 frames", f"frame {bad} does not exist")


def test_exit_codes_are_distinct():
    classes = [ie.MissingFile, ie.NotAFile, ie.EmptyFile, ie.UnsupportedFormat, ie.DamagedImage,
               ie.TooManyPixels, ie.FileTooLarge, ie.FrameOutOfRange, ie.CannotMeetByteLimit]
    codes = [c.exit_code for c in classes]
    assert len(set(codes)) == len(codes)
    assert all(10 <= c <= 19 for c in codes)


def test_truncated_animation_is_damaged_not_a_crash():
    frames = [samples.photo_like(200, 200, seed=i) for i in range(4)]
    data = samples.encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    def decode_all(cut: int) -> None:
        src = ImageSource.open_bytes(data[:cut], name="anim.gif")
        for frame in range(src.info.frame_count):
            src.full(frame)
    for cut in (len(data) * 3 // 4, len(data) - 5):
        with pytest.raises(ie.DamagedImage) as info:
            decode_all(cut)
        _check(info.value, "anim.gif is damaged")
