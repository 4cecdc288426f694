"""The 400×400 preview shows the uploaded pixels one for one, in the real window."""

from __future__ import annotations

import dataclasses
import io
import random
from pathlib import Path

from avatar_studio.core.imaging.errors import CannotMeetByteLimit
from avatar_studio.core.services.x.spec import X_SPEC
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.loader import ImageLoader
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.previews import ExactPreview, PreviewController, PreviewPanel
from avatar_studio.gui.qtimage import exact_pixmap, pil_to_qimage
from avatar_studio.gui.tasks import TaskRunner
from PIL import Image
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage

from tests.gui.helpers import open_window, save_artifact

SIDE = X_SPEC.output_side


def _busy_picture(path: Path, side: int) -> Path:
    """Noise over a gradient: any resampling of the preview would change many pixels."""
    rng = random.Random(6)
    im = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    Image.blend(im, noise, 0.35).save(path, "JPEG", quality=92)
    return path


def _exact(qtbot, window: MainWindow, path: Path) -> ExactPreview:
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(path)
    qtbot.waitUntil(lambda: window.previews.current() is not None
                    and window.preview_panel.is_exact, timeout=10_000)
    exact = window.previews.current()
    assert exact is not None
    return exact


def _rgb(image: QImage) -> bytes:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)  # kept alive while copied
    return bytes(rgb.constBits())


def _decoded(exact: ExactPreview) -> QImage:
    """The upload decoded from its bytes, independently of what the window kept."""
    return pil_to_qimage(Image.open(io.BytesIO(exact.result.data)).convert("RGB"))


def test_the_preview_shows_the_uploaded_pixels_one_for_one(qtbot, tmp_path: Path) -> None:
    window = open_window(qtbot)
    exact = _exact(qtbot, window, _busy_picture(tmp_path / "busy.jpg", 1000))
    label = window.preview_panel.big
    assert label.devicePixelRatioF() == 1.0  # offscreen and Xvfb: 1:1 is the whole story
    assert (label.width(), label.height()) == (SIDE, SIDE)
    shown = label.grab().toImage()
    assert (shown.width(), shown.height()) == (SIDE, SIDE)
    decoded = _decoded(exact)
    assert (decoded.width(), decoded.height()) == (SIDE, SIDE)
    assert _rgb(shown) == _rgb(decoded)
    assert _rgb(shown) == _rgb(pil_to_qimage(exact.result.image.convert("RGB")))
    save_artifact(window, "30-exact-preview")


def test_a_smaller_upload_is_shown_at_its_own_size_not_stretched(qtbot,
                                                                 tmp_path: Path) -> None:
    window = open_window(qtbot)
    exact = _exact(qtbot, window, _busy_picture(tmp_path / "small.jpg", 300))
    decoded = _decoded(exact)
    assert (decoded.width(), decoded.height()) == (300, 300)  # never enlarged
    shown = window.preview_panel.big.grab().toImage()
    middle = shown.copy(QRect((SIDE - 300) // 2, (SIDE - 300) // 2, 300, 300))
    assert _rgb(middle) == _rgb(decoded)
    assert "300×300" in window.preview_panel.badge.text()


def test_a_short_window_scrolls_the_side_column_instead_of_shrinking_the_preview(
        qtbot, tmp_path: Path) -> None:
    window = open_window(qtbot)
    _exact(qtbot, window, _busy_picture(tmp_path / "busy.jpg", 600))
    label, scroll = window.preview_panel.big, window.side_scroll
    screen = window.screen().availableGeometry()
    assert window.width() <= screen.width()
    assert window.height() <= screen.height()
    if screen.width() >= 1280 and screen.height() >= 1024:
        # Xvfb's 1280×1024: the default size shows editor and whole column, no scrolling.
        qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() == 0)
        assert scroll.horizontalScrollBar().maximum() == 0
        assert window.editor.width() >= 600
    else:
        # The offscreen screen (800×800) is too narrow: the column scrolls sideways.
        assert scroll.horizontalScrollBar().maximum() > 0
    window.resize(window.width(), 520)
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0)
    assert (label.width(), label.height()) == (SIDE, SIDE)
    assert label.grab().size().width() == SIDE
    save_artifact(window, "31-short-window")


def test_high_dpi_pixmap_is_the_same_pixels_in_crisp_blocks() -> None:
    image = QImage(4, 3, QImage.Format.Format_RGB32)
    for y in range(3):
        for x in range(4):
            image.setPixel(x, y, 0xFF000000 | (x * 60) << 16 | (y * 100) << 8 | (x + y) * 30)
    pixmap = exact_pixmap(image, 2.0)
    assert pixmap.devicePixelRatio() == 2.0
    assert (pixmap.deviceIndependentSize().width(),
            pixmap.deviceIndependentSize().height()) == (4.0, 3.0)
    big = pixmap.toImage()
    for y in range(6):
        for x in range(8):
            assert big.pixel(x, y) == image.pixel(x // 2, y // 2), (x, y)
    same = exact_pixmap(image, 1.0).toImage()
    assert _rgb(same) == _rgb(image)


def test_a_failure_for_a_crop_already_changed_is_not_reported(qtbot, tmp_path: Path) -> None:
    no_crop_fits = dataclasses.replace(X_SPEC, max_bytes_exclusive=64)
    runner = TaskRunner()
    doc = CropDocument()
    panel = PreviewPanel(spec=no_crop_fits)
    qtbot.addWidget(panel)
    # A long debounce: only the renders this test asks for run.
    previews = PreviewController(doc, panel, runner, spec=no_crop_fits,
                                 debounce_ms=60_000)
    failures: list[BaseException] = []
    previews.failed.connect(failures.append)
    loader = ImageLoader(runner)
    try:
        with qtbot.waitSignal(loader.loaded, timeout=10_000) as opened:
            loader.open_path(_busy_picture(tmp_path / "busy.jpg", 600))
        doc.set_image(opened.args[0])
        previews.render_exact()  # for the crop as it is now...
        doc.edit(lambda model: model.zoom(1.5))  # ...which changes before it fails
        qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
        assert failures == []
        with qtbot.waitSignal(previews.failed, timeout=10_000):
            previews.render_exact()  # the crop as it is now: reported
        assert len(failures) == 1
        assert isinstance(failures[0], CannotMeetByteLimit)
    finally:
        runner.shutdown()


def test_a_new_picture_gets_its_exact_preview_without_the_debounce(qtbot, tmp_path: Path
                                                                  ) -> None:
    runner = TaskRunner()
    doc = CropDocument()
    panel = PreviewPanel()
    qtbot.addWidget(panel)
    # A debounce far longer than the test: only an undebounced render can arrive.
    previews = PreviewController(doc, panel, runner, debounce_ms=600_000)
    loader = ImageLoader(runner)
    try:
        with qtbot.waitSignal(loader.loaded, timeout=10_000) as opened:
            loader.open_path(_busy_picture(tmp_path / "busy.jpg", 900))
        with qtbot.waitSignal(previews.exact_ready, timeout=10_000):
            doc.set_image(opened.args[0])
        assert previews.current() is not None
        assert panel.is_exact
        # Moving the crop is debounced again: no render starts while the user moves.
        doc.edit(lambda model: model.zoom(1.5))
        assert previews.current() is None
        assert not runner.busy
        assert not panel.is_exact
    finally:
        runner.shutdown()
