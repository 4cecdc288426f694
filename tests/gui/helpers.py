"""Shared helpers for the window tests: images, drops, a window wired to a sandbox."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from avatar_studio.core.credentials import CredentialStore, MemoryBackend
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.services import registry
from avatar_studio.core.services.base import Service
from avatar_studio.core.services.x.client import RetryPolicy
from avatar_studio.core.services.x.refresh import PollPolicy
from avatar_studio.core.services.x.service import XService
from avatar_studio.core.settings import Settings
from avatar_studio.gui.context import AppContext
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.sandboxhost import SandboxHost
from avatar_studio.gui.tasks import TaskRunner
from PIL import Image
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt
from PySide6.QtGui import QColor, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

#: Screenshots for people to look at: outside the checkout (the suite writes nothing there).
ARTIFACTS = Path(os.environ.get("AVATAR_STUDIO_TEST_ARTIFACTS")
                 or Path(tempfile.gettempdir()) / "avatar-studio-test-artifacts")

#: Quadrant colours of the test picture (top-left, top-right, bottom-left, bottom-right).
TL, TR, BL, BR = (220, 30, 30), (30, 180, 60), (40, 70, 220), (240, 210, 30)


def quadrants(path: Path, size: tuple[int, int] = (800, 800), fmt: str = "PNG") -> Path:
    w, h = size
    im = Image.new("RGB", size)
    im.paste(TL, (0, 0, w // 2, h // 2))
    im.paste(TR, (w // 2, 0, w, h // 2))
    im.paste(BL, (0, h // 2, w // 2, h))
    im.paste(BR, (w // 2, h // 2, w, h))
    im.save(path, fmt)
    return path


def near(color: QColor, rgb: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip((color.red(), color.green(), color.blue()),
                                                  rgb, strict=True))


def pixel(image: QImage, fx: float, fy: float) -> QColor:
    """The colour at a fraction of the image's width and height."""
    return image.pixelColor(int(image.width() * fx), int(image.height() * fy))


def drag_enter(target: QWidget, mime: QMimeData) -> None:
    # QDragEnterEvent has only the deprecated QPoint constructor; a QDropEvent of type
    # DragEnter is what the filter sees either way.
    enter = QDropEvent(QPointF(target.rect().center()), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QEvent.Type.DragEnter)
    QApplication.sendEvent(target, enter)


def drop(target: QWidget, mime: QMimeData) -> None:
    pos = target.rect().center()
    drag_enter(target, mime)
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)


def save_artifact(widget: QWidget, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    platform = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    path = ARTIFACTS / f"{name}-{platform}.png"
    widget.grab().save(str(path))
    return path


FAST_POLL = PollPolicy(min_wait_s=0.2, first_interval_s=0.1, fast_polls=50, timeout_s=15.0)
NO_RETRY = RetryPolicy(attempts=1)


#: The real X service, with the 5 s processing wait and retries shortened for tests.
FAST_X = XService(poll=FAST_POLL, retry=NO_RETRY)


def fast_services(key: str) -> Service:
    """Fast X; the other services as registered (the sign-in assistant lists them)."""
    return FAST_X if key == "x" else registry.get(key)


def make_context(*, processing_delay: float = 0.3, store: CredentialStore | None = None,
                 state_dir: Path | None = None) -> AppContext:
    return AppContext(
        runner=TaskRunner(),
        store=store or CredentialStore(MemoryBackend(), services=fast_services),
        services=fast_services,
        sandbox=SandboxHost(SandboxConfig(processing_delay=processing_delay,
                                          state_dir=state_dir)),
        settings=Settings(),
        preview_debounce_ms=50,
    )


def open_window(qtbot: QtBot, *, processing_delay: float = 0.3,
                store: CredentialStore | None = None,
                state_dir: Path | None = None) -> MainWindow:
    """A main window on a fresh test context, shown and exposed."""
    return show_window(qtbot, make_context(processing_delay=processing_delay, store=store,
                                           state_dir=state_dir))


def show_window(qtbot: QtBot, context: AppContext) -> MainWindow:
    """A main window on ``context``, shown and exposed (closed with the test)."""
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window
