"""Getting an image in: drop, paste, open, bad files; the crop shows and previews follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from avatar_studio.gui.imageinput import ImageRequest
from avatar_studio.gui.mainwindow import MainWindow
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from tests.gui.helpers import (
    BR,
    TL,
    drag_enter,
    drop,
    near,
    pixel,
    quadrants,
    save_artifact,
)


def _exact(qtbot, window: MainWindow) -> QImage:
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    return window.preview_panel.shown


def test_dropping_a_file_shows_its_crop(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = quadrants(tmp_path / "four.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        drop(window.drop_target, mime)
    assert window.stack.currentWidget() is not window.placeholder
    assert window.document.loaded is not None
    assert window.document.loaded.path == path
    shot = window.editor.grab().toImage()
    frame = window.editor.frame_rect()
    # Inside the round guide: the picture's quadrants, top-left red, bottom-right yellow.
    def at(fx: float, fy: float):
        return shot.pixelColor(int(frame.left() + frame.width() * fx),
                               int(frame.top() + frame.height() * fy))
    assert near(at(0.3, 0.3), TL)
    assert near(at(0.7, 0.7), BR)
    # Outside the circle (frame corner) the picture is dimmed, not hidden.
    assert at(0.03, 0.03).red() < TL[0] - 60
    image = _exact(qtbot, window)
    assert image.width() == 400
    assert near(pixel(image, 0.1, 0.1), TL)
    assert near(pixel(image, 0.9, 0.9), BR)
    assert "PNG" in window.preview_panel.info.text() or "JPEG" in window.preview_panel.info.text()
    assert str(path) in window.context.settings.recent_files
    save_artifact(window, "01-image-dropped")


def test_an_opened_file_is_remembered_off_the_gui_thread(
        qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A settings write fsyncs the file and its folder: on a slow disk, a frozen window.
    import threading

    from avatar_studio.core import settings as st

    on_gui_thread: list[bool] = []
    real = st.save_settings

    def spy(settings: st.Settings, path: Path | None = None) -> None:
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        real(settings, path)

    monkeypatch.setattr(st, "save_settings", spy)
    path = quadrants(tmp_path / "four.png")
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(path)
    assert window.context.settings_writer.flush(timeout=10)
    assert on_gui_thread == [False]
    saved = st.load_settings()
    assert saved.recent_files[0] == str(path)
    assert saved.last_open_dir == str(tmp_path)


def test_hover_highlights_and_a_refused_drop_says_why(qtbot, window: MainWindow,
                                                      tmp_path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path))])  # a folder
    target = window.drop_target
    drag_enter(target, mime)
    overlay = window.drops.overlay
    assert overlay.isVisible()
    assert overlay.property("accepted") is False
    assert "folder" in overlay.text()
    save_artifact(window, "02-drop-refused-hover")
    drop(target, mime)
    assert not overlay.isVisible()
    assert window.banner.isVisible()
    assert "is a folder" in window.banner.label.text()

    good = QMimeData()
    good.setUrls([QUrl.fromLocalFile(str(quadrants(tmp_path / "ok.png")))])
    drag_enter(target, good)
    assert overlay.isVisible()
    assert overlay.property("accepted") is True
    assert "ok.png" in overlay.text()


def test_bad_file_shows_a_message_and_keeps_the_current_image(qtbot, window: MainWindow,
                                                              tmp_path: Path) -> None:
    good = quadrants(tmp_path / "good.png")
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(good)
    window.editor.zoom_by(2.0)
    state = window.document.state
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    with qtbot.waitSignal(window.loader.failed, timeout=10_000):
        window.open_path(bad)
    assert window.banner.isVisible()
    assert window.banner.label.text()
    assert "Traceback" not in window.banner.label.text()
    # A damaged file stays damaged: no Retry that cannot help.
    assert not window.banner.action_button.isVisibleTo(window.banner)
    # The app lives on, with the previous picture and crop untouched.
    assert window.document.state == state
    assert window.document.loaded is not None
    assert window.document.loaded.path == good
    save_artifact(window, "03-bad-file")
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(good)


def test_paste_image_data_file_and_link(qtbot, window: MainWindow, tmp_path: Path) -> None:
    clipboard = QApplication.clipboard()
    image = QImage(str(quadrants(tmp_path / "c.png", (500, 300))))
    clipboard.setImage(image)
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.paste_action.trigger()
    loaded = window.document.loaded
    assert loaded is not None
    assert loaded.source.info.width == 500
    assert loaded.path is None
    assert loaded.origin == "pasted image"

    path = quadrants(tmp_path / "file.png", (300, 300))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    clipboard.setMimeData(mime)
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.paste_action.trigger()
    assert window.document.loaded is not None
    assert window.document.loaded.path == path

    clipboard.setText("just some words")
    window.paste_action.trigger()
    assert window.banner.isVisible()
    assert "text" in window.banner.label.text()
    assert window.document.loaded.path == path


def test_open_action_emits_and_loads(qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    chosen = quadrants(tmp_path / "me.png")
    monkeypatch.setattr("avatar_studio.gui.mainwindow.QFileDialog.getOpenFileName",
                        lambda *a, **k: (str(chosen), ""))
    with qtbot.waitSignal(window.open_requested) as blocker, \
            qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_action.trigger()
    assert blocker.args == [chosen]
    window.fill_recent()
    assert [a.text() for a in window.recent_menu.actions()] == [str(chosen)]


def test_pasted_bare_image_opens(qtbot, window: MainWindow, tmp_path: Path) -> None:
    # What an image viewer's "Copy" gives: pixels, no file bytes. The loader encodes it
    # on its worker thread.
    image = QImage(str(quadrants(tmp_path / "viewer.png", (600, 400))))
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_request(ImageRequest(name="pasted image", image=image))
    loaded = window.document.loaded
    assert loaded is not None
    assert (loaded.source.info.width, loaded.source.info.height) == (600, 400)
    assert loaded.origin == "pasted image"
    assert near(pixel(loaded.qproxy, 0.1, 0.1), TL)
    assert near(pixel(loaded.qproxy, 0.9, 0.9), BR)
