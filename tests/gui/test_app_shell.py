from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from avatar_studio.core.logsetup import log_file
from avatar_studio.core.version import APP_NAME, __version__
from avatar_studio.gui import errors
from avatar_studio.gui.mainwindow import MainWindow
from PySide6.QtWidgets import QApplication, QMessageBox


def test_main_window_shell(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == APP_NAME
    assert not window.windowIcon().isNull()
    assert "Drop an image" in window.placeholder.text()
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&Image", "&Account", "&View", "&Help"]
    assert window.open_action.shortcut().toString() == "Ctrl+O"
    assert __version__ in window.about_text()


def test_open_action_emits_chosen_path(qtbot, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    chosen = tmp_path / "me.png"
    monkeypatch.setattr("avatar_studio.gui.mainwindow.QFileDialog.getOpenFileName",
                        lambda *a, **k: (str(chosen), ""))
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.open_requested) as blocker:
        window.open_action.trigger()
    assert blocker.args == [chosen]


@pytest.mark.allow_log_warnings
def test_uncaught_error_is_logged_and_shown(qtbot, caplog: pytest.LogCaptureFixture) -> None:
    errors.install_excepthooks()
    try:
        try:
            raise ValueError("boom in a slot")
        except ValueError as exc:
            with caplog.at_level("CRITICAL"):
                sys.excepthook(type(exc), exc, exc.__traceback__)

        def dialog() -> QMessageBox:
            boxes = [w for w in QApplication.topLevelWidgets()
                     if isinstance(w, QMessageBox) and w.objectName() == "errorDialog"
                     and w.isVisible()]
            assert boxes
            return boxes[0]

        qtbot.waitUntil(lambda: bool(dialog()))
        box = dialog()
        assert "ValueError" in box.text()
        details = box.detailedText()
        assert "builtins.ValueError in the main thread" in details
        assert "test_app_shell.py" in details
        assert "test_uncaught_error_is_logged_and_shown" in details
        assert str(log_file()) in details
        # No traceback reaches the user, and not the exception's own text either (it may
        # quote a link or a server's answer): both are in the log only.
        assert "Traceback" not in details
        assert "boom in a slot" not in details + box.text()
        assert any(r.exc_info and "boom in a slot" in str(r.exc_info[1])
                   for r in caplog.records)
        assert any("Uncaught error" in r.getMessage() for r in caplog.records)
        box.close()
    finally:
        sys.excepthook = sys.__excepthook__
        import threading
        threading.excepthook = threading.__excepthook__


@pytest.mark.parametrize("platform", ["offscreen", "xcb"])
def test_smoke_flag_exits_zero(platform: str) -> None:
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        pytest.skip("no X server here; `make test` runs this again under xvfb-run")
    env = dict(os.environ, QT_QPA_PLATFORM=platform)
    out = subprocess.run([sys.executable, "-m", "avatar_studio.gui", "--smoke"],
                         capture_output=True, text=True, timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert f"smoke: ok (platform {platform})" in out.stdout
    assert "Traceback" not in out.stderr


def test_sandbox_flag_starts_signed_in_with_the_image(qtbot, tmp_path: Path) -> None:
    from avatar_studio.gui.app import create_window, parse_args

    from tests.gui.helpers import make_context, quadrants

    image = quadrants(tmp_path / "me.png")
    window = create_window(parse_args(["--sandbox", str(image)]), make_context())
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.document.loaded is not None
                    and window.accounts.current is not None, timeout=15_000)
    assert window.document.loaded is not None
    assert window.document.loaded.path == image
    assert window.account_panel.handle.text().startswith("@")
    assert window.context.sandbox is not None
    assert window.context.sandbox.running
    qtbot.waitUntil(window.upload_panel.upload.isEnabled, timeout=10_000)
