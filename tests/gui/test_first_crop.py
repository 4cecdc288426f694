"""The window opens a photo centred at once, then moves the frame to the face found on a
worker thread, unless the user got there first; Image › Centre crop goes back."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from avatar_studio.core.imaging.crop import CropModel
from avatar_studio.core.imaging.faces import DetectorUnavailable, check_cpu, cpu_flags
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.loader import Framed, ImageLoader
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.tasks import TaskRunner
from PIL import ImageDraw
from PySide6.QtWidgets import QMenu, QWidget

from tests.core.imaging import facesamples

FACES = check_cpu(cpu_flags()) is None


def portrait(tmp_path: Path) -> tuple[Path, facesamples.Variant]:
    v = next(v for v in facesamples.pasted_variants("astronaut.jpg")
             if v.name.endswith("@1280x819,k=1.0,at=0.85,0.2"))
    path = tmp_path / "portrait.jpg"
    v.image.save(path, quality=90)
    return path, v


def centred(w: int, h: int):
    return CropModel(w, h).state


@pytest.mark.skipif(not FACES, reason="no face detector on this CPU")
def test_window_opens_centred_then_frames_the_face(qtbot, window: MainWindow, tmp_path):
    path, v = portrait(tmp_path)
    w, h = v.image.size
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(path)
    assert window.document.state == centred(w, h)  # the first frame, as before
    with qtbot.waitSignal(window.loader.framed, timeout=10_000) as got:
        pass
    framed: Framed = got.args[0]
    assert framed.framing.source == "face"
    box = window.document.model.source_box() if window.document.model else None
    assert box is not None
    assert (box.x, box.y, box.size) == (framed.framing.x, framed.framing.y,
                                        framed.framing.size)
    fx, fy, fw, fh = v.face
    assert box.x < fx < fx + fw < box.x + box.size
    assert box.y <= fy < fy + fh < box.y + box.size
    assert "Framed on the face" in window.activity.text()
    # Image › Centre crop: the classic frame, as an ordinary edit.
    action = window.editor_actions.centre_crop
    image_menu = next(m for m in window.menuBar().findChildren(QMenu)
                      if m.title() == "&Image")
    assert action in image_menu.actions()
    action.trigger()
    assert window.document.state == centred(w, h)
    # The face framing is how the picture opened; undo goes back to it, not past it.
    window.editor_actions.undo.trigger()
    assert window.document.model is not None
    assert window.document.model.source_box() == box
    assert not window.editor_actions.undo.isEnabled()


class GatedFinder:
    """A finder that waits for the test before answering (no faces)."""

    name = "gated"

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.go = threading.Event()
        self.threads: list[threading.Thread] = []

    def find(self, image):
        assert max(image.size) <= 640
        self.threads.append(threading.current_thread())
        self.asked.set()
        self.go.wait(10)
        return []


@pytest.fixture
def rig(qtbot):
    runner = TaskRunner()
    host = QWidget()
    qtbot.addWidget(host)
    doc = CropDocument(host)
    gate = GatedFinder()
    loader = ImageLoader(runner, host, face_finder=lambda: gate)
    loader.loaded.connect(doc.set_image)
    loader.framed.connect(lambda f: doc.apply_first_crop(f.loaded, f.framing.box))
    yield doc, loader, gate
    gate.go.set()
    runner.shutdown()


def landscape_file(tmp_path: Path) -> Path:
    """A 1200 × 800 landscape with a large striped balloon near its right edge."""
    path = tmp_path / "land.png"
    im = facesamples.landscape()
    draw = ImageDraw.Draw(im)
    draw.ellipse([880, 150, 1180, 500], fill=(230, 40, 40))
    for i in range(900, 1180, 24):
        draw.line([(i, 160), (i, 490)], fill=(250, 220, 40), width=8)
    im.save(path)
    return path


def test_the_first_frame_never_waits_for_detection(qtbot, rig, tmp_path):
    doc, loader, gate = rig
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        loader.open_path(landscape_file(tmp_path))
    # Shown while the detector is still busy.
    assert doc.state == centred(1200, 800)
    assert not gate.go.is_set()
    with qtbot.waitSignal(loader.framed, timeout=10_000) as got:
        gate.go.set()
    assert got.args[0].framing.source == "saliency"
    # Found on a worker thread, on the reduced copy.
    assert gate.threads
    assert threading.main_thread() not in gate.threads
    state = doc.state
    assert state is not None
    assert state.x > 200  # moved towards the kite


def test_a_crop_the_user_touched_is_never_moved(qtbot, rig, tmp_path):
    doc, loader, gate = rig
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        loader.open_path(landscape_file(tmp_path))
    qtbot.waitUntil(gate.asked.is_set, timeout=10_000)
    doc.edit(lambda m: m.zoom(2.0))
    touched = doc.state
    with qtbot.waitSignal(loader.framed, timeout=10_000):
        gate.go.set()
    assert doc.state == touched


def test_a_late_framing_for_a_replaced_image_is_dropped(qtbot, rig, tmp_path):
    doc, loader, gate = rig
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        loader.open_path(landscape_file(tmp_path))
    first = doc.loaded
    qtbot.waitUntil(gate.asked.is_set, timeout=10_000)
    other = tmp_path / "other.png"
    facesamples.landscape(5, (900, 600)).save(other)
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        loader.open_path(other)
    gate.go.set()
    assert first is not None
    before = doc.state
    assert doc.apply_first_crop(first, CropModel(1200, 800).source_box()) is False
    assert doc.state == before


def test_forced_fallback_is_reported(qtbot, tmp_path):
    runner = TaskRunner()
    host = QWidget()
    qtbot.addWidget(host)
    why = DetectorUnavailable("this CPU lacks AVX2 and FMA, which the face detector needs")
    loader = ImageLoader(runner, host, face_finder=lambda: why)
    path, _ = portrait(tmp_path)
    try:
        with qtbot.waitSignal(loader.framed, timeout=10_000) as got:
            loader.open_path(path)
        framing = got.args[0].framing
        assert framing.source in ("saliency", "centre")
        assert framing.reason.startswith(why.reason)
    finally:
        runner.shutdown()


def test_reset_goes_back_to_the_opening_frame_and_centre_crop_to_the_centre(
        qtbot, rig, tmp_path):
    """Reset Crop (Ctrl+0) returns to how the picture opened — here framed on the most
    detailed part — unturned; Centre Crop is the way to the centred square."""
    doc, loader, gate = rig
    with qtbot.waitSignal(loader.loaded, timeout=10_000):
        loader.open_path(landscape_file(tmp_path))
    with qtbot.waitSignal(loader.framed, timeout=10_000):
        gate.go.set()
    opening = doc.state
    assert opening is not None
    assert opening != centred(1200, 800)
    doc.edit(lambda m: m.rotate(1))
    doc.edit(lambda m: m.zoom(2.0))
    assert doc.state != opening
    doc.reset_crop()
    assert doc.state == opening
    doc.edit(lambda m: m.centre())
    assert doc.state == centred(1200, 800)
    doc.undo()
    assert doc.state == opening  # Reset and Centre Crop are ordinary, undoable steps
