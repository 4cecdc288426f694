"""The first-crop rule, exactly: primary face, square size, eye line, caps and shifts;
and the saliency and centre fallbacks (no detector involved)."""

from __future__ import annotations

import pytest
from avatar_studio.core.imaging.crop import CropModel
from avatar_studio.core.imaging.faces import DetectorUnavailable, Face, detection_copy
from avatar_studio.core.imaging.saliency import saliency_square
from avatar_studio.core.imaging.smartcrop import (
    centre_square,
    eye_point,
    face_square,
    frame,
    primary_face,
)
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw


def face_at(ex: float, ey: float, width: float, score: float = 0.9) -> Face:
    """A face whose eyes are centred on (ex, ey), 0.3 × width apart."""
    h = width * 1.25
    return Face(ex - width / 2, ey - 0.38 * h, width, h, score,
                ((ex - 0.15 * width, ey), (ex + 0.15 * width, ey)))


class FixedFinder:
    name = "fixed"

    def __init__(self, faces: list[Face]) -> None:
        self.faces = faces
        self.seen: list[tuple[int, int]] = []

    def find(self, image: Image.Image) -> list[Face]:
        self.seen.append(image.size)
        return list(self.faces)


# -- the square ----------------------------------------------------------------------------
def test_face_is_half_the_square_and_the_eyes_40_percent_down():
    assert face_square(face_at(1000, 700, 150), 3000, 2000) == (850, 580, 300)


def test_never_smaller_than_the_output_side_when_the_picture_has_it():
    # A 150 px face would make a 300 px square: 400 px keeps the upload from shrinking.
    assert face_square(face_at(1000, 700, 150), 3000, 2000, min_side=400) == (800, 540, 400)
    # In a 350 px picture the short side is all there is.
    assert face_square(face_at(200, 150, 40), 500, 350, min_side=400) == (25, 0, 350)


def test_capped_by_the_short_side():
    assert face_square(face_at(500, 300, 600), 1000, 800) == (100, 0, 800)


@pytest.mark.parametrize(("ex", "ey", "expected"), [
    (30, 20, (0, 0, 400)),          # top left: shifted right and down
    (1980, 1490, (1600, 1100, 400)),  # bottom right: shifted left and up
    (1000, 20, (800, 0, 400)),      # top edge only
    (10, 900, (0, 740, 400)),       # left edge only
])
def test_shifted_inside_the_picture(ex, ey, expected):
    assert face_square(face_at(ex, ey, 200), 2000, 1500) == expected


def test_without_landmarks_the_eyes_are_estimated_from_the_box():
    face = Face(100, 100, 80, 100, 0.9)
    assert eye_point(face) == (140.0, 138.0)
    assert face_square(face, 1000, 1000) == (60, 74, 160)


@given(st.integers(1, 4000), st.integers(1, 4000), st.floats(0, 1), st.floats(0, 1),
       st.floats(1, 3000), st.sampled_from([0, 400, 1000]))
def test_always_inside_never_below_the_output_side(w, h, fx, fy, fw, min_side):
    x, y, size = face_square(face_at(fx * w, fy * h, fw), w, h, min_side=min_side)
    short = min(w, h)
    assert 0 <= x <= w - size
    assert 0 <= y <= h - size
    assert min(min_side, short) <= size <= short


# -- which face ----------------------------------------------------------------------------
def test_primary_face_is_the_largest_times_score():
    small_sure = face_at(300, 300, 100, score=0.99)
    large_unsure = face_at(900, 300, 120, score=0.82)  # 1.44 × the area, × 0.83 the score
    larger = face_at(600, 700, 130, score=0.8)
    assert primary_face([small_sure, large_unsure], 1200, 1000) is large_unsure
    assert primary_face([small_sure, large_unsure, larger], 1200, 1000) is larger
    assert primary_face([], 1200, 1000) is None


def test_a_tie_goes_to_the_face_nearest_the_centre():
    left = face_at(200, 500, 100, score=0.90)
    middle = face_at(620, 480, 100, score=0.88)  # within 5 %: tied
    right = face_at(1000, 500, 100, score=0.90)
    assert primary_face([left, middle, right], 1200, 1000) is middle
    clear = face_at(1000, 500, 100, score=0.99)  # 0.88 is more than 5 % below 0.99
    assert primary_face([left, middle, clear], 1200, 1000) is clear


def test_frame_on_the_primary_face_scales_back_from_the_detection_copy():
    # The finder sees a 640 px copy of a 3200 × 1600 picture: its face is 5× too small.
    finder = FixedFinder([face_at(100, 60, 30), face_at(400, 150, 40)])
    framing = frame(Image.new("RGB", (1600, 800)), 3200, 1600, finder=finder)
    assert finder.seen == [(640, 320)]
    assert framing.source == "face"
    assert framing.reason == "2 faces found"
    assert (framing.x, framing.y, framing.size) == (1800, 590, 400)
    assert framing.faces[0].width == 200


# -- fallbacks ------------------------------------------------------------------------------
def detail_on_the_right(size=(1200, 600)) -> Image.Image:
    im = Image.new("RGB", size, (200, 200, 200))
    draw = ImageDraw.Draw(im)
    for i in range(0, 300, 12):
        draw.line([(850 + i // 3, 100), (850 + i // 3 + 40, 500)], fill=(200, 30, 30), width=3)
    return im


def test_saliency_moves_the_square_to_the_detail():
    im = detail_on_the_right()
    x, y, size = saliency_square(im, 1200, 600) or (None, None, None)
    assert (y, size) == (0.0, 600.0)
    # The stripes (x 850 to about 1030) are inside, the square no further right than it
    # must be (the pull to the centre).
    assert x is not None
    assert 400 <= x <= 430
    tall = im.transpose(Image.Transpose.ROTATE_90)  # detail at the top now
    assert saliency_square(tall, 600, 1200) == (0.0, 1200 - 600 - x, 600.0)


def test_saliency_leaves_square_and_flat_pictures_to_the_centre():
    assert saliency_square(Image.new("RGB", (500, 500), "red"), 500, 500) is None
    assert saliency_square(Image.new("RGB", (900, 500), (90, 90, 90)), 900, 500) is None


def test_no_face_falls_back_to_saliency_and_says_so():
    framing = frame(detail_on_the_right(), 1200, 600, finder=FixedFinder([]))
    assert framing.source == "saliency"
    assert framing.reason == "no face found"
    assert framing.faces == ()


def test_flat_or_square_pictures_fall_back_to_the_centre_and_say_why():
    flat = frame(Image.new("RGB", (900, 500), (90, 90, 90)), 900, 500,
                 finder=FixedFinder([]))
    assert (flat.source, flat.reason) == ("centre", "no face found; nothing stands out")
    assert (flat.x, flat.y, flat.size) == (200.0, 0.0, 500.0)
    square = frame(detail_on_the_right((600, 600)), 600, 600, finder=FixedFinder([]))
    assert (square.source, square.reason) == ("centre", "no face found; the picture is square")


def test_an_unavailable_detector_degrades_with_its_reason():
    why = DetectorUnavailable("this CPU lacks AVX2, which the face detector needs")
    framing = frame(detail_on_the_right(), 1200, 600, finder=why)
    assert framing.source == "saliency"
    assert framing.reason == why.reason


@pytest.mark.allow_log_warnings
def test_a_failing_detector_degrades_instead_of_raising():
    class Broken:
        name = "broken"

        def find(self, image):
            raise RuntimeError("boom")

    framing = frame(Image.new("RGB", (800, 600), (90, 90, 90)), 800, 600, finder=Broken())
    assert framing.source == "centre"
    assert framing.reason.startswith("the face detector failed (RuntimeError: boom)")


def test_the_detection_copy_is_reduced_rgb_with_transparency_on_white():
    rgba = Image.new("RGBA", (1280, 960), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 640, 960))
    small = detection_copy(rgba)
    assert (small.mode, small.size) == ("RGB", (640, 480))
    assert small.getpixel((100, 100)) == (0, 0, 255)
    assert small.getpixel((500, 100)) == (255, 255, 255)  # not the hidden red
    grey = detection_copy(Image.new("L", (300, 200), 90))
    assert (grey.mode, grey.size) == ("RGB", (300, 200))  # never enlarged


def test_centre_square_is_the_crop_models_reset():
    for w, h in [(900, 600), (601, 400), (400, 1000), (7, 7)]:
        s = CropModel(w, h).state
        assert centre_square(w, h) == (s.x, s.y, s.size)
