"""Opening every supported kind of image: formats, orientation, colour, modes, frames."""

from __future__ import annotations

import io
import threading

import pytest
from avatar_studio.core.imaging.crop import CropState
from avatar_studio.core.imaging.source import ImageSource
from PIL import Image, ImageCms, ImageOps

from tests.core.imaging import samples
from tests.core.imaging.spies import count_calls

ALL_FORMATS = ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF", "HEIF"]


def _px(im: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    p = im.getpixel(xy)
    assert isinstance(p, tuple)
    return p


def _heif_writer() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_every_format_opens_from_path_and_bytes(fmt, tmp_path):
    if fmt == "HEIF":
        _heif_writer()
    im = samples.quadrants(60, 40)
    params = {"quality": 95} if fmt in ("JPEG", "WEBP", "AVIF", "HEIF") else {}
    data = samples.encode(im, fmt, **params)
    path = tmp_path / f"pic.{fmt.lower()}"
    path.write_bytes(data)
    for src in (ImageSource.open_path(path), ImageSource.open_bytes(data, name="drop")):
        assert (src.info.width, src.info.height) == (60, 40)
        assert src.info.format == fmt
        assert src.info.frame_count == 1
        assert not src.info.animated
        assert src.info.byte_size == len(data)
        full = src.full()
        assert full.mode == "RGB"
        assert full.size == (60, 40)
        # Quadrant colours survive (lossy formats within a small tolerance).
        assert samples.max_channel_diff(_px(full, (5, 5)), (230, 30, 30)) <= 12
        assert samples.max_channel_diff(_px(full, (55, 35)), (240, 220, 40)) <= 12
    assert ImageSource.open_path(path).info.name == path.name


# Stored = what a camera writes for an upright scene; decoders must undo it exactly once.
_STORE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
          6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_applied_exactly_once(orientation, fmt):
    upright = samples.quadrants(80, 48)
    op = _STORE[orientation]
    stored = upright.transpose(op) if op is not None else upright
    data = samples.encode(stored, fmt, exif=samples.exif_bytes(orientation),
                    **({"quality": 95} if fmt != "PNG" else {}))
    # Cross-check the fixture with Pillow's reference implementation.
    assert ImageOps.exif_transpose(Image.open(io.BytesIO(data))).size == (80, 48)
    src = ImageSource.open_bytes(data)
    assert (src.info.width, src.info.height) == (80, 48)
    for im in (src.full(), src.proxy(max_side=40).image):
        w, h = im.size
        assert w > h
        for (fx, fy), colour in (((0.2, 0.2), (230, 30, 30)), ((0.8, 0.2), (30, 200, 40)),
                                 ((0.2, 0.8), (40, 60, 220)), ((0.8, 0.8), (240, 220, 40))):
            got = _px(im, (int(fx * w), int(fy * h)))
            assert samples.max_channel_diff(got, colour) <= 16, (orientation, im.size, got)


def test_tiff_orientation_is_not_applied_twice():
    upright = samples.quadrants(80, 48)
    data = samples.encode(upright.transpose(Image.Transpose.ROTATE_90), "TIFF",
                    tiffinfo={0x0112: 6})
    src = ImageSource.open_bytes(data)
    assert (src.info.width, src.info.height) == (80, 48)
    assert _px(src.full(), (70, 40)) == (240, 220, 40)


def test_heic_orientation_is_not_applied_twice():
    _heif_writer()
    upright = samples.quadrants(80, 48)
    data = samples.encode(upright.transpose(Image.Transpose.ROTATE_90), "HEIF", quality=95,
                    exif=samples.exif_bytes(6))
    src = ImageSource.open_bytes(data)
    assert (src.info.width, src.info.height) == (80, 48)
    assert samples.max_channel_diff(_px(src.full(), (70, 40)), (240, 220, 40)) <= 16


@pytest.mark.parametrize(("profile", "primaries", "decode"), [
    (samples.adobe_rgb_profile, samples.ADOBE_RGB_PRIMARIES, samples.ADOBE_GAMMA),
    (samples.display_p3_profile, samples.P3_PRIMARIES, "srgb"),
])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_wide_gamut_profiles_convert_to_srgb(profile, primaries, decode, fmt):
    colours = [(100, 150, 50), (200, 30, 90), (128, 128, 128), (20, 90, 220)]
    im = Image.new("RGB", (40 * len(colours), 40))
    for i, c in enumerate(colours):
        im.paste(c, (40 * i, 0, 40 * i + 40, 40))
    params = {"quality": 100, "subsampling": 0} if fmt == "JPEG" else {}
    data = samples.encode(im, fmt, icc_profile=profile(), **params)
    full = ImageSource.open_bytes(data).full()
    assert "icc_profile" not in full.info
    moved = 0
    for i, c in enumerate(colours):
        want = samples.expected_srgb(c, primaries, decode)
        got = _px(full, (40 * i + 20, 20))
        assert samples.max_channel_diff(got, want) <= 2, (c, got, want)
        moved = max(moved, samples.max_channel_diff(want, c))
    assert moved >= 15  # the check would notice a skipped conversion


def test_rgba_with_profile_keeps_alpha():
    im = Image.new("RGBA", (10, 10), (100, 150, 50, 77))
    data = samples.encode(im, "PNG", icc_profile=samples.adobe_rgb_profile())
    full = ImageSource.open_bytes(data).full()
    assert full.mode == "RGBA"
    got = _px(full, (3, 3))
    assert got[3] == 77
    assert samples.max_channel_diff(got[:3], samples.expected_srgb((100, 150, 50),
                                                       samples.ADOBE_RGB_PRIMARIES,
                                                       samples.ADOBE_GAMMA)) <= 2


def test_cmyk_jpeg_without_profile():
    im = Image.new("CMYK", (32, 16), (0, 0, 0, 0))
    im.paste((255, 0, 0, 0), (0, 0, 16, 16))
    src = ImageSource.open_bytes(samples.encode(im, "JPEG", quality=100))
    full = src.full()
    assert full.mode == "RGB"
    assert samples.max_channel_diff(_px(full, (4, 8)), (0, 255, 255)) <= 6  # pure cyan
    assert samples.max_channel_diff(_px(full, (28, 8)), (255, 255, 255)) <= 3


def test_cmyk_jpeg_with_profile_goes_through_it():
    profile = samples.cmyk_profile()
    im = Image.new("CMYK", (32, 16), (0, 0, 0, 0))
    im.paste((255, 0, 0, 0), (0, 0, 16, 16))
    data = samples.encode(im, "JPEG", quality=100, icc_profile=profile)
    full = ImageSource.open_bytes(data).full()
    # Independent reference: the same profile applied directly with littleCMS.
    ref = ImageCms.profileToProfile(
        Image.new("CMYK", (1, 1), (255, 0, 0, 0)), ImageCms.ImageCmsProfile(io.BytesIO(profile)),
        ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert ref is not None
    got = _px(full, (4, 8))
    assert samples.max_channel_diff(got, _px(ref, (0, 0))) <= 6
    assert samples.max_channel_diff(got, (0, 255, 255)) >= 40  # not the naive conversion


def test_palette_with_trns_becomes_rgba():
    im = Image.new("P", (20, 10))
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(1, (10, 0, 20, 10))
    data = samples.encode(im, "PNG", transparency=0)
    src = ImageSource.open_bytes(data)
    assert src.info.has_alpha
    full = src.full()
    assert full.mode == "RGBA"
    assert _px(full, (2, 2))[3] == 0
    assert _px(full, (15, 5)) == (0, 0, 255, 255)


def test_grey_and_rgb_with_trns_colour_key():
    grey = ImageSource.open_bytes(samples.encode(Image.new("L", (4, 4), 7), "PNG", transparency=7))
    assert grey.full().mode == "RGBA"
    assert _px(grey.full(), (0, 0))[3] == 0
    rgb = Image.new("RGB", (4, 4), (1, 2, 3))
    rgb.putpixel((0, 0), (9, 9, 9))
    src = ImageSource.open_bytes(samples.encode(rgb, "PNG", transparency=(1, 2, 3)))
    assert _px(src.full(), (1, 1))[3] == 0
    assert _px(src.full(), (0, 0)) == (9, 9, 9, 255)


def test_16_bit_grey_is_scaled_not_clipped():
    im = Image.new("I;16", (3, 1))
    for x, v in enumerate((0, 32896, 65535)):
        im.putpixel((x, 0), v)
    data = samples.encode(im, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    full = ImageSource.open_bytes(data).full()
    assert [_px(full, (x, 0)) for x in range(3)] == [(0, 0, 0), (128, 128, 128),
                                                      (255, 255, 255)]


def test_dark_16_bit_grey_is_not_mistaken_for_8_bit():
    im = Image.new("I;16", (2, 1))
    im.putpixel((1, 0), 200)  # 200/65535: nearly black, not 200/255
    full = ImageSource.open_bytes(samples.encode(im, "PNG")).full()
    assert _px(full, (1, 0)) == (1, 1, 1)


@pytest.mark.parametrize(("mode", "values", "want"), [
    ("I", (0, 100, 255), (0, 100, 255)),
    ("I", (0, 1000, 65535), (0, 4, 255)),
    ("F", (0.0, 0.5, 1.0), (0, 128, 255)),
    ("F", (-10.0, 0.0, 10.0), (0, 128, 255)),
    ("F", (0.0, 100.4, 200.6), (0, 100, 201)),
])
def test_int_and_float_modes(mode, values, want):
    im = Image.new(mode, (3, 1))
    for x, v in enumerate(values):
        im.putpixel((x, 0), v)
    full = ImageSource.open_bytes(samples.encode(im, "TIFF")).full()
    assert [_px(full, (x, 0))[0] for x in range(3)] == list(want)


@pytest.mark.parametrize(("mode", "fill", "want_mode", "want"), [
    ("1", 1, "RGB", (255, 255, 255)),
    ("L", 77, "RGB", (77, 77, 77)),
    ("LA", (77, 128), "RGBA", (77, 77, 77, 128)),
    ("RGBA", (1, 2, 3, 4), "RGBA", (1, 2, 3, 4)),
])
def test_plain_modes(mode, fill, want_mode, want):
    fmt = "TIFF" if mode == "1" else "PNG"
    full = ImageSource.open_bytes(samples.encode(Image.new(mode, (4, 4), fill), fmt)).full()
    assert full.mode == want_mode
    assert _px(full, (1, 1)) == want


def _frames() -> list[Image.Image]:
    return [Image.new("RGB", (30, 20), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_frames_can_be_chosen(fmt):
    frames = _frames()
    params = {"lossless": True} if fmt == "WEBP" else {}
    data = samples.encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100,
                    **params)
    src = ImageSource.open_bytes(data)
    assert src.info.frame_count == 3
    assert src.info.animated
    for i, frame in enumerate(frames):
        assert samples.max_channel_diff(_px(src.full(i), (5, 5)), _px(frame, (5, 5))) <= 2
        assert samples.max_channel_diff(_px(src.proxy(i).image, (5, 5)), _px(frame, (5, 5))) <= 2


def test_proxy_of_large_jpeg_uses_dct_scaling_and_stays_under_max_side():
    data = samples.encode(samples.photo_like(3000, 2000), "JPEG", quality=90)
    src = ImageSource.open_bytes(data)
    proxy = src.proxy(max_side=1024)
    assert proxy.image.size == (750, 500)  # exactly 1/4: decoded at DCT scale 1/4
    assert proxy.scale == pytest.approx(0.25)
    assert proxy.image.mode == "RGB"
    assert not src.has_full()


def test_proxy_of_png_is_reduced_and_never_upscaled():
    src = ImageSource.open_bytes(samples.encode(samples.photo_like(900, 300, noise=0), "PNG"))
    proxy = src.proxy(max_side=400)
    assert proxy.image.size == (300, 100)
    assert proxy.scale == pytest.approx(1 / 3)
    assert src.proxy(max_side=4000).image.size == (900, 300)


def test_proxy_then_full_from_worker_threads():
    src = ImageSource.open_bytes(samples.encode(samples.photo_like(800, 600), "JPEG", quality=90))
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(src.proxy(max_side=200).image.size)
            results.append(src.full().size)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(set(results)) == [(200, 150), (800, 600)]
    assert src.has_full()


def _sideways_photo() -> bytes:
    return samples.encode(samples.photo_like(3200, 2400, seed=4), "JPEG", quality=92,
                          exif=samples.exif_bytes(6), icc_profile=samples.adobe_rgb_profile())


def _count_decodes(src: ImageSource) -> list[int]:
    """Counts real decodes."""
    return count_calls(src, "_decode_stored")


def _sideways_case() -> tuple[bytes, CropState, Image.Image]:
    """The sideways photo, the crop of its whole 2400 px square, and that crop rendered
    for X from a fresh source (what the tests compare against)."""
    from avatar_studio.core.imaging.crop import CropModel
    from avatar_studio.core.imaging.render import render_image
    from avatar_studio.core.services.x.spec import X_SPEC

    data = _sideways_photo()
    state = CropModel(2400, 3200).state
    return data, state, render_image(ImageSource.open_bytes(data), state, spec=X_SPEC)


def test_the_render_reuses_the_proxy_decode_when_it_is_sharp_enough() -> None:
    from avatar_studio.core.imaging.render import render_image
    from avatar_studio.core.services.x.spec import X_SPEC

    # The whole 2400 px square at 400 px needs 1/3 of full resolution (DRAFT_GAP 2).
    data, state, fresh = _sideways_case()

    sharp = ImageSource.open_bytes(data)
    calls = _count_decodes(sharp)
    assert sharp.proxy(max_side=1600).image.size == (1200, 1600)  # 1/2 DCT scale
    reused = render_image(sharp, state, spec=X_SPEC)
    assert len(calls) == 1  # the exact render decoded nothing
    assert samples.psnr(reused, fresh) > 45  # the same pixels up to rounding order

    soft = ImageSource.open_bytes(data)
    calls = _count_decodes(soft)
    assert soft.proxy(max_side=800).image.size == (600, 800)  # 1/4: too soft to render
    assert samples.psnr(render_image(soft, state, spec=X_SPEC), fresh) == float("inf")
    assert len(calls) == 2


def test_concurrent_full_decodes_run_once() -> None:
    src = ImageSource.open_bytes(_sideways_photo())
    calls = _count_decodes(src)
    start = threading.Barrier(3)
    got: list[Image.Image] = []

    def work() -> None:
        start.wait()
        got.append(src.full())
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1
    assert len(got) == 3
    assert all(im is got[0] for im in got)


def test_a_reduced_rgba_proxy_is_alpha_weighted_and_rendered_from() -> None:
    # A straight average would mix the black under the transparent pixels into the
    # disc's edge: the proxy (and the upload rendered from it) would get a dark fringe.
    from avatar_studio.core.imaging.crop import CropModel
    from avatar_studio.core.imaging.render import render_image
    from avatar_studio.core.services.x.spec import X_SPEC

    data = samples.encode(samples.white_disc_on_transparent(1600), "PNG")
    src = ImageSource.open_bytes(data)
    calls = _count_decodes(src)
    proxy = src.proxy(max_side=800).image  # reduced by 2
    assert proxy.size == (800, 800)
    state = CropModel(1600, 1600).state
    out = render_image(src, state, spec=X_SPEC)
    assert len(calls) == 1  # the render resampled the proxy: no second decode
    for im in (proxy, out):
        pixels = [p for p in im.get_flattened_data() if isinstance(p, tuple)]
        edge = [p for p in pixels if 32 < p[3] < 255]
        assert edge  # the disc's soft edge is there...
        assert min(min(p[:3]) for p in edge) >= 250  # ...and white, not darkened
    fresh = render_image(ImageSource.open_bytes(data), state, spec=X_SPEC)
    assert samples.psnr_visible(out, fresh) > 45


def _count_loads(src: ImageSource) -> list[int]:
    """Counts pixel decodes, early (start_render_base) or not."""
    return count_calls(src, "_load_stored")


def test_an_early_decode_is_the_one_the_render_uses() -> None:
    import sys

    from avatar_studio.core.imaging.render import base_scale, render_image
    from avatar_studio.core.services.x.spec import X_SPEC

    data, state, fresh = _sideways_case()
    src = ImageSource.open_bytes(data)
    loads = _count_loads(src)
    interval = sys.getswitchinterval()
    src.start_render_base(0, base_scale(state, 2400, 3200, X_SPEC))
    out = render_image(src, state, spec=X_SPEC)  # waits for the decode under way
    assert len(loads) == 1
    assert samples.psnr(out, fresh) == float("inf")
    assert sys.getswitchinterval() == interval  # put back once the decoder is done
    src.start_render_base(0, 0.1)  # sharp enough already: nothing starts
    assert len(loads) == 1


def test_an_early_decode_that_fails_is_reported_by_the_render_base() -> None:
    from avatar_studio.core.imaging.errors import DamagedImage

    data = _sideways_photo()
    src = ImageSource.open_bytes(data[: len(data) // 2])  # the header is whole
    src.start_render_base(0, 0.25)  # raises nothing: the decode fails on its thread
    with pytest.raises(DamagedImage):
        src.render_base(0, 0.25)
    with pytest.raises(DamagedImage):  # and again: no half-decoded image was kept
        src.render_base(0, 0.25)
