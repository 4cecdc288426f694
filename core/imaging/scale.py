"""How far a render may reduce its source before it resamples.

Plain arithmetic, importing nothing: the render (core/imaging/render.py) and the early
decode of ``avatar-studio-cli render`` (core/imaging/early.py), which must choose its JPEG
DCT scale before anything else has loaded, both use it.
"""

from __future__ import annotations

import math

#: JPEG sources are DCT-decoded at a smaller scale, and other sources box-reduced by an
#: integer factor before the Lanczos pass, only while the crop keeps at least this many
#: pixels per output pixel (Pillow's reducing_gap). tests/bench/cli.py measures the
#: encoded file's PSNR against the exact full-resolution float Lanczos reference: within
#: 0.1 dB of the exact path (full decode, one Lanczos, same encoding).
DRAFT_GAP = 2.0

#: The scale-downs libjpeg decodes at directly, largest first.
DCT_SCALES = (8, 4, 2)


def output_side(crop_side: float, service_side: int) -> int:
    """min(service side, crop side): never upscale."""
    return max(1, min(service_side, math.floor(crop_side + 1e-6)))


def least_scale(crop_side: float, service_side: int) -> float:
    """The least scale of the source (decoded pixels per source pixel) that a render of
    a ``crop_side`` square at ``service_side`` resamples from (see DRAFT_GAP)."""
    return min(1.0, output_side(crop_side, service_side) / crop_side * DRAFT_GAP)


def dct_scale(least: float) -> int:
    """The largest JPEG DCT scale-down (1, 2, 4, 8) that keeps at least ``least``."""
    for s in DCT_SCALES:
        if 1.0 / s >= least:
            return s
    return 1
