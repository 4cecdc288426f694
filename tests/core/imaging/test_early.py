"""The early JPEG decode (core/imaging/early.py) and its hand-over to ImageSource: the
same pixels as the source's own decode, taken only when it is the decode asked for, and
every error still the source's."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator

import pytest
from avatar_studio.core.imaging import early
from avatar_studio.core.imaging.crop import CropModel
from avatar_studio.core.imaging.errors import DamagedImage
from avatar_studio.core.imaging.files import MAX_PIXELS
from avatar_studio.core.imaging.render import base_scale, render_image
from avatar_studio.core.imaging.scale import dct_scale, least_scale
from avatar_studio.core.imaging.source import ImageSource
from avatar_studio.core.services.bluesky.spec import BLUESKY_SPEC
from avatar_studio.core.services.x.spec import X_SPEC
from PIL import Image

from tests.core.imaging import samples
from tests.core.imaging.spies import count_calls


@pytest.fixture(scope="module")
def sideways() -> bytes:
    """3200×2400 as stored, upright 2400×3200 (EXIF 6), in Adobe RGB."""
    return samples.encode(samples.photo_like(3200, 2400, seed=7), "JPEG", quality=92,
                          exif=samples.exif_bytes(6), icc_profile=samples.adobe_rgb_profile())


_STARTED: list[early.EarlyDecode] = []


@pytest.fixture(autouse=True)
def _decoders_done() -> Iterator[None]:
    """Every decode a test started has ended before the next test (a dropped one runs
    on, with the switch interval shortened, until its decoder is done)."""
    yield
    while _STARTED:
        with contextlib.suppress(Exception):
            _STARTED.pop().result()


def _begin(data: bytes, crop_side: float | None = 2400, side: int = 400
           ) -> early.EarlyDecode:
    started = early.begin(data, crop_side=crop_side, service_side=side,
                          max_pixels=MAX_PIXELS)
    assert started is not None
    _STARTED.append(started)
    return started


@pytest.mark.parametrize(("crop_side", "side", "scale"), [
    (2400, 400, 2),    # needs 1/3: a 1/2 decode
    (None, 400, 2),    # the centred square is the short side, 2400
    (4000 / 3, 100, 4),
    (1000, 400, 1),    # needs 0.8: full resolution
    (2400, 1000, 1),   # Bluesky's 1000 px
    (2400, 100, 8),
])
def test_the_scale_is_the_one_the_render_asks_for(sideways: bytes, crop_side: float | None,
                                                  side: int, scale: int) -> None:
    started = _begin(sideways, crop_side, side)
    assert started.scale == scale
    assert started.stored_size == (3200, 2400)
    assert started.icc == samples.adobe_rgb_profile()
    assert started.result().size == (-(-3200 // scale), -(-2400 // scale))


def test_the_render_takes_the_early_decode_and_its_pixels_are_the_sources(
        sideways: bytes) -> None:
    state = CropModel(2400, 3200).state
    fresh = render_image(ImageSource.open_bytes(sideways), state, spec=X_SPEC)
    src = ImageSource.open_bytes(sideways)
    loads = count_calls(src, "_load_stored")
    src.adopt_early(_begin(sideways))
    out = render_image(src, state, spec=X_SPEC)
    assert loads == []  # no decode of its own
    assert samples.psnr(out, fresh) == float("inf")
    src.start_render_base(0, base_scale(state, 2400, 3200, X_SPEC))  # cached: nothing
    assert loads == []


def test_start_render_base_leaves_an_adopted_decode_alone(sideways: bytes) -> None:
    src = ImageSource.open_bytes(sideways)
    loads = count_calls(src, "_load_stored")
    src.adopt_early(_begin(sideways))
    state = CropModel(2400, 3200).state
    src.start_render_base(0, base_scale(state, 2400, 3200, X_SPEC))
    src.render_base(0, base_scale(state, 2400, 3200, X_SPEC))
    assert loads == []


def test_a_decode_at_another_scale_is_dropped(sideways: bytes) -> None:
    state = CropModel(2400, 3200).state
    fresh = render_image(ImageSource.open_bytes(sideways), state, spec=BLUESKY_SPEC)
    src = ImageSource.open_bytes(sideways)
    loads = count_calls(src, "_load_stored")
    src.adopt_early(_begin(sideways, side=400))  # 1/4; Bluesky's 1000 px needs all
    out = render_image(src, state, spec=BLUESKY_SPEC)
    assert loads == [1]
    assert samples.psnr(out, fresh) == float("inf")
    render_image(src, state, spec=X_SPEC)  # sharp enough now; the early one is gone
    assert loads == [1]


def test_a_decode_of_other_bytes_is_not_taken(sideways: bytes) -> None:
    other = samples.encode(samples.photo_like(3200, 2400, seed=8), "JPEG", quality=92,
                           exif=samples.exif_bytes(6))
    src = ImageSource.open_bytes(sideways)
    loads = count_calls(src, "_load_stored")
    src.adopt_early(_begin(other))
    state = CropModel(2400, 3200).state
    out = render_image(src, state, spec=X_SPEC)
    assert loads == [1]
    fresh = render_image(ImageSource.open_bytes(sideways), state, spec=X_SPEC)
    assert samples.psnr(out, fresh) == float("inf")


def test_a_png_source_takes_no_early_decode(sideways: bytes) -> None:
    png = samples.encode(samples.photo_like(3200, 2400, seed=7), "PNG")
    src = ImageSource.open_bytes(png)
    src.adopt_early(_begin(sideways))
    assert src._early is None


def test_a_damaged_jpeg_fails_as_the_sources_own_decode_would(sideways: bytes) -> None:
    cut = sideways[: len(sideways) // 2]  # the header is whole
    src = ImageSource.open_bytes(cut)
    src.adopt_early(_begin(cut))
    with pytest.raises(DamagedImage):
        src.render_base(0, 0.25)
    with pytest.raises(DamagedImage):  # and again, decoding itself: nothing half kept
        src.render_base(0, 0.25)


def test_the_switch_interval_is_put_back_when_the_decoder_is_done(sideways: bytes) -> None:
    interval = sys.getswitchinterval()
    started = _begin(sideways)
    started.result()
    assert sys.getswitchinterval() == interval


def _mpo() -> bytes:
    buf = io.BytesIO()
    frames = [samples.photo_like(320, 240, seed=s) for s in (1, 2)]
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    return buf.getvalue()


@pytest.mark.parametrize("data", [
    pytest.param(samples.encode(samples.photo_like(64, 48), "PNG"), id="png"),
    pytest.param(b"\xff\xd8\xff\xe0" + b"\0" * 64, id="jpeg magic, no image"),
    pytest.param(b"", id="empty"),
    pytest.param(_mpo(), id="mpo"),
])
def test_anything_but_a_plain_jpeg_starts_nothing(data: bytes) -> None:
    assert early.begin(data, crop_side=None, service_side=400,
                       max_pixels=MAX_PIXELS) is None


def test_too_many_pixels_start_nothing(sideways: bytes) -> None:
    assert early.begin(sideways, crop_side=None, service_side=400,
                       max_pixels=3200 * 2400 - 1) is None
    assert early.begin(sideways, crop_side=0, service_side=400,
                       max_pixels=MAX_PIXELS) is None


def test_the_decode_is_prepared_as_the_sources_own() -> None:
    # Same opener, same draft call, same block size: the pixels cannot differ.
    data = samples.encode(samples.photo_like(800, 600), "JPEG", quality=90)
    im = early.open_with_plugin(data, ("JPEG",))
    assert im.format == "JPEG"
    early.prepare_jpeg(im, 4)  # type: ignore[arg-type]
    im.load()
    with Image.open(io.BytesIO(data)) as ref:
        ref.draft(None, (200, 150))
        ref.load()
        assert samples.psnr(im, ref) == float("inf")


@pytest.mark.parametrize(("crop_side", "side", "least"), [
    (4000, 400, 0.2), (800, 400, 1.0), (300, 400, 1.0), (1000, 100, 0.2),
])
def test_least_scale(crop_side: float, side: int, least: float) -> None:
    assert least_scale(crop_side, side) == pytest.approx(least)


@pytest.mark.parametrize(("least", "scale"), [
    (0.2, 4), (0.25, 4), (0.125, 8), (0.1, 8), (0.26, 2), (0.5, 2), (0.51, 1), (1.0, 1),
])
def test_dct_scale_keeps_at_least_the_scale_asked(least: float, scale: int) -> None:
    assert dct_scale(least) == scale
    assert 1 / scale >= least
