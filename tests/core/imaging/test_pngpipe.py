"""A large still PNG decodes on two cores (core/imaging/pngpipe.py): the same pixels and
the same errors as Pillow's own decode, and no thread left behind."""

from __future__ import annotations

import gc
import io
import random
import threading
from pathlib import Path

import pytest
from avatar_studio.core.imaging import pngpipe
from avatar_studio.core.imaging.errors import DamagedImage
from avatar_studio.core.imaging.source import ImageSource
from PIL import Image


def _noise(mode: str, size: tuple[int, int], seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    bands = len(Image.new(mode, (1, 1)).getbands())
    depth = 2 if mode == "I;16" else 1
    data = bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * bands * depth))
    return Image.frombytes(mode, size, data)


def _png(im: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG", **params)
    return out.getvalue()


def _inflaters_done() -> bool:
    for thread in threading.enumerate():
        if thread.name == "png-inflate":
            thread.join(5)
    return not any(t.name == "png-inflate" for t in threading.enumerate())


@pytest.mark.parametrize(("mode", "params"), [
    ("RGBA", {}), ("RGB", {}), ("L", {}), ("I;16", {}), ("RGB", {"interlace": 1}),
    ("P", {}),
])
def test_the_same_pixels_as_pillows_own_decode(mode: str, params: dict[str, object]) -> None:
    size = (900, 700) if mode not in ("P", "L") else (1400, 1000)  # over 1 MiB of IDAT
    src = _noise("L" if mode == "P" else mode, size)
    if mode == "P":
        src = src.convert("P")
    data = _png(src, **params)
    piped = pngpipe.open_piped(data)
    assert piped is not None  # large enough, still: this path is taken
    piped.load()
    plain = Image.open(io.BytesIO(data))
    plain.load()
    assert piped.mode == plain.mode
    assert piped.size == plain.size
    assert piped.tobytes() == plain.tobytes()
    assert piped.info.get("interlace") == plain.info.get("interlace")
    del piped
    gc.collect()
    assert _inflaters_done()


def test_only_large_still_pngs_take_this_path() -> None:
    small = _png(_noise("RGB", (64, 64)))
    assert pngpipe.open_piped(small) is None
    big = _noise("RGB", (900, 700))
    out = io.BytesIO()
    flipped = big.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    big.save(out, "PNG", save_all=True, append_images=[flipped])
    assert b"acTL" in out.getvalue()
    assert pngpipe.open_piped(out.getvalue()) is None  # an APNG
    assert pngpipe.open_piped(b"GIF89a" + bytes(2_000_000)) is None


def _corrupted(data: bytes) -> bytes:
    start = data.index(b"IDAT") + 4 + 200_000
    return data[:start] + bytes(b ^ 0x5A for b in data[start:start + 4096]) + data[start + 4096:]


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_damage_is_reported_as_damage_and_leaves_no_thread(tmp_path: Path,
                                                           damage: str) -> None:
    data = _png(_noise("RGBA", (900, 700)))
    bad = _corrupted(data) if damage == "flipped" else data[:len(data) // 2]
    path = tmp_path / "bad.png"
    path.write_bytes(bad)
    source = ImageSource.open_path(path)
    with pytest.raises(DamagedImage) as exc:
        source.full()
    assert "bad.png is damaged" in str(exc.value)
    gc.collect()
    assert _inflaters_done()
