"""A region of the full-resolution source, resampled to screen pixels as the editor shows it.

The crop editor draws from a small proxy; when the user zooms in far enough that proxy
pixels are magnified, it asks for the visible region at the screen's resolution instead
(see ``avatar_studio.gui.viewrefine``). Qt-free, so it runs on a worker thread.
"""

from __future__ import annotations

import math

from avatar_studio.core.imaging.crop import CropState
from avatar_studio.core.imaging.render import orient_view
from PIL import Image

#: Pillow's reducing_gap for large downscales: an integer box reduce first, then Lanczos.
REDUCING_GAP = 3.0


def render_region(image: Image.Image, box: tuple[float, float, float, float],
                  size: tuple[int, int], crop: CropState) -> Image.Image:
    """``box`` (left, top, right, bottom in ``image`` pixels, before the crop's turn and
    flips) resampled with Lanczos to ``size`` (width, height as shown, i.e. after the
    turn), then turned and flipped exactly as the crop shows the picture."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0 or size[0] < 1 or size[1] < 1:
        raise ValueError("empty region")
    # Turned a quarter, the shown width runs along the source's height.
    stored = (size[1], size[0]) if crop.rotation % 180 else size
    # Cut out the box plus the filter's reach first: Pillow premultiplies (RGBA) and
    # reduces whole images, and only this part is needed.
    reach = 3.0 * max(1.0, (x1 - x0) / stored[0], (y1 - y0) / stored[1]) * REDUCING_GAP + 2
    cx0, cy0 = max(0, math.floor(x0 - reach)), max(0, math.floor(y0 - reach))
    cx1 = min(image.width, math.ceil(x1 + reach))
    cy1 = min(image.height, math.ceil(y1 + reach))
    part = image.crop((cx0, cy0, cx1, cy1))
    inner = (max(0.0, x0 - cx0), max(0.0, y0 - cy0),
             min(float(part.width), x1 - cx0), min(float(part.height), y1 - cy0))
    out = part.resize(stored, Image.Resampling.LANCZOS, box=inner, reducing_gap=REDUCING_GAP)
    if out.mode == "RGBa":
        out = out.convert("RGBA")
    return orient_view(out, crop)
