"""Links and raw data from a browser drag, warnings for small/animated/transparent
sources, and choices remembered between sessions."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from avatar_studio.core.settings import load_settings
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.qtimage import scaled_pixmap
from avatar_studio.gui.theme import apply_theme
from PIL import Image
from PySide6.QtCore import QMimeData, QSize, QUrl
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication

from tests.gui.helpers import (
    TL,
    drop,
    make_context,
    near,
    pixel,
    quadrants,
    save_artifact,
    show_window,
)


def _png_bytes(size: tuple[int, int] = (600, 600)) -> bytes:
    buf = io.BytesIO()
    quadrants_img = Image.new("RGB", size, TL)
    quadrants_img.save(buf, "PNG")
    return buf.getvalue()


class _Site(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/photo.png":
            body, ctype = _png_bytes(), "image/png"
        else:
            body, ctype = b"<html>a gallery page</html>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    t.join(5)


def test_browser_link_is_downloaded_in_the_background(qtbot, window: MainWindow,
                                                      site: str) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl(f"{site}/photo.png")])
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        drop(window.drop_target, mime)
    loaded = window.document.loaded
    assert loaded is not None
    assert loaded.origin == f"{site}/photo.png"
    assert loaded.source.info.width == 600
    assert loaded.path is None

    QApplication.clipboard().setText(f"{site}/photo.png")
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.paste_action.trigger()
    assert window.document.loaded is not loaded
    loaded = window.document.loaded

    page = QMimeData()
    page.setUrls([QUrl(f"{site}/gallery")])
    with qtbot.waitSignal(window.loader.failed, timeout=10_000):
        drop(window.drop_target, page)
    assert "web page" in window.banner.label.text()
    assert window.document.loaded is loaded


def test_raw_image_data_in_a_drop_is_used_directly(qtbot, window: MainWindow) -> None:
    mime = QMimeData()
    mime.setData("image/png", _png_bytes((500, 500)))
    # A browser also offers the link; nothing listens there, so a download would fail.
    mime.setUrls([QUrl("http://127.0.0.1:9/never-fetched.png")])
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        drop(window.drop_target, mime)
    loaded = window.document.loaded
    assert loaded is not None
    assert loaded.source.info.width == 500


def test_warnings_small_transparent_and_animated(qtbot, window: MainWindow,
                                                 tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    Image.new("RGBA", (120, 120), (200, 0, 0, 128)).save(small)
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(small)
    text = window.preview_panel.warnings.text()
    assert "120×120" in text
    assert "soft" in text
    assert "Transparency is kept (PNG)" in text
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    current = window.previews.current()
    assert current is not None
    assert current.result.format == "PNG"
    window.editor_actions.flatten.trigger()
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    flattened = window.previews.current()
    assert flattened is not None
    assert "A" not in flattened.result.image.getbands()
    # Half-transparent red on the white fill colour.
    assert near(pixel(window.preview_panel.shown, 0.5, 0.5), (227, 127, 127), tol=12)
    assert "flattened" in window.preview_panel.warnings.text()
    window.editor_actions.flatten.trigger()

    gif = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (420, 420), c) for c in ((255, 0, 0), (0, 0, 255), (0, 200, 0))]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(gif)
    assert "Animated (3 frames)" in window.preview_panel.warnings.text()
    assert window.preview_panel.frame_row.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    assert near(pixel(window.preview_panel.shown, 0.5, 0.5), (255, 0, 0))
    with qtbot.waitSignal(window.loader.frame_loaded, timeout=10_000):
        window.preview_panel.frame_picker.setValue(2)
    qtbot.waitUntil(lambda: window.previews.current() is not None
                    and near(pixel(window.preview_panel.shown, 0.5, 0.5), (0, 0, 255)),
                    timeout=10_000)
    assert window.document.render_options().frame == 1
    save_artifact(window, "50-animated-frame-picker")


def test_a_late_frame_of_the_previous_image_is_dropped(qtbot, window: MainWindow,
                                                       tmp_path: Path) -> None:
    gif = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (420, 420), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(gif)
    animated = window.document.loaded
    assert animated is not None
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(quadrants(tmp_path / "next.png"))
    current = window.document.loaded
    assert current is not None
    # The frame picked for the GIF arrives after the next image was opened.
    with qtbot.waitSignal(window.loader.frame_loaded, timeout=10_000):
        window.loader.open_frame(animated, 1)
    assert window.document.loaded is current
    assert window.document.render_options().frame == 0
    assert window.document.model is not None
    assert window.document.model.width == current.source.info.width == 800


def test_choices_and_geometry_are_remembered(qtbot) -> None:
    first = show_window(qtbot, make_context())
    size = QSize(980, 700)
    assert first.minimumSizeHint().boundedTo(size) == first.minimumSizeHint()
    first.resize(size)
    first.editor_actions.circle.trigger()  # square
    first.editor_actions.set_fill(QColor("#123456"))
    first.editor_actions.fit.trigger()
    first.close()
    saved = load_settings()
    assert saved.mask_shape == "square"
    assert saved.fill_color == "#123456"
    assert saved.fit_mode is True
    assert saved.window_geometry

    context = make_context()
    context.settings = saved
    second = MainWindow(context)
    qtbot.addWidget(second)
    assert second.document.circle is False
    assert second.document.fill.name() == "#123456"
    assert second.editor_actions.circle.isChecked() is False
    assert second.document.fit is True
    # The height comes back as saved; Qt clamps a restored width to the screen (the
    # offscreen one is 800 px wide, with a frame margin), so allow for that.
    assert second.size().height() == size.height()
    assert second.size().width() in (size.width(), *range(780, 801))


def test_previews_are_crisp_on_high_dpi(qtbot) -> None:
    image = QImage(400, 400, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    pix = scaled_pixmap(image, 48, round_mask=True, dpr=2.0)
    assert (pix.width(), pix.height()) == (96, 96)  # device pixels
    assert pix.devicePixelRatio() == 2.0
    corner = pix.toImage().pixelColor(2, 2)
    assert corner.alpha() == 0  # outside the circle


def test_dark_palette(qtbot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    try:
        apply_theme(app, "dark")
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
        apply_theme(app, "light")
        assert app.palette().color(QPalette.ColorRole.Window).lightness() > 180
    finally:
        apply_theme(app, "system")
