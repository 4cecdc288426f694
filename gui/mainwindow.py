"""The main window: lays out the parts and connects their signals; the logic lives in them.

Left: the drop area or the crop editor with its toolbar. Right: the account panel and the
previews, at a fixed width. Along the bottom, a bar that never scrolls and never changes
height: the error banner or the activity line, then the upload status and the primary
action. So nothing jumps when a banner or a status appears.

The window is built in two steps so it shows at once: this module's frame (title, menus,
the drop area, the column and the bar, at their final sizes) needs only Qt and the
settings; the parts (:mod:`avatar_studio.gui.workspace`: Pillow, the publish use case,
the keyring…) are imported on a worker thread after the first paint and built into the
frame (:meth:`MainWindow.build_later`, what the app does), or at once (what tests do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from avatar_studio.core.settings import Settings
from avatar_studio.core.version import APP_NAME, __version__
from avatar_studio.gui.resources import app_icon
from avatar_studio.gui.theme import apply_theme
from PySide6.QtCore import QByteArray, QEvent, QObject, QSize, Qt, QTimer, Signal, Slot, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from avatar_studio.core.imaging.spec import RenderSpec
    from avatar_studio.core.settings import AccountRecord
    from avatar_studio.gui.accounts import AccountManager, AccountPanel, Current
    from avatar_studio.gui.context import AppContext
    from avatar_studio.gui.cropeditor import CropEditor
    from avatar_studio.gui.document import CropDocument, LoadedImage
    from avatar_studio.gui.droptarget import DropHandler
    from avatar_studio.gui.editortools import EditorActions, EditorToolbar
    from avatar_studio.gui.errors import ErrorBanner
    from avatar_studio.gui.icons import IconSet
    from avatar_studio.gui.imageinput import ImageRequest
    from avatar_studio.gui.loader import Framed, ImageLoader
    from avatar_studio.gui.previews import PreviewController, PreviewPanel
    from avatar_studio.gui.signin import SignInDialog, SignInOutcome
    from avatar_studio.gui.specpreviews import OtherSpecs
    from avatar_studio.gui.targets import MultiPublish, PublishSummary, TargetList
    from avatar_studio.gui.tasks import TaskContext, TaskHandle, TaskRunner
    from avatar_studio.gui.upload import UploadController, UploadPanel

log = logging.getLogger(__name__)

OPEN_FILTER = ("Images (*.jpg *.jpeg *.png *.gif *.webp *.bmp *.tif *.tiff *.avif *.heic "
               "*.heif);;All files (*)")

#: Default window size: fits a 1280×1024 screen with the editor beside the side column.
DEFAULT_SIZE = QSize(1220, 900)
#: The smallest size at which everything is in view without scrolling.
SMALL_SIZE = QSize(1024, 700)
EDITOR_WIDTH = 760
WINDOW_CHROME = 40  # menu bar and margins above and below the column
COLUMN_GAP = 12
MIN_COLUMN = 160
#: The bottom bar's height: the banner's three lines of text or the 44 px pictures.
ACTION_BAR_HEIGHT = 64
#: The side column's width before its parts exist, without the scroll bar's room: the
#: 400 px preview and the column's margin (a test checks the built column is exactly this
#: wide, so the drop area does not move when the parts arrive).
SIDE_COLUMN_WIDTH = 406
#: The menus the frame shows at once (their items come with the parts).
MENUS = (("file", "&File"), ("edit", "&Edit"), ("image", "&Image"), ("account", "&Account"),
         ("view", "&View"), ("help", "&Help"))

LICENCE = "MIT"
PROJECT_URL = "https://github.com/avatarstudio/avatar-studio"

#: (keys, what they do) for Help › Keyboard Shortcuts; every shortcut the window has.
SHORTCUTS = (
    ("Ctrl+O", "Open an image"), ("Ctrl+V", "Paste an image, a file or a link"),
    ("Drag", "Move the picture in the frame"), ("Wheel", "Zoom about the pointer"),
    ("+ / −", "Zoom in / out (Shift: fine)"),
    ("Arrows", "Move the picture, as a drag does (Shift: fine)"),
    ("Ctrl+Z", "Undo"), ("Ctrl+Shift+Z, Ctrl+Y", "Redo"),
    ("Ctrl+0", "Back to the crop the picture opened with (undoable)"),
    ("Ctrl+Shift+0", "Centre crop instead of the face framing (undoable)"),
    ("R / Shift+R", "Rotate right / left"),
    ("H / V", "Flip horizontally / vertically"), ("C", "Circle or square guide"),
    ("F", "Fit the whole picture (fill colour around it)"),
    ("Ctrl+Shift+F", "Choose the fill colour"), ("Ctrl+Shift+T", "Flatten transparency"),
    ("Ctrl+U", "Upload"),
    ("Esc", "Close the message, or cancel what is running (never touches the crop)"),
    ("F1", "This list"), ("Ctrl+Q", "Quit"),
)


class DropPlaceholder(QLabel):
    """What the window shows before an image is loaded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropPlaceholder")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setText("Drop an image here\n\nor paste one (Ctrl+V), or open one (Ctrl+O)")
        self.setAccessibleName("Drop area")
        self.setMinimumSize(480, 360)
        self.setStyleSheet("QLabel#dropPlaceholder { border: 2px dashed palette(mid);"
                           " border-radius: 12px; font-size: 16px;"
                           " color: palette(window-text); }")


class MainWindow(QMainWindow):
    """Signals:
        open_requested(Path): the user chose a file to open.
        sign_in_dialog_opened(object): the SignInDialog just shown.
        ready(): the parts are built and wired (at once, or after the first paint).
        start_failed(object): building the parts failed (BaseException); the frame stays.
    """

    open_requested = Signal(Path)
    sign_in_dialog_opened = Signal(object)
    ready = Signal()
    start_failed = Signal(object)
    #: A settings change could not be written (emitted on the writer's thread).
    settings_failed = Signal(object)

    app_name = APP_NAME
    # The parts, set by workspace.assemble().
    context: AppContext
    document: CropDocument
    loader: ImageLoader
    accounts: AccountManager
    banner: ErrorBanner
    editor: CropEditor
    editor_actions: EditorActions
    toolbar: EditorToolbar
    account_panel: AccountPanel
    preview_panel: PreviewPanel
    previews: PreviewController
    upload_panel: UploadPanel
    upload: UploadController
    targets: TargetList
    alt_text: QLineEdit
    multi: MultiPublish
    other_specs: OtherSpecs
    drops: DropHandler
    icons: IconSet
    open_action: QAction
    recent_menu: QMenu
    paste_action: QAction
    quit_action: QAction
    escape_action: QAction
    sign_in_action: QAction
    upload_action: QAction
    sign_out_action: QAction
    theme_actions: dict[str, QAction]
    shortcuts_action: QAction
    about_action: QAction

    def __init__(self, context: AppContext | None = None,
                 parent: QWidget | None = None, *, settings: Settings | None = None) -> None:
        """With ``settings`` (and no context) only the frame is built: call
        :meth:`build_later` (the app) or :meth:`build` next. Otherwise the whole window
        is built now, on ``context`` (a default one when None)."""
        super().__init__(parent)
        #: Set on close when background work outlived the grace period (see app.main).
        self.abandoned_work = False
        #: True once the parts are built (``ready`` was emitted).
        self.is_ready = False
        self._parts_task: TaskHandle[None] | None = None
        #: Each account's own RenderSpec, once its service was asked (by account key).
        self._account_specs: dict[str, RenderSpec] = {}
        self._asking_specs: set[str] = set()
        self._spec_failed: set[str] = set()
        if settings is None:
            if context is None:
                from avatar_studio.gui.context import AppContext

                context = AppContext()
            settings = context.settings
        self._build_frame(settings)
        if context is not None:
            self.build(context)

    def _build_frame(self, settings: Settings) -> None:
        """What the first paint shows, at the sizes the built window has."""
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        central = QWidget(self)
        self.placeholder = DropPlaceholder(central)
        self.stack = QStackedWidget(central)
        self.stack.addWidget(self.placeholder)
        self.side_column = side = QWidget(central)
        side.setObjectName("sideColumn")
        self.side_layout = QVBoxLayout(side)
        self.side_layout.setContentsMargins(0, 0, 6, 0)
        # Only on a screen smaller than 1024×700 does the column scroll: the 400 px
        # preview is never shrunk (it is a fixed-size label).
        self.side_scroll = scroll = QScrollArea(central)
        scroll.setObjectName("sideScroll")
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

        # The bottom bar: fixed height, so a banner or a status never moves the editor.
        self.action_bar = bar = QFrame(central)
        bar.setObjectName("actionBar")
        bar.setFrameShape(QFrame.Shape.NoFrame)
        bar.setFixedHeight(ACTION_BAR_HEIGHT)
        self.activity = QLabel("", bar)
        self.activity.setObjectName("activity")
        self.activity.setAccessibleName("Activity")
        self.activity.setWordWrap(True)
        self._activity_timer = QTimer(self)
        self._activity_timer.setSingleShot(True)
        self._activity_timer.timeout.connect(self.activity.clear)
        self.bar_layout = bar_layout = QHBoxLayout(bar)
        bar_layout.setContentsMargins(0, 4, 0, 0)
        bar_layout.addWidget(self.activity, 2)

        self._content = content = QHBoxLayout()
        self.left_layout = left = QVBoxLayout()
        left.addWidget(self.stack, 1)
        content.addLayout(left, 1)
        content.addWidget(scroll, 0)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(COLUMN_GAP, 6, COLUMN_GAP, 4)
        layout.addLayout(content, 1)
        layout.addWidget(rule(central))
        layout.addWidget(bar)
        self.setCentralWidget(central)
        self.drop_target = central
        self.menus = {key: self.menuBar().addMenu(title) for key, title in MENUS}
        self._size_frame(SIDE_COLUMN_WIDTH + scroll.verticalScrollBar().sizeHint().width(),
                         DEFAULT_SIZE)
        if settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode()))

    # -- building the parts -----------------------------------------------------------
    def build(self, context: AppContext) -> None:
        """Build the parts into the frame now (imports :mod:`avatar_studio.gui.workspace`
        on this thread) and emit ``ready``."""
        from avatar_studio.gui.workspace import assemble

        assemble(self, context)
        self.is_ready = True
        self.ready.emit()

    def build_later(self, make_context: Callable[[TaskRunner], AppContext], *,
                    off_thread: Callable[[], object] | None = None) -> None:
        """After the frame's first paint: import the parts on a worker thread of a new
        TaskRunner (no import holds the GUI thread), then build them here on
        ``make_context(runner)``. ``off_thread`` runs on that worker first (the app
        opens its log file there). ``start_failed`` says when that fails."""
        watcher = _FirstPaint(self)
        watcher.painted.connect(lambda: self._import_parts(make_context, off_thread))
        self.installEventFilter(watcher)
        self.placeholder.installEventFilter(watcher)

    def _import_parts(self, make_context: Callable[[TaskRunner], AppContext],
                      off_thread: Callable[[], object] | None) -> None:
        from avatar_studio.gui.tasks import TaskRunner as Runner

        #: The runner importing the parts; it becomes the context's (one for the app).
        self.parts_runner = runner = Runner()

        def work(_ctx: TaskContext) -> None:
            if off_thread is not None:
                off_thread()
            import avatar_studio.gui.workspace  # noqa: F401 - loaded here, used by build()

        def done(_result: None) -> None:
            try:
                self.build(make_context(runner))
            except Exception as exc:  # the app shows it, then quits
                log.critical("The window could not be built", exc_info=True)
                self.start_failed.emit(exc)

        def failed(exc: BaseException) -> None:
            log.critical("The window's parts could not be loaded",
                         exc_info=(type(exc), exc, exc.__traceback__))
            self.start_failed.emit(exc)

        def cancelled() -> None:
            runner.shutdown(wait=False)

        self._parts_task = runner.run(work, on_success=done, on_error=failed,
                                      on_cancelled=cancelled)

    def when_ready(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the parts are built (now, if they are)."""
        if self.is_ready:
            action()
        else:
            self.ready.connect(action, Qt.ConnectionType.SingleShotConnection)

    def _size_frame(self, column: int, want: QSize) -> None:
        scroll = self.side_scroll
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() if screen is not None else want
        # Narrower than the column needs only when the screen leaves no other choice;
        # the column then scrolls sideways too.
        left_min = (self.stack.minimumSizeHint().width() + 2 * COLUMN_GAP
                    + max(0, self._content.spacing()))
        scroll.setMinimumWidth(max(MIN_COLUMN, min(column, room.width() - left_min)))
        self.resize(want.boundedTo(room))

    def fit_to_screen(self) -> None:
        """Open at a size showing the editor and the whole side column, within the screen."""
        scroll, side = self.side_scroll, self.side_column
        bar = scroll.verticalScrollBar().sizeHint().width()
        column = side.minimumSizeHint().width() + bar
        want = QSize(max(DEFAULT_SIZE.width(), column + EDITOR_WIDTH),
                     max(DEFAULT_SIZE.height(), side.sizeHint().height() + WINDOW_CHROME
                         + ACTION_BAR_HEIGHT))
        self._size_frame(column, want)

    def _single_target(self) -> bool:
        """Only the current account is a target: the one-account flow (with its
        before/after pictures and Check Again) runs; otherwise one lane per account."""
        current = self.accounts.current
        chosen = [r.key for r in self.targets.targets()]
        if current is None:
            return False
        # With one account there is nothing to tick; with several, only what is ticked.
        return chosen == [current.record.key] or (
            not chosen and len(self.targets.rows) <= 1)

    def can_publish(self) -> bool:
        if self.multi.busy or self.upload.busy or not self.document.has_image:
            return False
        return self.upload.can_upload() if self._single_target() else bool(
            self.targets.targets())

    @Slot()
    def publish(self) -> None:
        if not self.can_publish():
            return
        if self._single_target():
            self.upload.start()
        elif self.multi.start():
            self.banner.hide()
            self.upload_panel.show_before_after(None, None)

    @Slot()
    def sync_account_actions(self) -> None:
        """Only what can be done now is enabled (menu items as their buttons)."""
        can = self.can_publish()
        self.upload_action.setEnabled(can)
        self.upload_panel.upload.setEnabled(can)
        count = len(self.targets.targets())
        self.upload_panel.upload.setText("Publish" if count <= 1
                                         else f"Publish to {count} Accounts")
        self.other_specs.refresh()
        takes_alt = [spec.alt_text_max for spec in self.target_specs()
                     if spec.alt_text_max > 0]
        self.alt_text.setVisible(bool(takes_alt))
        if takes_alt:
            self.alt_text.setMaxLength(min(takes_alt))
            self.alt_text.setToolTip(f"Shown to people using screen readers (up to "
                                     f"{min(takes_alt)} characters; stored by the services "
                                     "that take alt text)")
        self.sign_out_action.setEnabled(self.accounts.current is not None)

    def target_specs(self) -> list[RenderSpec]:
        """The distinct render specs among the targets, in list order: each account's
        own (its instance's limits and alt text) once asked, the service's default
        until then."""
        specs: list[RenderSpec] = []
        for record in self.targets.targets():
            spec = self._account_specs.get(record.key)
            if spec is None:
                self._ask_spec(record)
                try:
                    spec = self.accounts.services(record.service).default_spec
                except KeyError:
                    continue
            if spec not in specs:
                specs.append(spec)
        return specs

    def _ask_spec(self, record: AccountRecord, *, retry: bool = False) -> None:
        """Ask the account's service for its limits (a Mastodon instance's alt text
        length, its byte limit) off the GUI thread, once per account and session; the
        current account's preview follows the answer. After a failure it is asked
        again only with ``retry`` (when the account is chosen again), not on every
        change of the crop."""
        key = record.key
        if key in self._asking_specs or key in self._account_specs or (
                key in self._spec_failed and not retry):
            return
        self._asking_specs.add(key)
        self._spec_failed.discard(key)
        opener = self.accounts.session_opener(record)

        def work(ctx: TaskContext) -> RenderSpec:
            session = opener()
            try:
                return session.render_spec()
            finally:
                session.close()

        def done(spec: RenderSpec) -> None:
            self._asking_specs.discard(record.key)
            self._account_specs[record.key] = spec
            self.sync_account_actions()
            current = self.accounts.current
            if current is not None and current.record.key == record.key:
                self.previews.set_spec(spec)

        def failed(exc: BaseException) -> None:
            self._asking_specs.discard(record.key)
            self._spec_failed.add(record.key)
            log.info("Limits of %s not known: %s", record.label, type(exc).__name__)

        self.context.runner.run(work, on_success=done, on_error=failed)

    @Slot(str)
    def on_single_phase(self, phase: str) -> None:
        current = self.accounts.current
        row = self.targets.rows.get(current.record.key) if current is not None else None
        if row is not None:
            row.set_status({"uploading": "Uploading…", "processing": "Processing…",
                            "checking": "Checking…", "done": "✓ Done",
                            "failed": "⚠ Not done (see below)",
                            "cancelled": "Cancelled"}.get(phase, ""))

    @Slot(bool)
    def on_multi_busy(self, busy: bool) -> None:
        panel = self.upload_panel
        panel.cancel.setVisible(busy)
        panel.cancel.setEnabled(busy)
        panel.progress.setVisible(busy)
        panel.progress.setRange(0, 0)
        if busy:
            count = len(self.multi.running)
            panel.status.setText(f"Publishing to {count} account{'s' if count > 1 else ''}…"
                                 " Each one's progress is in the list.")
        self.sync_account_actions()

    @Slot(object)
    def on_multi_finished(self, summary: PublishSummary) -> None:
        done, failed = len(summary.done), len(summary.failed)
        total = done + failed
        if not failed:
            text = f"Done: the new picture is live on all {total} accounts."
        else:
            text = (f"Published to {done} of {total} accounts; {failed} did not finish "
                    "(see the list; Retry there). Your image and crop are kept.")
        self.upload_panel.status.setText(text)

    @Slot()
    def on_escape(self) -> None:
        if self.banner.isVisible():
            self.banner.hide()
        elif self.upload.busy:
            self.upload.cancel()
        elif self.multi.busy:
            self.multi.cancel()

    def show_activity(self, text: str, timeout_ms: int = 0) -> None:
        """A passing message in the bottom bar (opening, downloading, starting…)."""
        self.activity.setText(text)
        if timeout_ms:
            self._activity_timer.start(timeout_ms)
        else:
            self._activity_timer.stop()

    @Slot(bool)
    def on_banner_visibility(self, visible: bool) -> None:
        # The banner takes the activity line's place in the bar; the bar's height stays.
        self.activity.setVisible(not visible)
        self.upload_panel.status_box.setVisible(not visible)
        # The message takes the room; the primary action keeps its own size.
        self.bar_layout.setStretchFactor(self.upload_panel, 0 if visible else 3)

    @Slot(int)
    def on_document_frame_wanted(self, frame: int) -> None:
        if self.document.loaded is not None:
            self.loader.open_frame(self.document.loaded, frame)

    # -- image in -----------------------------------------------------------------
    @Slot(object)
    def open_request(self, request: ImageRequest) -> None:
        self.banner.hide()
        self.loader.open(request)

    def open_path(self, path: Path) -> None:
        from avatar_studio.gui.imageinput import ImageRequest

        self.open_request(ImageRequest(name=path.name, path=path))

    @Slot()
    def paste(self) -> None:
        from avatar_studio.gui.imageinput import Refusal, read_mime

        verdict = read_mime(QApplication.clipboard().mimeData(), what="paste")
        if isinstance(verdict, Refusal):
            self.banner.show_message(verdict.reason)
        else:
            self.open_request(verdict)

    @Slot(int, int)
    def on_loader_progress(self, received: int, total: int) -> None:
        of = f" of {total / 1e6:.1f} MB" if total else ""
        self.show_activity(f"Downloading… {received / 1e6:.1f} MB{of}")

    @Slot(object)
    def on_loader_loaded(self, loaded: LoadedImage) -> None:
        self.document.set_image(loaded)
        self.stack.setCurrentIndex(1)
        self.editor.setFocus()
        info = loaded.source.info
        self.show_activity(f"{info.name}: {info.format} {info.width}×{info.height}", 5000)
        self.setWindowTitle(f"{info.name} — {APP_NAME}")
        if loaded.path is not None:
            path, folder = str(loaded.path), str(loaded.path.parent)

            def remember(s: Settings) -> None:
                s.add_recent(path)
                s.last_open_dir = folder

            self.context.settings_writer.update(remember)
            remember(self.context.settings)

    @Slot(object)
    def on_framed(self, framed: Framed) -> None:
        """The first crop found after the centred first frame: move there, say why."""
        framing = framed.framing
        if not self.document.apply_first_crop(framed.loaded, framing.box):
            return
        text = {"face": "Framed on the face",
                "saliency": "Framed on the most detailed part",
                "centre": "Centred"}[framing.source]
        self.show_activity(
            f"{text} ({framing.reason}); Image › Centre Crop for the centred square", 8000)

    @Slot(object)
    def on_settings_failed(self, exc: BaseException) -> None:
        self.banner.show_error(exc)

    @Slot(object)
    def on_loader_failed(self, exc: BaseException) -> None:
        self.activity.clear()
        request = self.loader.last_request
        retry = (lambda: self.loader.open(request)) if request is not None else None
        self.banner.show_error(exc, retry=retry)

    @Slot(object)
    def on_current_account_changed(self, current: Current | None) -> None:
        """Preview for the limits of the account's service (Mastodon keeps animations):
        its default ones at once, then those of the account's server (a Mastodon
        instance's version decides its byte limit and alt text), so the preview is
        rendered as the upload will be."""
        if current is None:
            return
        try:
            spec = self._account_specs.get(current.record.key) or self.accounts.services(
                current.record.service).default_spec
        except KeyError:
            return
        self.previews.set_spec(spec)
        self._ask_spec(current.record, retry=True)

    @Slot(int)
    def on_frame_chosen(self, frame: int) -> None:
        if self.document.loaded is not None:
            self.loader.open_frame(self.document.loaded, frame)

    def fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.context.settings.recent_files
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(Path(p)))

    @Slot()
    def on_open_triggered(self) -> None:
        start = self.context.settings.last_open_dir
        path, _ = QFileDialog.getOpenFileName(self, "Open image", start, OPEN_FILTER)
        if path:
            self.open_requested.emit(Path(path))

    # -- accounts -----------------------------------------------------------------
    @Slot()
    def show_sign_in(self) -> SignInDialog:
        from avatar_studio.gui.signin import SERVICE, AppKeys, SignInDialog

        current = self.accounts.current
        # The sandbox's keys are its own: never offer them for X.
        consumer = (AppKeys(current.secret.get("api_key"), current.secret.get("api_secret"))
                    if current is not None and current.record.service == SERVICE
                    and not self.accounts.is_sandbox(current.record) else None)
        dialog = SignInDialog(self.context.runner, self.context.services,
                              self.context.sandbox, self, consumer=consumer,
                              store=self.store_sign_in,
                              keyring_refused=self.accounts.keyring_declined,
                              mastodon_sandbox=self.context.mastodon_sandbox,
                              bluesky_sandbox=self.context.bluesky_sandbox)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.sign_in_dialog_opened.emit(dialog)
        return dialog

    def store_sign_in(self, outcome: SignInOutcome, on_done: Callable[[], None],
                      on_error: Callable[[BaseException], None]) -> None:
        """The sign-in dialog's store: keyring (or memory) first, then it closes."""
        self.banner.hide()
        if outcome.keyring_refused:
            self.accounts.keyring_declined = True
        self.accounts.add(outcome.account, session_only=outcome.sandbox,
                          remember=not outcome.session_only,
                          on_done=lambda _record: on_done(), on_error=on_error)

    @Slot(object)
    def on_signed_in(self, outcome: SignInOutcome) -> None:
        self.banner.hide()
        self.accounts.add(outcome.account, session_only=outcome.session_only)

    def start_sandbox_demo(self) -> None:
        """``--sandbox``: start the embedded sandbox and sign in to its demo user."""
        from avatar_studio.gui.signin import sign_in_to_sandbox

        host, services = self.context.sandbox, self.context.services
        if host is None:
            return
        self.show_activity("Starting the sandbox…")

        def work(ctx: TaskContext) -> SignInOutcome:
            return sign_in_to_sandbox(host, services)

        def failed(exc: BaseException) -> None:
            self.banner.show_error(exc, retry=self.start_sandbox_demo)

        self.context.runner.run(work, on_success=self.on_signed_in, on_error=failed)

    # -- view ---------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        self.repaint_icons()  # now, not only when the palette event comes round
        self.context.settings.theme = name
        self.theme_actions[name].setChecked(True)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if self.is_ready and event.type() in (QEvent.Type.PaletteChange,
                                              QEvent.Type.ApplicationPaletteChange):
            self.repaint_icons()
        super().changeEvent(event)

    def repaint_icons(self) -> None:
        """Bundled icons and the fill swatch are drawn in the palette's colours."""
        self.icons.refresh()
        self.editor_actions.refresh_swatch()
        self.banner.repaint_icons()

    def about_text(self) -> str:
        return (f"<h3>{APP_NAME} {__version__}</h3>"
                "<p>Crop a picture once and set it as your profile picture on X, Mastodon "
                "and Bluesky. What you see in the exact preview is decoded from the very "
                "bytes that are uploaded.</p>"
                f"<p>Free software under the {LICENCE} licence. "
                f"<a href=\"{PROJECT_URL}\">Website and source code</a> · "
                f"<a href=\"{PROJECT_URL}/issues\">Report a problem</a></p>"
                f"<p>{APP_NAME} is not affiliated with, endorsed or sponsored by X Corp., "
                "Mastodon gGmbH or Bluesky Social PBC. X, Mastodon and Bluesky are "
                "trademarks of their owners.</p>"
                f"<p>Built with Qt {qVersion()} and PySide6.</p>")

    @Slot()
    def on_about_triggered(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, f"About {APP_NAME}", self.about_text(),
                          QMessageBox.StandardButton.Close, self)
        box.setObjectName("aboutDialog")
        box.setIconPixmap(self.windowIcon().pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def shortcuts_html(self) -> str:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in SHORTCUTS)
        return f"<table cellspacing=6>{rows}</table>"

    @Slot()
    def on_shortcuts_triggered(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard Shortcuts", self.shortcuts_html(),
                          QMessageBox.StandardButton.Close, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- closing ------------------------------------------------------------------
    def remember(self) -> None:
        """Write what closing keeps: the geometry and the editor's choices."""
        doc = self.document
        geometry = bytes(self.saveGeometry().toBase64().data()).decode()
        theme = self.context.settings.theme

        def change(s: Settings) -> None:
            s.window_geometry = geometry
            s.mask_shape = "circle" if doc.circle else "square"
            s.fill_color = doc.fill.name()
            s.fit_mode = doc.fit
            s.flatten_alpha = doc.flatten_alpha
            s.theme = theme

        writer = self.context.settings_writer
        writer.update(change)
        # Closing waits for it (and for the changes asked for before it).
        if not writer.flush(timeout=self.context.close_grace_s):
            log.warning("Closing: the settings are still being written")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self.is_ready:
            # Closed before the parts came: nothing was changed, nothing else runs; the
            # import (which cannot be stopped) finishes unseen.
            if self._parts_task is not None:
                self._parts_task.cancel()
            super().closeEvent(event)
            return
        self.remember()
        self.previews.stop()
        self.upload.cancel()
        self.hide()  # gone at once, even while a network step takes a moment to give up
        self.abandoned_work = not self.context.runner.shutdown(
            timeout=self.context.close_grace_s)
        self.context.publisher.close(wait=False)
        if self.abandoned_work:
            log.info("Closing: background work still waiting on the network is abandoned")
        if self.context.sandbox is not None:
            self.context.sandbox.stop()
        if self.context.mastodon_sandbox is not None:
            self.context.mastodon_sandbox.stop()
        if self.context.bluesky_sandbox is not None:
            self.context.bluesky_sandbox.stop()
        super().closeEvent(event)


class _FirstPaint(QObject):
    """Emits ``painted`` once, just after the first paint of what it filters."""

    painted = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and not self._seen:
            self._seen = True
            # Queued: the paint (and its flush to the screen) completes first.
            QTimer.singleShot(0, self.painted.emit)
        return False


def rule(parent: QWidget) -> QFrame:
    line = QFrame(parent)
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line
