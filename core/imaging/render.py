"""Render the crop: one Lanczos resample from the (near) full-resolution source, then the
encoding that gets uploaded, decoded back so the preview shows exactly those bytes."""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from avatar_studio.core.imaging.colour import apply_transform, to_srgb
from avatar_studio.core.imaging.crop import CropState, SourceBox, source_box
from avatar_studio.core.imaging.resample import (
    SUPPORT,
    parts_for,
    resize_in_bands,
    run_all,
    workers,
)
from avatar_studio.core.imaging.scale import DRAFT_GAP, least_scale
from avatar_studio.core.imaging.scale import output_side as side_for
from avatar_studio.core.imaging.source import ImageSource, Proxy
from avatar_studio.core.imaging.spec import RenderSpec
from PIL import Image

RGBA = tuple[int, int, int, int]
RGB = tuple[int, int, int]

# Clockwise view rotation -> Pillow transpose (Pillow's ROTATE_* turn anticlockwise).
_ROTATE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
           270: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class RenderOptions:
    frame: int = 0
    #: None keeps transparency; a colour flattens onto it.
    background: RGB | None = None
    #: Letterbox colour in fit mode; None = transparent (or ``background`` if set).
    fit_fill: RGBA | None = None


@dataclass(frozen=True)
class RenderResult:
    data: bytes
    format: str
    mime_type: str
    extension: str
    width: int
    height: int
    #: ``image`` as its maker decoded it already, if it did.
    decoded: Image.Image | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def image(self) -> Image.Image:
        """Decoded back from exactly ``data`` (RGB or RGBA): what the service will show.
        Decoded on first use: the CLI writes the bytes and never looks at them."""
        if self.decoded is not None:
            return self.decoded
        with Image.open(io.BytesIO(self.data)) as decoded:
            decoded.load()
            return to_srgb(decoded, None)

    @property
    def byte_size(self) -> int:
        return len(self.data)


def output_side(box: SourceBox, spec: RenderSpec) -> int:
    """min(service side, crop side): never upscale."""
    return side_for(box.size, spec.output_side)


def _fill_colour(options: RenderOptions) -> RGBA:
    if options.fit_fill is not None:
        return options.fit_fill
    if options.background is not None:
        return (*options.background, 255)
    return (0, 0, 0, 0)


def resample_square(base: Image.Image, scale_x: float, scale_y: float, box: SourceBox,
                    src_w: int, src_h: int, side: int, *, fill: RGBA,
                    resample: Image.Resampling = Image.Resampling.LANCZOS,
                    reducing_gap: float | None = None,
                    convert: Callable[[Image.Image], Image.Image] | None = None
                    ) -> Image.Image:
    """Resample ``box`` (source px) of ``base`` (the source at the given scale) into a
    ``side``-pixel square in one step; parts outside the image get ``fill``.

    ``convert`` (the colour transform to sRGB) runs before resampling, on only the
    pixels the filter reads: resampling mixes the sRGB values the reference mixes, which
    converting the small result afterwards does not (2-3 dB nearer the exact render).
    ``base`` is never modified; it may be premultiplied (RGBa); the result is not.
    """
    ix0, iy0 = max(0.0, box.x), max(0.0, box.y)
    ix1, iy1 = min(float(src_w), box.x + box.size), min(float(src_h), box.y + box.size)
    if ix1 <= ix0 or iy1 <= iy0:
        raise ValueError("the crop does not overlap the image")
    k = side / box.size
    ox0, oy0 = round((ix0 - box.x) * k), round((iy0 - box.y) * k)
    ox1 = max(ox0 + 1, min(side, round((ix1 - box.x) * k)))
    oy1 = max(oy0 + 1, min(side, round((iy1 - box.y) * k)))
    region = _resize_box(base, (ox1 - ox0, oy1 - oy0), resample,
                         (ix0 * scale_x, iy0 * scale_y, ix1 * scale_x, iy1 * scale_y),
                         reducing_gap, convert)
    if (ox0, oy0, ox1, oy1) == (0, 0, side, side):
        return region
    mode = "RGBA" if (region.mode == "RGBA" or fill[3] < 255) else "RGB"
    canvas = Image.new(mode, (side, side), fill if mode == "RGBA" else fill[:3])
    if region.mode != mode:
        region = region.convert(mode)
    canvas.paste(region, (ox0, oy0))
    return canvas


def _resize_box(im: Image.Image, size: tuple[int, int], resample: Image.Resampling,
                box: tuple[float, float, float, float], reducing_gap: float | None = None,
                convert: Callable[[Image.Image], Image.Image] | None = None
                ) -> Image.Image:
    """``im.resize(size, resample, box=box, reducing_gap=reducing_gap)``, touching only
    the pixels the filter reads; ``convert`` runs on those pixels first (on a copy:
    ``im`` is never modified). Large work is split over the cores
    (``resample.resize_in_bands``: Pillow's two passes, band by band).

    Pillow premultiplies a whole RGBA image before resizing it; cutting out the box plus
    the filter's reach first gives the same pixels for far less work on small crops.
    """
    x0, y0, x1, y1 = box
    if reducing_gap is not None and (im.mode == "RGBA" or convert is not None):
        fx = int((x1 - x0) / size[0] / reducing_gap) or 1
        fy = int((y1 - y0) / size[1] / reducing_gap) or 1
        if fx > 1 or fy > 1:
            reduced, box = _reduce_in_strips(im, size, resample, box, (fx, fy), convert)
            out = _resize(reduced, size, resample, box, None)
            return out.convert("RGBA") if out.mode == "RGBa" else out
    if im.mode == "RGBA" or convert is not None:
        prepare = _prepare(im.mode, convert)
        parts = parts_for(im, size, resample, box, prepare=True)
        if parts > 1:
            # The bands cut out the pixels the filter reads themselves.
            out = resize_in_bands(im, size, resample, box, prepare, parts=parts)
            return out.convert("RGBA") if out.mode == "RGBa" else out
        support = SUPPORT.get(resample, 1.0)
        if reducing_gap is not None:
            # reduce() first rounds the box out to whole multiples of its factor.
            support += reducing_gap * 2
        reach_x = support * max(1.0, (x1 - x0) / size[0]) + 2
        reach_y = support * max(1.0, (y1 - y0) / size[1]) + 2
        cx0, cy0 = max(0, math.floor(x0 - reach_x)), max(0, math.floor(y0 - reach_y))
        cx1 = min(im.width, math.ceil(x1 + reach_x))
        cy1 = min(im.height, math.ceil(y1 + reach_y))
        if (cx1 - cx0) * (cy1 - cy0) < im.width * im.height:
            im = im.crop((cx0, cy0, cx1, cy1))
            box = (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0)
        elif convert is not None:
            im = im.copy()
        if convert is not None:
            im = convert(im)
    out = im.resize(size, resample, box=box, reducing_gap=reducing_gap)
    return out.convert("RGBA") if out.mode == "RGBa" else out


def _resize(im: Image.Image, size: tuple[int, int], resample: Image.Resampling,
            box: tuple[float, float, float, float],
            prepare: Callable[[Image.Image], Image.Image] | None) -> Image.Image:
    """``im.resize``, in bands on every core when the work is worth it."""
    parts = parts_for(im, size, resample, box, prepare=prepare is not None)
    if parts > 1:
        return resize_in_bands(im, size, resample, box, prepare, parts=parts)
    return (prepare(im.copy()) if prepare is not None else im).resize(size, resample, box=box)


def _prepare(mode: str, convert: Callable[[Image.Image], Image.Image] | None
             ) -> Callable[[Image.Image], Image.Image] | None:
    """What runs on each band of source pixels before resampling: ``convert``, then
    premultiplying alpha (as Pillow's resize of RGBA does)."""
    if mode != "RGBA":
        return convert

    def prepare(band: Image.Image) -> Image.Image:
        if convert is not None:
            band = convert(band)
        return band.convert("RGBa")
    return prepare


#: Source rows per strip in _reduce_in_strips (a 4000 px wide RGBA strip is 1 MB).
_STRIP_ROWS = 64


def _reduce_in_strips(im: Image.Image, size: tuple[int, int], resample: Image.Resampling,
                      box: tuple[float, float, float, float], factor: tuple[int, int],
                      convert: Callable[[Image.Image], Image.Image] | None
                      ) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """What ``im.resize(size, resample, box=box, reducing_gap=...)`` reduces first, made
    a strip at a time: ``convert``, premultiply (RGBA) and the integer box reduce run on
    a few rows each, so no full-size premultiplied copy is made (for a 4000² RGBA PNG
    64 MB less at peak), and the strips are shared out over the cores. The blocks are
    Pillow's own (same safe box, same origin): the pixels are the same as reducing the
    whole image. Returns the reduced image (RGBa for RGBA) and ``box`` in its pixels."""
    fx, fy = factor
    x0, y0, x1, y1 = box
    # Pillow's Image._get_safe_box: the box plus the filter's reach, in whole pixels.
    support = SUPPORT.get(resample, 0.5) - 0.5
    sx, sy = support * (x1 - x0) / size[0], support * (y1 - y0) / size[1]
    rx0, ry0 = max(0, int(x0 - sx)), max(0, int(y0 - sy))
    rx1, ry1 = min(im.width, math.ceil(x1 + sx)), min(im.height, math.ceil(y1 + sy))
    mode = "RGBa" if im.mode == "RGBA" else im.mode
    out = Image.new(mode, (math.ceil((rx1 - rx0) / fx), math.ceil((ry1 - ry0) / fy)))
    step = max(1, _STRIP_ROWS // fy) * fy
    tops = list(range(ry0, ry1, step))
    prepare = _prepare(im.mode, convert)

    def strips(part: Sequence[int]) -> list[Image.Image]:
        done = []
        for top in part:
            strip = im.crop((rx0, top, rx1, min(ry1, top + step)))
            if prepare is not None:
                strip = prepare(strip)
            done.append(strip.reduce((fx, fy)))
        return done

    parts = max(1, min(workers(), len(tops) // 4))
    shares = [tops[len(tops) * i // parts:len(tops) * (i + 1) // parts] for i in range(parts)]
    for share, reduced in zip(shares, run_all([_share(strips, sh) for sh in shares]),
                              strict=True):
        for top, strip in zip(share, reduced, strict=True):
            out.paste(strip, (0, (top - ry0) // fy))
    return out, ((x0 - rx0) / fx, (y0 - ry0) / fy, (x1 - rx0) / fx, (y1 - ry0) / fy)


def _share(func: Callable[[Sequence[int]], list[Image.Image]], share: Sequence[int]
           ) -> Callable[[], list[Image.Image]]:
    return lambda: func(share)


_TO_UPRIGHT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def stored_box(box: SourceBox, orientation: int, width: int, height: int) -> SourceBox:
    """Map a square in upright coordinates (``width`` × ``height``) back to the image as
    stored under EXIF ``orientation``."""
    w, h = width, height
    maps: dict[int, Callable[[float, float], tuple[float, float]]] = {
        1: lambda x, y: (x, y),
        2: lambda x, y: (w - x, y),
        3: lambda x, y: (w - x, h - y),
        4: lambda x, y: (x, h - y),
        5: lambda x, y: (y, x),
        6: lambda x, y: (y, w - x),
        7: lambda x, y: (h - y, w - x),
        8: lambda x, y: (h - y, x),
    }
    f = maps[orientation]
    ax, ay = f(box.x, box.y)
    bx, by = f(box.x + box.size, box.y + box.size)
    return SourceBox(min(ax, bx), min(ay, by), box.size)


def orient_view(im: Image.Image, crop: CropState) -> Image.Image:
    """Apply the crop's clockwise rotation, then its flips."""
    turn = _ROTATE.get(crop.rotation % 360)
    if turn is not None:
        im = im.transpose(turn)
    if crop.flip_h:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if crop.flip_v:
        im = im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return im


def finish_alpha(im: Image.Image, background: RGB | None) -> Image.Image:
    """Flatten onto ``background``, or drop an alpha channel that is fully opaque."""
    if im.mode != "RGBA":
        return im
    if background is not None:
        under = Image.new("RGBA", im.size, (*background, 255))
        return Image.alpha_composite(under, im).convert("RGB")
    lo, _ = im.getchannel("A").getextrema()
    return im.convert("RGB") if lo == 255 else im


def base_scale(crop: CropState, width: int, height: int, spec: RenderSpec) -> float:
    """The least scale of the source that a render of ``crop`` (over a ``width`` ×
    ``height`` oriented source) resamples from (see DRAFT_GAP): what
    ``ImageSource.render_base`` and ``start_render_base`` are asked for."""
    box = source_box(crop, width, height)
    return least_scale(box.size, spec.output_side)


def render_image(source: ImageSource, crop: CropState, *, spec: RenderSpec,
                 options: RenderOptions = RenderOptions()) -> Image.Image:
    """The exact output pixels before encoding."""
    info = source.info
    box = source_box(crop, info.width, info.height)
    side = output_side(box, spec)
    base = source.render_base(options.frame, base_scale(crop, info.width, info.height, spec))
    # Work in the stored orientation and turn only the small result upright; convert
    # colours before resampling, on the pixels the filter reads (see resample_square).
    turned = base.orientation in (5, 6, 7, 8)
    sw, sh = (info.height, info.width) if turned else (info.width, info.height)
    sbox = stored_box(box, base.orientation, info.width, info.height)
    im = base.image
    transform = base.transform

    def to_srgb_region(region: Image.Image) -> Image.Image:
        return apply_transform(region, transform, in_place=True)
    out = resample_square(
        im, im.width / sw, im.height / sh, sbox, sw, sh, side, fill=_fill_colour(options),
        reducing_gap=DRAFT_GAP, convert=to_srgb_region if transform is not None else None)
    upright = _TO_UPRIGHT.get(base.orientation)
    if upright is not None:
        out = out.transpose(upright)
    out = orient_view(out, crop)
    return finish_alpha(out, options.background)


def render(source: ImageSource, crop: CropState, *, spec: RenderSpec,
           options: RenderOptions = RenderOptions()) -> RenderResult:
    """What gets uploaded: encoded under ``spec``'s limits, plus its decoded pixels."""
    # Imported here: base_scale() is on the CLI's way to starting the decode.
    from avatar_studio.core.imaging.encode import EXTENSIONS, MIME_TYPES, encode_for

    out = render_image(source, crop, spec=spec, options=options)
    enc, encoded = encode_for(out, spec)
    return RenderResult(
        data=enc.data, format=enc.format, mime_type=MIME_TYPES[enc.format],
        extension=EXTENSIONS[enc.format], width=encoded.width, height=encoded.height)


def proxy_box(proxy: Proxy, crop: CropState, width: int, height: int
              ) -> tuple[float, float, float, float]:
    """The crop square on the proxy image (left, top, right, bottom; may extend past the
    proxy in fit mode), before rotation and flips: what a GUI scales to draw a frame."""
    box = source_box(crop, width, height)
    s = proxy.scale
    return (box.x * s, box.y * s, (box.x + box.size) * s, (box.y + box.size) * s)


def preview_from_proxy(proxy: Proxy, crop: CropState, side: int, *,
                       width: int, height: int,
                       options: RenderOptions = RenderOptions()) -> Image.Image:
    """A fast approximate preview for frames during interaction: an area average (Qt's
    smooth scaling does the same) from the proxy level nearest in size (see
    ``Proxy.pyramid``); ``width``/``height`` are the source's oriented size."""
    box = source_box(crop, width, height)
    levels = proxy.pyramid()
    # The level nearest in scale (between 0.7× and 1.4× the pixels needed): halves the
    # work of always sampling down from at least 1×, at the cost of a slight softness
    # that lasts only until the exact render replaces the preview.
    level = levels[0]
    for candidate in levels[1:]:
        if box.size * candidate.width / width < side / math.sqrt(2):
            break
        level = candidate
    out = resample_square(level, level.width / width, level.height / height, box, width,
                          height, side, fill=_fill_colour(options),
                          resample=Image.Resampling.BOX)
    out = orient_view(out, crop)
    # No opaque-alpha check here (it costs more than the frame); only flatten on request.
    return finish_alpha(out, options.background) if options.background else out
