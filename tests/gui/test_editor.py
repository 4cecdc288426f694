"""The crop editor built alone: pan, zoom, keys, rotate and flip change the exact preview."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest
from avatar_studio.gui.cropeditor import CropEditor
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.editortools import EditorActions, EditorToolbar
from avatar_studio.gui.loader import ImageLoader
from avatar_studio.gui.previews import PreviewController, PreviewPanel
from avatar_studio.gui.tasks import TaskRunner
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QVBoxLayout, QWidget

from tests.gui.helpers import BL, BR, TL, TR, near, pixel, quadrants, save_artifact

RED, BLUE = (220, 30, 30), (40, 70, 220)


@dataclass
class Rig:
    doc: CropDocument
    editor: CropEditor
    actions: EditorActions
    toolbar: EditorToolbar
    panel: PreviewPanel
    previews: PreviewController
    loader: ImageLoader
    host: QWidget


@pytest.fixture
def rig(qtbot):
    runner = TaskRunner()
    host = QWidget()
    doc = CropDocument(host)
    editor = CropEditor(doc, host)
    actions = EditorActions(doc, editor, host)
    toolbar = EditorToolbar(doc, actions, host)
    panel = PreviewPanel(host)
    previews = PreviewController(doc, panel, runner, host, debounce_ms=20)
    loader = ImageLoader(runner, host)
    loader.loaded.connect(doc.set_image)
    left = QVBoxLayout()
    left.addWidget(editor, 1)
    left.addWidget(toolbar)
    row = QHBoxLayout(host)
    row.addLayout(left, 1)
    row.addWidget(panel)
    host.resize(1100, 640)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    yield Rig(doc, editor, actions, toolbar, panel, previews, loader, host)
    runner.shutdown()


def load(qtbot, rig: Rig, path: Path) -> None:
    with qtbot.waitSignal(rig.loader.loaded, timeout=10_000):
        rig.loader.open_path(path)


def exact(qtbot, rig: Rig) -> QImage:
    """Wait for the preview decoded from the upload bytes of the crop as it is now."""
    qtbot.waitUntil(lambda: rig.previews.current() is not None, timeout=10_000)
    assert rig.panel.is_exact
    return rig.panel.shown


def halves(path: Path) -> Path:
    im = Image.new("RGB", (800, 400), RED)
    im.paste(BLUE, (400, 0, 800, 400))
    im.save(path)
    return path


def test_drag_pans_the_picture(qtbot, rig: Rig, tmp_path: Path) -> None:
    load(qtbot, rig, halves(tmp_path / "halves.png"))
    before = exact(qtbot, rig)
    assert near(pixel(before, 0.4, 0.5), RED)
    assert near(pixel(before, 0.6, 0.5), BLUE)
    frame = rig.editor.frame_rect()
    start = frame.center().toPoint()
    end = start + QPoint(int(frame.width() / 4), 0)
    qtbot.mousePress(rig.editor, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(rig.editor, pos=start + QPoint(20, 0))
    # While dragging, the preview is the quick one from the proxy.
    assert not rig.panel.is_exact
    qtbot.mouseMove(rig.editor, pos=end)
    qtbot.mouseRelease(rig.editor, Qt.MouseButton.LeftButton, pos=end)
    state = rig.doc.state
    assert state is not None
    # Dragging the picture right by a quarter of the frame shows 100 px more on the left.
    assert state.x == pytest.approx(100, abs=2)
    after = exact(qtbot, rig)
    assert near(pixel(after, 0.6, 0.5), RED)  # was blue
    assert near(pixel(after, 0.8, 0.5), BLUE)
    save_artifact(rig.host, "10-editor-panned")


def _wheel(widget: QWidget, pos: QPointF, angle: int) -> None:
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, angle),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_wheel_zooms_about_the_pointer(qtbot, rig: Rig, tmp_path: Path) -> None:
    load(qtbot, rig, quadrants(tmp_path / "q.png"))
    frame = rig.editor.frame_rect()
    over_red = QPointF(frame.left() + frame.width() / 4, frame.top() + frame.height() / 4)
    # ×2 about the middle of the red quadrant (view 200, 200): that point stays under
    # the pointer, a quarter into the frame, so the crop becomes 100..500.
    _wheel(rig.editor, over_red, round(120 * math.log(2) / math.log(1.1)))
    state = rig.doc.state
    assert state is not None
    assert state.size == pytest.approx(400, rel=0.01)
    assert state.x == pytest.approx(100, abs=2)
    assert state.y == pytest.approx(100, abs=2)
    image = exact(qtbot, rig)
    assert near(pixel(image, 0.7, 0.7), TL)  # red now reaches 3/4 of the way
    assert near(pixel(image, 0.9, 0.1), TR)
    assert near(pixel(image, 0.1, 0.9), BL)
    assert near(pixel(image, 0.9, 0.9), BR)
    assert rig.toolbar.zoom.value() == pytest.approx(200, abs=2)
    save_artifact(rig.host, "11-editor-zoomed")


def test_slider_and_keys(qtbot, rig: Rig, tmp_path: Path) -> None:
    load(qtbot, rig, quadrants(tmp_path / "q.png"))
    initial = rig.doc.state
    rig.toolbar.zoom.setValue(400)
    assert rig.doc.model is not None
    assert rig.doc.model.zoom_level == pytest.approx(4.0)
    image = exact(qtbot, rig)
    # ×4 about the centre: the four colours meet in the middle, each a quarter.
    assert near(pixel(image, 0.2, 0.2), TL)
    assert near(pixel(image, 0.8, 0.8), BR)
    rig.editor.setFocus()
    size = rig.doc.state.size if rig.doc.state else 0
    assert rig.doc.state is not None
    before = rig.doc.state.x
    qtbot.keyClick(rig.editor, Qt.Key.Key_Right)
    # Right moves the picture right, as dragging to the right does: the frame's window
    # onto it moves left.
    moved = rig.doc.state.x
    assert moved < before
    qtbot.keyClick(rig.editor, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    fine = moved - rig.doc.state.x
    assert 0 < fine < before - moved
    qtbot.keyClick(rig.editor, Qt.Key.Key_Plus)
    assert rig.doc.state.size < size
    qtbot.keyClick(rig.editor, Qt.Key.Key_Minus)
    qtbot.keyClick(rig.editor, Qt.Key.Key_Minus)
    assert rig.doc.state.size > size * 0.99
    # Esc is not the editor's: it never throws the crop away. Reset is Ctrl+0.
    changed = rig.doc.state
    qtbot.keyClick(rig.editor, Qt.Key.Key_Escape)
    assert rig.doc.state == changed
    rig.actions.reset.trigger()
    assert rig.doc.state == initial


def test_arrow_keys_move_the_picture_the_way_dragging_does(qtbot, rig: Rig,
                                                           tmp_path: Path) -> None:
    load(qtbot, rig, quadrants(tmp_path / "q.png"))
    rig.toolbar.zoom.setValue(300)
    start = rig.doc.state
    assert start is not None
    rig.editor.pan_pixels(30, 0)  # a drag to the right
    dragged = rig.doc.state
    assert dragged is not None
    assert rig.doc.model is not None
    rig.doc.model.set_state(start)
    rig.editor.setFocus()
    qtbot.keyClick(rig.editor, Qt.Key.Key_Right)
    keyed = rig.doc.state
    assert keyed is not None
    assert (keyed.x - start.x) * (dragged.x - start.x) > 0


@pytest.mark.parametrize(("action", "corners"), [
    ("rotate_right", (BL, TL, BR, TR)),
    ("rotate_left", (TR, BR, TL, BL)),
    ("flip_h", (TR, TL, BR, BL)),
    ("flip_v", (BL, BR, TL, TR)),
])
def test_rotate_and_flip(qtbot, rig: Rig, tmp_path: Path, action: str,
                         corners: tuple[tuple[int, int, int], ...]) -> None:
    load(qtbot, rig, quadrants(tmp_path / "q.png"))
    image = exact(qtbot, rig)
    assert near(pixel(image, 0.1, 0.1), TL)
    getattr(rig.actions, action).trigger()
    image = exact(qtbot, rig)
    spots = ((0.1, 0.1), (0.9, 0.1), (0.1, 0.9), (0.9, 0.9))
    assert [near(pixel(image, *spot), c) for spot, c in zip(spots, corners, strict=True)] \
        == [True] * 4
    # The editor canvas shows the same turn as the preview.
    shot = rig.editor.grab().toImage()
    frame = rig.editor.frame_rect()
    assert near(shot.pixelColor(int(frame.left() + frame.width() * 0.3),
                                int(frame.top() + frame.height() * 0.3)), corners[0])
    if action == "rotate_right":
        save_artifact(rig.host, "12-editor-rotated")


def test_fit_mode_fills_around_wide_art(qtbot, rig: Rig, tmp_path: Path) -> None:
    from PySide6.QtGui import QColor
    load(qtbot, rig, halves(tmp_path / "wide.png"))
    rig.actions.set_fill(QColor("#00ff00"))
    rig.actions.fit.trigger()
    rig.toolbar.zoom.setValue(rig.toolbar.zoom.minimum())
    image = exact(qtbot, rig)
    # The whole 2:1 picture fits; a green band above and below it.
    assert near(pixel(image, 0.5, 0.1), (0, 255, 0))
    assert near(pixel(image, 0.25, 0.5), RED)
    assert near(pixel(image, 0.75, 0.5), BLUE)
    save_artifact(rig.host, "13-editor-fit")


def test_circle_toggle_changes_the_guide(qtbot, rig: Rig, tmp_path: Path) -> None:
    load(qtbot, rig, quadrants(tmp_path / "q.png"))
    frame = rig.editor.frame_rect()
    corner = QPoint(int(frame.left() + 4), int(frame.top() + 4))
    dimmed = rig.editor.grab().toImage().pixelColor(corner)
    rig.actions.circle.trigger()  # to square
    assert rig.doc.circle is False
    clear = rig.editor.grab().toImage().pixelColor(corner)
    assert clear.red() > dimmed.red() + 60
