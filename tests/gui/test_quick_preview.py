"""The preview drawn on every step of a drag (gui/cropgeometry.py, render_quick): with an
alpha channel only where something can be transparent, so an opaque photo's steps draw
no checkerboard, and the pixels the upload would have either way."""

from __future__ import annotations

import pytest
from avatar_studio.core.imaging.crop import CropState
from avatar_studio.gui.cropgeometry import render_quick
from PySide6.QtGui import QColor, QImage

INSIDE = CropState(100, 0, 400)   # the square inside a 600×400 picture
AROUND = CropState(-100, 0, 600)  # fit mode: the picture inside a larger square


@pytest.mark.parametrize(("state", "has_alpha", "letterbox", "under", "alpha"), [
    (INSIDE, False, None, None, False),                   # an opaque photo
    (INSIDE, True, None, None, True),                     # transparency kept
    (INSIDE, True, None, QColor("white"), False),         # flattened on white
    (INSIDE, True, None, QColor(255, 255, 255, 128), True),
    (AROUND, False, None, None, True),                    # fit: transparent around it
    (AROUND, False, QColor("#123456"), None, False),      # fit on a colour
    (AROUND, False, QColor(0, 0, 0, 0), None, True),      # fit on transparency
])
def test_alpha_only_where_something_can_be_transparent(
        qapp, state: CropState, has_alpha: bool, letterbox: QColor | None,
        under: QColor | None, alpha: bool) -> None:
    proxy = QImage(600, 400, QImage.Format.Format_ARGB32_Premultiplied)
    proxy.fill(QColor(200, 30, 30))
    out = render_quick(proxy, 1.0, 600, 400, state, 100, letterbox, under,
                       has_alpha=has_alpha)
    assert out.hasAlphaChannel() is alpha
    assert out.pixelColor(50, 50) == QColor(200, 30, 30)  # the picture, opaque
    corner = out.pixelColor(2, 2)  # fit mode: around the 600×400 picture
    if state is AROUND:
        if letterbox is not None and letterbox.alpha() == 255:
            assert corner == letterbox
        else:
            assert corner.alpha() == 0
    else:
        assert corner == QColor(200, 30, 30)
