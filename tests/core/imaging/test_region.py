"""render_region (the editor's sharp view) shows the crop exactly as the upload render does."""

from __future__ import annotations

import io

import pytest
from avatar_studio.core.imaging.crop import CropModel, CropState, source_box
from avatar_studio.core.imaging.region import render_region
from avatar_studio.core.imaging.render import render_image
from avatar_studio.core.imaging.source import ImageSource
from avatar_studio.core.services.x.spec import X_SPEC
from PIL import Image, ImageChops, ImageDraw, ImageStat


def _picture(fmt: str, orientation: int = 1) -> ImageSource:
    """Asymmetric on every axis: quadrants, a diagonal and a dot, all off centre."""
    im = Image.new("RGB", (900, 600), (230, 40, 40))
    draw = ImageDraw.Draw(im)
    draw.rectangle((420, 0, 899, 260), fill=(40, 190, 70))
    draw.rectangle((0, 260, 420, 599), fill=(40, 70, 220))
    draw.line((0, 0, 899, 599), fill=(250, 250, 250), width=9)
    draw.ellipse((600, 380, 700, 480), fill=(250, 220, 30))
    buf = io.BytesIO()
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.save(buf, fmt, quality=95, exif=exif.tobytes())
    else:
        im.save(buf, fmt)
    return ImageSource.open_bytes(buf.getvalue(), name=f"picture.{fmt.lower()}")


def _state(source: ImageSource, turns: int, flip_h: bool, flip_v: bool) -> CropState:
    model = CropModel(source.info.width, source.info.height)
    model.rotate(turns)
    if flip_h:
        model.flip_horizontal()
    if flip_v:
        model.flip_vertical()
    model.zoom(2.0)
    model.pan(-70, 40)
    return model.state


def _difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"),
                                                    b.convert("RGB"))).mean) / 3


@pytest.mark.parametrize(("fmt", "orientation"), [("PNG", 1), ("JPEG", 6)])
@pytest.mark.parametrize(("turns", "flip_h", "flip_v"),
                         [(0, False, False), (1, False, False), (2, True, False),
                          (3, False, True), (1, True, True)])
def test_the_crop_square_matches_the_upload_render(fmt: str, orientation: int, turns: int,
                                                   flip_h: bool, flip_v: bool) -> None:
    source = _picture(fmt, orientation)
    info = source.info
    state = _state(source, turns, flip_h, flip_v)
    exact = render_image(source, state, spec=X_SPEC)
    box = source_box(state, info.width, info.height)
    region = render_region(source.full(), (box.x, box.y, box.x + box.size, box.y + box.size),
                           exact.size, state)
    assert region.size == exact.size
    assert _difference(region, exact) < 1.5
    # The comparison can tell: the same region left unturned and unflipped differs.
    plain = render_region(source.full(), (box.x, box.y, box.x + box.size, box.y + box.size),
                          exact.size, CropState(0, 0, 1))
    if (turns, flip_h, flip_v) != (0, False, False):
        assert _difference(plain, exact) > 20


def test_a_wide_region_turned_a_quarter_is_as_wide_as_asked() -> None:
    source = _picture("PNG")
    turned = CropState(0, 0, 100, rotation=90)
    out = render_region(source.full(), (100.0, 50.0, 300.0, 450.0), (800, 400), turned)
    # 200×400 source pixels, turned: 400 wide and 200 high on screen, drawn at 800×400.
    assert out.size == (800, 400)
    with pytest.raises(ValueError, match="empty"):
        render_region(source.full(), (10.0, 10.0, 10.0, 20.0), (5, 5), turned)
