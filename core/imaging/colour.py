"""Normalise any decoded Pillow image to 8-bit sRGB ``RGB`` or ``RGBA``.

Embedded ICC profiles are honoured (converted with ImageCms, then dropped); high bit
depths are scaled into 0-255 rather than clipped.
"""

from __future__ import annotations

import functools
import io
import logging
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from PIL import ImageCms

# ImageCms (LittleCMS) is imported where a profile is met: most images carry none, and a
# render builds its transform while the decoder runs (see ImageSource.start_render_base).

log = logging.getLogger(__name__)

# What mode of pixels an ICC colour space describes (the ICC header's 4-byte code).
_SPACE_MODES = {"RGB": "RGB", "CMYK": "CMYK", "GRAY": "L", "LAB": "LAB"}


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def colour_transform(icc: bytes) -> ImageCms.ImageCmsTransform | None:
    """The (cached) transform from RGB data tagged ``icc`` to sRGB; None for sRGB itself
    and for profiles that do not apply. Building one takes a few milliseconds: a caller
    may build it ahead, on another thread, and decoding then finds it."""
    return _transform(icc, "RGB")


@functools.lru_cache(maxsize=16)
def _transform(icc: bytes, in_mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached transform from ``icc`` to sRGB, or None when it does not apply."""
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = profile.profile.xcolor_space.strip().upper()
        if _SPACE_MODES.get(space) != in_mode:
            log.info("Ignoring an ICC profile for %s data on a %s image", space, in_mode)
            return None
        if in_mode == "RGB" and "srgb" in (profile.profile.profile_description or "").lower():
            return None  # already sRGB: the transform would be an identity
        return ImageCms.buildTransform(profile, _srgb(), in_mode, "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        log.warning("Ignoring a damaged colour profile (%s); assuming sRGB", exc)
        return None


def _scale_high_depth(im: Image.Image) -> Image.Image:
    """I;16*, I and F images to L, scaling the value range instead of clipping it.

    16-bit modes always scale by 1/257 (65535 -> 255). For 32-bit I and F the range is
    inferred: 0-1 floats, 0-255, 0-65535, else the actual minimum to maximum.
    (Conversion to L truncates, so every scale adds a half to round.)
    """
    sixteen_bit = im.mode.startswith("I;16")
    if sixteen_bit:
        im = im.convert("I")
    extrema = im.getextrema()
    assert not isinstance(extrema[0], tuple)  # single-band modes only
    lo, hi = float(extrema[0]), float(extrema[1])
    if sixteen_bit or (lo >= 0 and 255 < hi <= 65535):
        return im.point(lambda v: v / 257.0 + 0.5).convert("L")
    if im.mode == "F" and lo >= 0 and hi <= 1.0:
        return im.point(lambda v: v * 255.0 + 0.5).convert("L")
    if lo >= 0 and hi <= 255:
        return im.convert("L") if im.mode == "I" else im.point(lambda v: v + 0.5).convert("L")
    span = (hi - lo) or 1.0
    return im.point(lambda v: (v - lo) * (255.0 / span) + 0.5).convert("L")


def to_device_rgb(im: Image.Image, icc: bytes | None
                  ) -> tuple[Image.Image, ImageCms.ImageCmsTransform | None]:
    """8-bit RGB or RGBA, plus the transform to sRGB still to apply (None when the pixels
    are sRGB already).

    RGB data keeps its profile's colours so the (slow) transform can run after
    resampling, on far fewer pixels; CMYK, grey and Lab data are converted here.
    ``im`` may be modified in place (the caller hands over a freshly decoded image).
    """
    transparency = "transparency" in im.info
    mode = im.mode
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if (transparency or mode == "PA") else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode.startswith("I") or mode == "F":
        im = _scale_high_depth(im)
    elif mode in ("RGBa", "La"):
        im = im.convert("RGBA" if mode == "RGBa" else "LA")
    elif mode in ("RGBX", "YCbCr", "HSV"):
        im = im.convert("RGB")
    if transparency and im.mode in ("L", "RGB"):
        im = im.convert("LA" if im.mode == "L" else "RGBA")

    if im.mode in ("RGB", "RGBA"):
        im.info = {}
        return im, (_transform(icc, "RGB") if icc else None)

    alpha: Image.Image | None = None
    if im.mode == "LA":
        alpha = im.getchannel("A")
        im = im.convert("L")
    transform = _transform(icc, im.mode) if icc else None
    if transform is None and im.mode == "LAB":
        transform = _lab_transform()
    if transform is not None:
        from PIL import ImageCms

        converted = ImageCms.applyTransform(im, transform)
        assert converted is not None
        im = converted
    if im.mode != "RGB":
        im = im.convert("RGB")
    if alpha is not None:
        im.putalpha(alpha)
    im.info = {}
    return im, None


@functools.lru_cache(maxsize=1)
def _lab_transform() -> ImageCms.ImageCmsTransform:
    from PIL import ImageCms

    return ImageCms.buildTransform(ImageCms.createProfile("LAB"), _srgb(), "LAB", "RGB")


def apply_transform(im: Image.Image, transform: ImageCms.ImageCmsTransform | None, *,
                    in_place: bool = False) -> Image.Image:
    """Apply an RGB -> sRGB transform to an RGB or RGBA image (alpha untouched)."""
    if transform is None:
        return im
    from PIL import ImageCms

    if im.mode == "RGB" and in_place:
        ImageCms.applyTransform(im, transform, inPlace=True)
        out: Image.Image | None = im
    elif im.mode == "RGB":
        out = ImageCms.applyTransform(im, transform)
    else:
        alpha = im.getchannel("A")
        out = ImageCms.applyTransform(im.convert("RGB"), transform)
        assert out is not None
        out.putalpha(alpha)
    assert out is not None
    out.info = {}  # ImageCms tags its output with the sRGB profile: no metadata here
    return out


def to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Return ``im`` as 8-bit sRGB RGB or RGBA, with no metadata left in ``info``.

    ``im`` may be modified in place (the caller hands over a freshly decoded image).
    """
    im, transform = to_device_rgb(im, icc)
    return apply_transform(im, transform, in_place=True)
