"""Rendering and encoding: sizes, exact resampling, alpha, formats, privacy, byte limits."""

from __future__ import annotations

import dataclasses
import io

import pytest
from avatar_studio.core.imaging.crop import CropModel, CropState
from avatar_studio.core.imaging.errors import CannotMeetByteLimit
from avatar_studio.core.imaging.render import (
    RenderOptions,
    preview_from_proxy,
    proxy_box,
    render,
    render_image,
)
from avatar_studio.core.imaging.source import ImageSource
from avatar_studio.core.services.x.spec import X_SPEC
from PIL import Image, JpegImagePlugin

from tests.core.imaging import samples

LIMIT = X_SPEC.max_bytes_exclusive


def _src(im: Image.Image, fmt: str = "PNG", **params: object) -> ImageSource:
    return ImageSource.open_bytes(samples.encode(im, fmt, **params))


def _rgba(im: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    p = im.getpixel(xy)
    assert isinstance(p, tuple)
    return p


def _initial(src: ImageSource) -> CropState:
    return CropModel(src.info.width, src.info.height).state


def _reference(src: ImageSource, x: float, y: float, size: float, side: int) -> Image.Image:
    """The exact reference: full-resolution Lanczos from the float box."""
    return src.full().resize((side, side), Image.Resampling.LANCZOS,
                             box=(x, y, x + size, y + size))


def test_photo_becomes_jpeg_at_service_side_with_full_chroma():
    src = _src(samples.photo_like(1200, 900), "JPEG", quality=92)
    result = render(src, _initial(src), spec=X_SPEC)
    assert (result.format, result.mime_type, result.extension) == ("JPEG", "image/jpeg", "jpg")
    assert (result.width, result.height) == (400, 400)
    with Image.open(io.BytesIO(result.data)) as im:
        assert isinstance(im, JpegImagePlugin.JpegImageFile)
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4
    assert len(result.data) < LIMIT


def test_result_image_is_decoded_from_exactly_the_bytes():
    src = _src(samples.photo_like(800, 800), "JPEG", quality=90)
    result = render(src, _initial(src), spec=X_SPEC)
    with Image.open(io.BytesIO(result.data)) as im:
        assert samples.psnr(im.convert("RGB"), result.image) == float("inf")
    # ... and it differs from the pre-encoding pixels (JPEG is lossy): it is not a copy.
    assert samples.psnr(render_image(src, _initial(src), spec=X_SPEC), result.image) < 80


@pytest.mark.parametrize(("w", "h", "want"), [(1, 1, 1), (7, 5, 5), (250, 300, 250),
                                               (401, 2000, 400)])
def test_never_upscales(w, h, want):
    im = samples.photo_like(w, h, noise=0) if w > 8 else Image.new("RGB", (w, h), (9, 99, 9))
    src = _src(im)
    result = render(src, _initial(src), spec=X_SPEC)
    assert (result.width, result.height) == (want, want)


def test_zoomed_crop_smaller_than_400_is_not_upscaled():
    src = _src(samples.photo_like(1000, 1000), "JPEG", quality=90)
    model = CropModel(1000, 1000)
    model.set_source_box(100, 100, 123.6)
    assert render(src, model.state, spec=X_SPEC).width == 123


def test_resample_is_one_lanczos_from_the_exact_float_box():
    # RGBA with varying alpha is encoded losslessly (PNG), so pixels compare exactly.
    im = samples.photo_like(900, 700, noise=20).convert("RGBA")
    im.putalpha(Image.linear_gradient("L").resize((900, 700)))
    src = _src(im)
    model = CropModel(900, 700)
    model.set_source_box(123.25, 77.5, 511.75)
    result = render(src, model.state, spec=X_SPEC)
    assert result.format == "PNG"
    assert result.image.mode == "RGBA"
    assert samples.psnr(result.image, _reference(src, 123.25, 77.5, 511.75, 400)) == float("inf")


def test_jpeg_draft_decoding_stays_within_40_db_of_the_exact_reference():
    data = samples.encode(samples.photo_like(3300, 3300), "JPEG", quality=92)
    src = ImageSource.open_bytes(data)
    out = render_image(src, _initial(src), spec=X_SPEC)  # 3300 -> 400: decoded at 1/4 scale
    base = src.render_base(0, 0.0)
    assert base.image.size == (825, 825)
    assert not src.has_full()
    reference = _reference(ImageSource.open_bytes(data), 0, 0, 3300, 400)
    assert samples.psnr(out, reference) >= 40


_STORE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
          6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_render_from_stored_pixels_matches_the_oriented_reference(orientation):
    # Rendering works on the stored (unrotated) pixels and converts colours after
    # resampling; the result must match resampling the upright, converted image.
    upright = samples.photo_like(1200, 800, noise=6)
    op = _STORE[orientation]
    stored = upright.transpose(op) if op is not None else upright
    data = samples.encode(stored, "JPEG", quality=95, exif=samples.exif_bytes(orientation),
                          icc_profile=samples.adobe_rgb_profile())
    model = CropModel(1200, 800)
    model.set_source_box(100.5, 50.25, 700)
    model.rotate(1)
    out = render_image(ImageSource.open_bytes(data), model.state, spec=X_SPEC)
    ref_src = ImageSource.open_bytes(data)
    reference = _reference(ref_src, 100.5, 50.25, 700, 400).transpose(
        Image.Transpose.ROTATE_270)
    assert samples.psnr(out, reference) >= 40


@pytest.mark.parametrize("turns", [1, 2, 3])
@pytest.mark.parametrize("flip", ["", "h", "v", "hv"])
def test_rotation_and_flips_match_the_view(turns, flip):
    src = _src(samples.quadrants(80, 80))
    model = CropModel(80, 80)
    model.rotate(turns)
    if "h" in flip:
        model.flip_horizontal()
    if "v" in flip:
        model.flip_vertical()
    out = render_image(src, model.state, spec=X_SPEC)
    want = samples.quadrants(80, 80).transpose(
        {1: Image.Transpose.ROTATE_270, 2: Image.Transpose.ROTATE_180,
         3: Image.Transpose.ROTATE_90}[turns])
    if "h" in flip:
        want = want.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if "v" in flip:
        want = want.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    for xy in ((10, 10), (70, 10), (10, 70), (70, 70)):
        assert out.getpixel(xy) == want.getpixel(xy)


def test_transparency_keeps_clean_edges_without_dark_fringes():
    src = _src(samples.white_disc_on_transparent(1000))
    result = render(src, _initial(src), spec=X_SPEC)
    assert result.format == "PNG"
    assert result.image.mode == "RGBA"
    pixels = [_rgba(result.image, (x, y)) for y in range(400) for x in range(400)]
    edge = [p for p in pixels if 0 < p[3] < 255]
    assert len(edge) > 100
    assert min(min(p[:3]) for p in edge) >= 250, "dark fringe on the disc's edge"


def test_background_flattens_alpha_onto_the_colour():
    src = _src(samples.white_disc_on_transparent(1000))
    result = render(src, _initial(src), options=RenderOptions(background=(255, 0, 0)), spec=X_SPEC)
    assert result.image.mode == "RGB"
    assert result.image.getpixel((2, 2)) == (255, 0, 0)
    assert result.image.getpixel((200, 200)) == (255, 255, 255)
    # Edge pixels are blends of white and red only (G == B), never darker.
    for x in range(0, 200):
        r, g, b = _rgba(result.image, (x, 200))
        assert r >= 250
        assert abs(g - b) <= 3


def test_opaque_rgba_is_not_kept_as_rgba():
    src = _src(samples.photo_like(500, 500).convert("RGBA"))
    assert render(src, _initial(src), spec=X_SPEC).format == "JPEG"


def test_graphics_use_a_palette_png_and_are_lossless():
    src = _src(samples.quadrants(800, 800))
    result = render(src, _initial(src), spec=X_SPEC)
    assert result.format == "PNG"
    with Image.open(io.BytesIO(result.data)) as im:
        assert im.mode == "P"
    assert samples.psnr(result.image, render_image(src, _initial(src), spec=X_SPEC)) == float("inf")


def test_palette_with_transparency_survives_as_png():
    im = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    im.paste((200, 10, 10, 255), (20, 20, 80, 80))
    result = render(_src(im), CropState(0, 0, 100), spec=X_SPEC)
    with Image.open(io.BytesIO(result.data)) as out:
        assert out.mode == "P"
        assert "transparency" in out.info
    assert result.image.getpixel((0, 0)) == (0, 0, 0, 0)
    assert result.image.getpixel((50, 50)) == (200, 10, 10, 255)


def test_output_has_no_metadata_and_is_srgb():
    im = samples.photo_like(600, 600)
    data = samples.encode(im, "JPEG", quality=90, exif=samples.exif_bytes(1, gps=True, maker=True),
                    icc_profile=samples.adobe_rgb_profile())
    assert b"MAKERNOTE-SECRET" in data
    assert b"TestCam" in data
    xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>SECRET-XMP</x:xmpmeta>"
    png = samples.encode(im.convert("RGBA"), "PNG", exif=samples.exif_bytes(1, gps=True), xmp=xmp)
    for source in (ImageSource.open_bytes(data), ImageSource.open_bytes(png)):
        result = render(source, _initial(source), spec=X_SPEC)
        for needle in (b"Exif", b"MAKERNOTE", b"TestCam", b"SECRET-XMP", b"xmpmeta",
                       b"ICC_PROFILE", b"iCCP", b"eXIf"):
            assert needle not in result.data
        with Image.open(io.BytesIO(result.data)) as out:
            assert not out.getexif()
            assert "icc_profile" not in out.info
            assert "xmp" not in out.info


def test_noisy_2000px_rgba_stays_under_the_byte_limit():
    src = _src(samples.noise_rgba(2000), compress_level=0)
    result = render(src, _initial(src), spec=X_SPEC)
    assert result.format == "PNG"
    assert (result.width, result.height) == (400, 400)
    assert len(result.data) < LIMIT


def test_noisy_rgb_jpeg_at_high_quality_does_not_hit_suspension(capfd):
    result = render(_src(samples.noise(400, "RGB")), CropState(0, 0, 400), spec=X_SPEC)
    assert result.format == "JPEG"
    assert len(result.data) > 200_000
    assert "Suspension" not in capfd.readouterr().err


def test_tight_byte_limit_lowers_jpeg_quality_until_it_fits():
    tight = dataclasses.replace(X_SPEC, max_bytes_exclusive=25_000)
    src = _src(samples.photo_like(1000, 1000, noise=25), "JPEG", quality=92)
    assert len(render(src, _initial(src), spec=X_SPEC).data) >= 25_000
    result = render(src, _initial(src), spec=tight)
    assert result.format == "JPEG"
    assert len(result.data) < 25_000
    assert result.width == 400  # quality went down before the size did


def test_fitted_huffman_tables_are_used_when_only_they_fit():
    from avatar_studio.core.imaging.encode import save_jpeg

    src = _src(samples.photo_like(1000, 1000, noise=25), "JPEG", quality=92)
    plain = render(src, _initial(src), spec=X_SPEC)
    pixels = render_image(src, _initial(src), spec=X_SPEC)
    optimized = save_jpeg(pixels, 95, "4:4:4")
    assert plain.data == save_jpeg(pixels, 95, "4:4:4", optimize=False)  # it fits
    assert len(optimized) < len(plain.data)
    between = dataclasses.replace(X_SPEC, max_bytes_exclusive=len(optimized) + 1)
    assert render(src, _initial(src), spec=between).data == optimized  # same quality


def test_tight_byte_limit_with_alpha_uses_palette_then_smaller_sides():
    tight = dataclasses.replace(X_SPEC, max_bytes_exclusive=60_000)
    src = _src(samples.noise_rgba(600))
    result = render(src, _initial(src), spec=tight)
    assert result.format == "PNG"
    assert len(result.data) < 60_000
    assert result.image.mode == "RGBA"


def test_impossible_byte_limit_is_a_clear_error():
    impossible = dataclasses.replace(X_SPEC, max_bytes_exclusive=60)
    src = _src(samples.photo_like(500, 500), "JPEG", quality=90)
    with pytest.raises(CannotMeetByteLimit) as info:
        render(src, _initial(src), spec=impossible)
    assert "limit of 60 bytes" in str(info.value)
    assert info.value.exit_code == 19


def test_fit_mode_letterboxes_with_transparency_or_a_colour():
    src = _src(samples.quadrants(800, 400))
    model = CropModel(800, 400, fit=True)
    model.zoom(0.1)
    assert model.state.size == 800
    clear = render(src, model.state, spec=X_SPEC)
    assert clear.format == "PNG"
    assert clear.image.mode == "RGBA"
    assert _rgba(clear.image, (200, 20))[3] == 0
    assert clear.image.getpixel((50, 150)) == (230, 30, 30, 255)
    filled = render(src, model.state, spec=X_SPEC,
                    options=RenderOptions(fit_fill=(10, 20, 30, 255)))
    assert filled.image.mode == "RGB"
    assert filled.image.getpixel((200, 20)) == (10, 20, 30)
    assert filled.image.getpixel((300, 250)) == (240, 220, 40)


def test_chosen_frame_is_rendered():
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    src = _src(frames[0], "GIF", save_all=True, append_images=frames[1:])
    result = render(src, _initial(src), options=RenderOptions(frame=2), spec=X_SPEC)
    assert result.image.getpixel((30, 30)) == (0, 0, 255)


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_avif_and_heic_render(fmt):
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif").register_heif_opener()
    src = _src(samples.photo_like(640, 480), fmt, quality=90)
    result = render(src, _initial(src), spec=X_SPEC)
    assert (result.format, result.width) == ("JPEG", 400)


def test_preview_from_proxy_matches_the_render_closely():
    data = samples.encode(samples.photo_like(3000, 2000, noise=4), "JPEG", quality=92)
    src = ImageSource.open_bytes(data)
    proxy = src.proxy(max_side=1024)
    model = CropModel(3000, 2000)
    model.zoom(1.5, about=(1000.0, 800.0))
    model.rotate(1)
    model.flip_horizontal()
    preview = preview_from_proxy(proxy, model.state, 400, width=3000, height=2000)
    final = render(src, model.state, spec=X_SPEC)
    assert preview.size == (final.width, final.height)
    assert samples.psnr(preview, final.image) >= 28
    left, top, right, bottom = proxy_box(proxy, model.state, 3000, 2000)
    box = model.source_box()
    assert (left, right - left) == pytest.approx((box.x / 4 * 1.0, box.size / 4))
    assert top == pytest.approx(box.y / 4)
    assert bottom == pytest.approx((box.y + box.size) / 4)


def test_quick_proxy_then_interaction_proxy():
    src = _src(samples.photo_like(3000, 2000), "JPEG", quality=90)
    assert src.quick_proxy().image.size == (750, 500)  # 1/4 DCT scale, <= 1024
    assert src.proxy().image.size == (1500, 1000)  # 1/2 DCT scale, <= 2048


def test_preview_of_transparent_art_keeps_clean_alpha():
    src = _src(samples.white_disc_on_transparent(1600))
    proxy = src.proxy(max_side=800)
    assert [level.size for level in proxy.pyramid()][:3] == [(800, 800), (400, 400),
                                                            (200, 200)]
    model = CropModel(1600, 1600)
    for zoom in (1.0, 1.15):  # both show the edge of the disc
        model.set_zoom(zoom)
        out = preview_from_proxy(proxy, model.state, 400, width=1600, height=1600)
        assert out.mode == "RGBA"
        assert out.size == (400, 400)
        edge = [p for p in (samples.pixel(out, (x, 200)) for x in range(400))
                if 0 < p[3] < 255]
        assert edge
        assert min(min(p[:3]) for p in edge) >= 250


def test_decodes_are_reused_and_full_is_exact():
    data = samples.encode(samples.photo_like(1600, 1200), "JPEG", quality=92,
                          icc_profile=samples.adobe_rgb_profile())
    src = ImageSource.open_bytes(data)
    state = _initial(src)
    first = render_image(src, state, spec=X_SPEC)
    base = src.render_base(0, 0.5)
    assert src.render_base(0, 0.5) is base  # a second render decodes nothing
    assert samples.psnr(render_image(src, state, spec=X_SPEC), first) == float("inf")
    full = src.full()
    assert src.has_full()
    exact = render_image(src, state, spec=X_SPEC)  # now from the full, converted frame
    assert samples.psnr(exact, _reference(src, 200, 0, 1200, 400)) == float("inf")
    assert samples.psnr(first, exact) >= 40
    assert full.size == (1600, 1200)


def _two_passes(im: Image.Image, size: tuple[int, int], filt: Image.Resampling,
                box: tuple[float, float, float, float]) -> Image.Image:
    """Pillow's horizontal pass, then its vertical one (each a one-axis resize)."""
    x0, y0, x1, y1 = box
    across = im.resize((size[0], im.height), filt, box=(x0, 0, x1, im.height))
    return across.resize(size, filt, box=(0, y0, size[0], y1))


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_resampling_in_bands_is_pillows_two_passes_pixel_for_pixel(mode):
    # resample.resize_in_bands splits Pillow's two passes into bands run side by side:
    # the pixels must be those passes', for any box, filter and band count.
    import random

    from avatar_studio.core.imaging import resample

    rnd = random.Random(5)
    im = samples.noise(320, mode, seed=2)
    premultiplied = im.convert("RGBa") if mode == "RGBA" else im
    filters = [Image.Resampling.LANCZOS, Image.Resampling.BICUBIC, Image.Resampling.BOX,
               Image.Resampling.BILINEAR]
    for _ in range(40):
        x0, y0 = rnd.uniform(0, 150), rnd.uniform(0, 150)
        box = (x0, y0, rnd.uniform(x0 + 1, 320), rnd.uniform(y0 + 1, 320))
        size = (rnd.randint(2, 200), rnd.randint(2, 200))
        filt = rnd.choice(filters)
        want = _two_passes(premultiplied, size, filt, box)
        prepare = (lambda band: band.convert("RGBa")) if mode == "RGBA" else None
        for parts in (1, 2, 3):
            got = resample.resize_in_bands(im, size, filt, box, prepare, parts=parts)
            assert got.mode == want.mode
            assert samples.psnr(got, want) == float("inf"), (box, size, filt, parts)


def test_resampling_in_bands_matches_one_resize_call_on_photos():
    # Pillow's one call may take the vertical pass first; on photo content the two
    # orders differ by rounding only.
    from avatar_studio.core.imaging import resample

    im = samples.photo_like(1500, 1000)
    box = (250.0, 0.0, 1250.0, 1000.0)
    got = resample.resize_in_bands(im, (400, 400), Image.Resampling.LANCZOS, box)
    assert samples.psnr(got, im.resize((400, 400), Image.Resampling.LANCZOS, box=box)) >= 50


def test_colour_conversion_in_bands_matches_converting_first():
    from avatar_studio.core.imaging import resample
    from avatar_studio.core.imaging.colour import apply_transform, colour_transform

    transform = colour_transform(samples.adobe_rgb_profile())
    assert transform is not None
    im = samples.photo_like(900, 700, noise=20)
    before = im.copy()
    box = (100.5, 60.25, 860.75, 690.0)
    want = _two_passes(apply_transform(im.copy(), transform), (400, 330),
                       Image.Resampling.LANCZOS, box)
    got = resample.resize_in_bands(
        im, (400, 330), Image.Resampling.LANCZOS, box,
        lambda band: apply_transform(band, transform, in_place=True), parts=2)
    assert samples.psnr(got, want) == float("inf")
    assert samples.psnr(im, before) == float("inf")  # converted on copies only
