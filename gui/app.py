"""Entry point of the ``avatar-studio`` window."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from avatar_studio.core.logsetup import attach_log_file, log_file, setup_logging
from avatar_studio.core.version import APP_ID, APP_NAME, DIST_NAME, __version__

if TYPE_CHECKING:
    from avatar_studio.core.settings import Settings
    from avatar_studio.gui.context import AppContext
    from avatar_studio.gui.mainwindow import MainWindow
    from avatar_studio.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

SMOKE_MS = 400


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="avatar-studio", description=f"{APP_NAME}: "
                                     "crop a picture and set it as your profile picture on "
                                     "X, Mastodon and Bluesky.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--smoke", action="store_true",
                        help="start, show the window, spin the event loop briefly, exit 0")
    parser.add_argument("--debug", action="store_true", help="verbose logs")
    parser.add_argument("--sandbox", action="store_true",
                        help="start the built-in sandbox (a local stand-in for X) and sign "
                             "in to its demo user")
    parser.add_argument("image", nargs="?", help="an image to open")
    # Qt's own options (-platform, -style, ...) pass through untouched.
    args, _qt_args = parser.parse_known_args(argv)
    return args


def create_window(args: argparse.Namespace, context: AppContext | None = None) -> MainWindow:
    """Build and show the window as the command line asked (QApplication must exist).

    Without ``context`` (the app) the frame is shown first and the parts are built after
    its first paint, on a default context; with one (tests) everything is built now.
    What the command line asks of the parts (``--sandbox``, an image) waits for them.
    """
    from avatar_studio.core.settings import load_settings
    from avatar_studio.gui.mainwindow import MainWindow
    from avatar_studio.gui.theme import apply_theme, resolved
    from PySide6.QtWidgets import QApplication

    settings = context.settings if context is not None else load_settings()
    app = QApplication.instance()
    theme = settings.theme
    # "system" follows the desktop's light or dark preference (when it states one).
    if isinstance(app, QApplication) and (theme != "system" or resolved(theme) != "platform"):
        apply_theme(app, theme)
    if context is not None:
        window = MainWindow(context)
        window.show()
    else:
        window = MainWindow(settings=settings)
        window.show()
        window.build_later(lambda runner: _default_context(runner, settings),
                           off_thread=attach_log_file)

    def follow_up() -> None:
        if args.sandbox:
            window.start_sandbox_demo()
        if args.image:
            window.open_path(Path(args.image).expanduser().absolute())

    window.when_ready(follow_up)
    return window


def _default_context(runner: TaskRunner, settings: Settings) -> AppContext:
    from avatar_studio.gui.context import AppContext

    return AppContext(runner=runner, settings=settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # The file is opened after the first paint (off the GUI thread); nothing is lost.
    setup_logging(debug=args.debug, file_later=True)
    # Imported late so --version and --help work without a display or Qt libraries.
    from avatar_studio.gui.qtlog import install_qt_message_handler
    from avatar_studio.gui.resources import app_icon
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    install_qt_message_handler()
    from avatar_studio.gui.tasks import prefer_gui_thread

    prefer_gui_thread()
    if not os.environ.get("QT_QPA_PLATFORM") and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        log.warning("No display found (DISPLAY is unset); using the offscreen platform")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName(DIST_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())

    window = create_window(args)
    log.info("%s %s started (platform %s)", APP_NAME, __version__, app.platformName())

    def on_ready() -> None:
        # With the parts (it needs what they import): from now on an uncaught error is
        # logged and shown in a dialog; until then Python's own hooks report it.
        from avatar_studio.gui.errors import install_excepthooks

        install_excepthooks()

    def on_start_failed(exc: object) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME,
                          f"{APP_NAME} could not start: {type(exc).__name__}. "
                          f"Details are in the log ({log_file()}).",
                          QMessageBox.StandardButton.Close, window)
        box.finished.connect(lambda _result: app.exit(1))
        box.open()

    window.when_ready(on_ready)
    window.start_failed.connect(on_start_failed)
    if args.smoke:
        seen: list[bool] = []

        def check_and_quit() -> None:
            # Checked before quit(): in Qt 6 quit() closes the windows first.
            seen.append(window.is_ready and window.isVisible()
                        and window.windowHandle() is not None
                        and window.windowHandle().isExposed())
            app.quit()

        # Counted from the built window: the smoke run checks the parts came too.
        window.when_ready(lambda: QTimer.singleShot(SMOKE_MS, check_and_quit))
        code = app.exec()
        ok = seen == [True] and code == 0
        print(f"smoke: ok (platform {app.platformName()})" if ok else "smoke: FAILED")
        return 0 if ok else 1
    code = app.exec()
    if window.abandoned_work:
        # Python would join the stuck worker threads at exit, keeping an invisible process
        # alive until their network timeouts: leave now, the window already said goodbye.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
