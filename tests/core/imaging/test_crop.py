"""The crop model: examples and property-based invariants."""

from __future__ import annotations

import math
from typing import Any

import pytest
from avatar_studio.core.imaging.crop import CropModel, CropState, SourceBox, source_box
from hypothesis import given, settings
from hypothesis import strategies as st

EPS = 1e-6


def test_initial_is_largest_centred_square():
    m = CropModel(600, 400)
    assert m.state == CropState(100.0, 0.0, 400.0, 0, False, False)
    assert CropModel(300, 500).state == CropState(0.0, 100.0, 300.0)
    assert m.zoom_level == 1.0


def test_pan_is_clamped_inside_the_image():
    m = CropModel(600, 400)
    m.pan(1000, -50)
    assert (m.state.x, m.state.y) == (200.0, 0.0)
    m.pan(-150.5, 0)
    assert m.state.x == 49.5


def test_zoom_about_a_point_keeps_it_fixed():
    m = CropModel(1000, 1000)
    m.zoom(2.0, about=(250.0, 250.0))
    assert m.state.size == 500.0
    # (250, 250) sat at 1/4 of the square before and still does.
    assert (m.state.x, m.state.y) == (125.0, 125.0)
    m.zoom(0.1)  # zooming out stops at the whole image
    assert m.state == CropState(0.0, 0.0, 1000.0)


def test_rotate_keeps_the_same_part_of_the_image():
    m = CropModel(600, 400)
    m.set_source_box(0, 0, 100)  # top-left 100 px square
    before = m.source_box()
    m.rotate(1)
    assert m.view_size == (400, 600)
    assert m.state.rotation == 90
    # The top-left of the image is now at the top-right of the view.
    assert (m.state.x, m.state.y) == (300.0, 0.0)
    assert m.source_box() == before
    m.rotate(-1)
    assert m.state.rotation == 0
    assert m.source_box() == before


def test_flips_mirror_the_square_and_keep_the_source_box():
    m = CropModel(600, 400)
    m.set_source_box(0, 0, 100)
    before = m.source_box()
    m.flip_horizontal()
    assert m.state.flip_h
    assert m.state.x == 500.0
    m.flip_vertical()
    assert m.state.flip_v
    assert m.state.y == 300.0
    assert m.source_box() == before


def test_rotating_a_flipped_view_swaps_the_flip_axis():
    m = CropModel(600, 400)
    m.flip_horizontal()
    m.rotate(1)
    assert (m.state.rotation, m.state.flip_h, m.state.flip_v) == (90, False, True)


def test_nudge_moves_by_whole_pixels():
    m = CropModel(600, 400)
    m.zoom(2.0)
    m.pan(0.4, 0.3)
    m.nudge(1, -1)
    assert (m.state.x, m.state.y) == (201, 99)  # from (200.4, 100.3)


def test_reset():
    m = CropModel(600, 400)
    m.rotate(1)
    m.flip_horizontal()
    m.zoom(3.0)
    m.reset()
    assert m.state == CropModel(600, 400).state


def test_fit_mode_letterboxes_and_centres_the_image():
    m = CropModel(600, 400, fit=True)
    m.zoom(0.5)
    assert m.state.size == 600.0
    # The square is larger than the image vertically: the image stays inside it.
    assert m.state.x == 0.0
    assert -200.0 <= m.state.y <= 0.0
    m.pan(0, 1000)
    assert m.state.y == 0.0
    m.pan(0, -1000)
    assert m.state.y == -200.0
    m.set_fit(False)
    assert m.state.size == 400.0
    assert m.state.y == 0.0


def test_from_source_box_with_rotation_and_flip():
    m = CropModel.from_source_box(600, 400, 10, 20, 100)
    assert m.source_box() == SourceBox(10, 20, 100)
    m.rotate(1)
    m.flip_horizontal()
    assert m.source_box() == SourceBox(10, 20, 100)
    m.set_source_box(50, 60, 200)
    assert m.source_box() == SourceBox(50, 60, 200)


def test_set_state_validates_rotation():
    with pytest.raises(ValueError, match="rotation"):
        CropModel(10, 10).set_state(CropState(0, 0, 5, rotation=45))


# -- properties ------------------------------------------------------------------------
sizes = st.integers(min_value=1, max_value=5000)
moves = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)
op = st.one_of(
    st.tuples(st.just("pan"), moves, moves),
    st.tuples(st.just("nudge"), st.integers(-50, 50), st.integers(-50, 50)),
    st.tuples(st.just("zoom"), st.floats(0.05, 20.0), st.one_of(
        st.none(), st.tuples(moves, moves))),
    st.tuples(st.just("rotate"), st.integers(-5, 5)),
    st.tuples(st.just("flip_h")), st.tuples(st.just("flip_v")),
    st.tuples(st.just("fit"), st.booleans()),
    st.tuples(st.just("reset")),
)


def _apply(m: CropModel, o: tuple[Any, ...]) -> None:
    name = o[0]
    if name == "pan":
        m.pan(o[1], o[2])
    elif name == "nudge":
        m.nudge(o[1], o[2])
    elif name == "zoom":
        m.zoom(o[1], o[2])
    elif name == "rotate":
        m.rotate(o[1])
    elif name == "flip_h":
        m.flip_horizontal()
    elif name == "flip_v":
        m.flip_vertical()
    elif name == "fit":
        m.set_fit(o[1])
    else:
        m.reset()


def _check_invariants(m: CropModel) -> None:
    s = m.state
    vw, vh = m.view_size
    assert s.rotation in (0, 90, 180, 270)
    assert m.min_size - EPS <= s.size <= m.max_size + EPS
    for pos, extent in ((s.x, vw), (s.y, vh)):
        if s.size <= extent + EPS:
            assert pos >= -EPS
            assert pos + s.size <= extent + EPS
        else:
            assert m.fit
            assert pos <= EPS
            assert pos + s.size >= extent - EPS
    box = m.source_box()
    assert math.isclose(box.size, s.size)
    if not m.fit:
        assert box.x >= -EPS
        assert box.x + box.size <= m.width + 1e-6 * m.width + EPS
        assert box.y >= -EPS
        assert box.y + box.size <= m.height + 1e-6 * m.height + EPS


@settings(max_examples=300, deadline=None)
@given(sizes, sizes, st.booleans(), st.lists(op, max_size=25))
def test_invariants_hold_after_any_edit(w, h, fit, ops):
    m = CropModel(w, h, fit=fit)
    _check_invariants(m)
    for o in ops:
        _apply(m, o)
        _check_invariants(m)


@settings(max_examples=200, deadline=None)
@given(sizes, sizes, st.booleans(), st.lists(op, max_size=10), st.integers(-7, 7))
def test_rotation_and_flips_never_move_the_source_box(w, h, fit, ops, turns):
    m = CropModel(w, h, fit=fit)
    for o in ops:
        _apply(m, o)
    before = m.source_box()
    m.rotate(turns)
    m.flip_horizontal()
    m.flip_vertical()
    after = m.source_box()
    for a, b in ((before.x, after.x), (before.y, after.y), (before.size, after.size)):
        assert math.isclose(a, b, abs_tol=1e-6 * max(w, h))


@settings(max_examples=200, deadline=None)
@given(sizes, sizes, st.lists(op, max_size=10))
def test_four_turns_and_double_flips_are_identity(w, h, ops):
    m = CropModel(w, h)
    for o in ops:
        _apply(m, o)
    start = m.state
    m.rotate(4)
    m.flip_horizontal()
    m.flip_horizontal()
    m.flip_vertical()
    m.flip_vertical()
    for a, b in ((start.x, m.state.x), (start.y, m.state.y), (start.size, m.state.size)):
        assert math.isclose(a, b, abs_tol=1e-6 * max(w, h))
    assert (m.state.rotation, m.state.flip_h, m.state.flip_v) == (
        start.rotation, start.flip_h, start.flip_v)


@settings(max_examples=200, deadline=None)
@given(st.integers(50, 5000), st.integers(50, 5000), st.floats(1.0, 4.0),
       st.floats(0, 1), st.floats(0, 1))
def test_zoom_in_keeps_the_anchor_point_when_unclamped(w, h, factor, fx, fy):
    m = CropModel(w, h)
    s = m.state
    about = (s.x + fx * s.size, s.y + fy * s.size)
    m.zoom(factor, about)
    t = m.state
    # Zooming in from the largest square never needs clamping.
    assert math.isclose((about[0] - t.x) / t.size, fx, abs_tol=1e-6)
    assert math.isclose((about[1] - t.y) / t.size, fy, abs_tol=1e-6)


@settings(max_examples=200, deadline=None)
@given(sizes, sizes, st.integers(0, 3), st.booleans(), st.booleans(), st.data())
def test_source_box_is_inverse_of_carrying_a_box_into_the_view(w, h, turns, fh, fv, data):
    side = data.draw(st.integers(1, min(w, h)))
    x = data.draw(st.integers(0, w - side))
    y = data.draw(st.integers(0, h - side))
    m = CropModel(w, h)
    m.rotate(turns)
    if fh:
        m.flip_horizontal()
    if fv:
        m.flip_vertical()
    m.set_source_box(x, y, side)
    assert source_box(m.state, w, h) == SourceBox(x, y, side)
