"""The window's parts, built into the frame :class:`~avatar_studio.gui.mainwindow.MainWindow`
painted first: the document, the editor and its tools, the accounts, the previews, the
publish controllers and the menus' items, with their signals connected.

This module holds what the first paint must not wait for (Pillow, the publish use case,
the keyring, the face detector's wrapper…): the window imports it off the GUI thread once
it has painted (:meth:`MainWindow.build_later`), or at once when a test builds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from avatar_studio.core.imaging.faces import default_face_finder
from avatar_studio.gui.accounts import AccountManager, AccountPanel
from avatar_studio.gui.context import AppContext
from avatar_studio.gui.cropeditor import CropEditor
from avatar_studio.gui.document import CropDocument
from avatar_studio.gui.droptarget import DropHandler
from avatar_studio.gui.editortools import EditorActions, EditorToolbar
from avatar_studio.gui.errors import ErrorBanner
from avatar_studio.gui.loader import ImageLoader
from avatar_studio.gui.mainwindow import rule
from avatar_studio.gui.previews import PreviewController, PreviewPanel
from avatar_studio.gui.specpreviews import OtherSpecs
from avatar_studio.gui.targets import MultiPublish, TargetList
from avatar_studio.gui.theme import THEMES
from avatar_studio.gui.upload import UploadController, UploadPanel
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QKeySequence
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from avatar_studio.gui.mainwindow import MainWindow


def assemble(window: MainWindow, ctx: AppContext) -> None:
    """Build every part into ``window``'s frame, wire them, and restore the session."""
    settings = ctx.settings
    window.context = ctx
    central = window.drop_target
    window.document = CropDocument(window, circle=settings.mask_shape != "square",
                                   fill=QColor(settings.fill_color),
                                   flatten_alpha=settings.flatten_alpha)
    window.document.set_fit(settings.fit_mode)
    # Every photo opens centred at once, then framed on the face (loader.framed).
    window.loader = ImageLoader(ctx.runner, window, face_finder=default_face_finder)
    window.accounts = AccountManager(ctx.store, ctx.runner, ctx.services, window,
                                     write_settings=ctx.settings_writer.update)

    window.banner = ErrorBanner(central)
    window.editor = CropEditor(window.document, central, runner=ctx.runner)
    window.editor_actions = EditorActions(window.document, window.editor, window)
    window.toolbar = EditorToolbar(window.document, window.editor_actions, central)
    editor_page = QWidget(central)
    editor_layout = QVBoxLayout(editor_page)
    editor_layout.setContentsMargins(0, 0, 0, 0)
    editor_layout.addWidget(window.editor, 1)
    editor_layout.addWidget(window.toolbar)
    window.stack.addWidget(editor_page)

    window.account_panel = AccountPanel(window.accounts, central)
    window.preview_panel = PreviewPanel(central)
    window.previews = PreviewController(window.document, window.preview_panel, ctx.runner,
                                        window, debounce_ms=ctx.preview_debounce_ms)
    window.upload_panel = UploadPanel(central)
    window.upload = UploadController(window.document, window.previews, window.accounts,
                                     ctx.runner, window.upload_panel, window.banner, window,
                                     publisher=ctx.publisher)
    side = window.side_column
    right = window.side_layout
    right.addWidget(window.account_panel)
    # The targets go under the editor: the side column's height is the exact
    # preview's, and an account list there would push it out of a 700 px window.
    window.targets = TargetList(window.accounts, central)
    window.alt_text = QLineEdit(central)
    window.alt_text.setObjectName("altText")
    window.alt_text.setAccessibleName("Alt text for the picture")
    window.alt_text.setPlaceholderText("Describe the picture (alt text)")
    window.alt_text.hide()
    right.addWidget(rule(side))
    right.addWidget(window.preview_panel, 1)

    # The bottom bar: banner, activity line, upload status and the primary action.
    bar = window.bar_layout
    window.banner.setParent(window.action_bar)
    window.upload_panel.setParent(window.action_bar)
    bar.insertWidget(0, window.banner, 3)
    bar.addWidget(window.upload_panel, 3)
    window.banner.visibility_changed.connect(window.on_banner_visibility)

    left = window.left_layout
    left.addWidget(window.targets)
    #: Each account's own RenderSpec, once its service was asked (by account key).
    window.multi = MultiPublish(window.document, window.previews, window.accounts,
                                window.targets, ctx.publisher, window,
                                alt_text=window.alt_text.text)
    # One Publish action for one account or many: the button and Ctrl+U go here.
    window.upload_panel.upload.clicked.disconnect(window.upload.start)
    window.upload_panel.upload.clicked.connect(window.publish)
    window.upload_panel.cancel.clicked.connect(window.multi.cancel)
    window.upload.alt_text = window.alt_text.text
    window.other_specs = OtherSpecs(window.document, window.previews, ctx.runner,
                                    window.target_specs, central,
                                    cache=window.multi.cache_for_now)
    left.addWidget(window.other_specs)
    left.addWidget(window.alt_text)
    window.drops = DropHandler(central)

    _fill_menus(window)
    _connect(window)
    if not window.isVisible():
        # Built before it is shown (tests): size it to its parts. Built into the shown
        # frame, it keeps the frame's size, which was made for them (hidden children do
        # not count in a layout's size until their show, a turn of the event loop later).
        window.fit_to_screen()
        if settings.window_geometry:
            window.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode()))
    window.accounts.select_initial(settings.last_account)


def _connect(w: MainWindow) -> None:
    w.drops.requested.connect(w.open_request)
    w.drops.refused.connect(w.banner.show_message)
    w.loader.started.connect(lambda what: w.show_activity(f"Opening {what}…"))
    w.document.frame_wanted.connect(w.on_document_frame_wanted)
    w.loader.progress.connect(w.on_loader_progress)
    w.loader.loaded.connect(w.on_loader_loaded)
    w.loader.framed.connect(w.on_framed)
    w.loader.frame_loaded.connect(w.document.set_frame)
    w.loader.failed.connect(w.on_loader_failed)
    w.preview_panel.frame_chosen.connect(w.on_frame_chosen)
    w.previews.failed.connect(lambda exc: w.banner.show_error(exc))
    # Queued to the GUI thread: the window is the receiver.
    w.settings_failed.connect(w.on_settings_failed)
    w.context.settings_writer.on_error = w.settings_failed.emit
    w.accounts.current_changed.connect(w.on_current_account_changed)
    w.accounts.failed.connect(lambda exc, retry: w.banner.show_error(exc, retry=retry))
    w.accounts.keyring_failed.connect(
        lambda exc, retry, keep: w.banner.show_error(exc, retry=retry, keep_for_session=keep))
    w.accounts.sign_in_needed.connect(w.show_sign_in)
    w.account_panel.sign_in_requested.connect(w.show_sign_in)
    w.banner.sign_in_requested.connect(w.show_sign_in)
    w.open_requested.connect(w.loader.open_path)


def _fill_menus(w: MainWindow) -> None:
    """The items of the menus the frame already shows (so the menu bar never jumps)."""
    w.icons = w.editor_actions.icons
    file_menu = w.menus["file"]
    w.open_action = QAction("&Open…", w)
    w.open_action.setShortcut(QKeySequence.StandardKey.Open)
    w.open_action.setToolTip("Open an image file")
    w.open_action.triggered.connect(w.on_open_triggered)
    file_menu.addAction(w.open_action)
    w.recent_menu = file_menu.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(w.fill_recent)
    w.paste_action = QAction("&Paste Image", w)
    w.paste_action.setShortcut(QKeySequence.StandardKey.Paste)
    w.paste_action.triggered.connect(w.paste)
    file_menu.addAction(w.paste_action)
    file_menu.addSeparator()
    w.quit_action = QAction("&Quit", w)
    w.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
    w.quit_action.triggered.connect(w.close)
    file_menu.addAction(w.quit_action)

    edit_menu = w.menus["edit"]
    for action in w.editor_actions.edit_actions:
        edit_menu.addAction(action)
        w.addAction(action)
    edit_menu.addSeparator()
    # Esc: close the message, else cancel what runs; never a change to the crop.
    w.escape_action = QAction("&Dismiss or Cancel", w)
    w.escape_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
    w.escape_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    w.escape_action.setToolTip("Close the message, or cancel the upload in progress")
    w.escape_action.triggered.connect(w.on_escape)
    edit_menu.addAction(w.escape_action)
    w.addAction(w.escape_action)

    image_menu = w.menus["image"]
    actions = w.editor_actions
    groups = [[actions.rotate_left, actions.rotate_right, actions.flip_h, actions.flip_v],
              [actions.circle, actions.fit, actions.fill, actions.flatten],
              [actions.reset, actions.centre_crop]]
    for i, group in enumerate(groups):
        if i:
            image_menu.addSeparator()
        for action in group:
            image_menu.addAction(action)
            w.addAction(action)

    account_menu = w.menus["account"]
    w.sign_in_action = QAction("&Sign In…", w)
    w.sign_in_action.triggered.connect(w.show_sign_in)
    account_menu.addAction(w.sign_in_action)
    w.upload_action = QAction("&Upload as Profile Picture", w)
    w.upload_action.setShortcut(QKeySequence("Ctrl+U"))
    w.upload_action.triggered.connect(w.publish)
    account_menu.addAction(w.upload_action)
    account_menu.addSeparator()
    w.sign_out_action = QAction("Sign &Out…", w)
    w.sign_out_action.triggered.connect(w.account_panel.confirm_sign_out)
    account_menu.addAction(w.sign_out_action)
    account_menu.aboutToShow.connect(w.sync_account_actions)
    w.accounts.current_changed.connect(w.sync_account_actions)
    w.document.image_changed.connect(w.sync_account_actions)
    # After the upload controller's own update (connected earlier): the window's
    # targets have the last word on what Publish may do.
    w.document.crop_changed.connect(w.sync_account_actions)
    w.upload.phase_changed.connect(w.sync_account_actions)
    w.upload.phase_changed.connect(w.on_single_phase)
    w.targets.targets_changed.connect(w.sync_account_actions)
    w.multi.busy_changed.connect(w.on_multi_busy)
    w.multi.finished.connect(w.on_multi_finished)
    w.multi.lane_event.connect(lambda _event: w.sync_account_actions())

    view_menu = w.menus["view"]
    theme_menu = view_menu.addMenu("&Theme")
    theme_group = QActionGroup(w)
    w.theme_actions = {}
    for name, label in zip(THEMES, ("&System", "&Light", "&Dark"), strict=True):
        action = QAction(label, w, checkable=True)
        action.setChecked(name == w.context.settings.theme)
        action.triggered.connect(lambda _=False, n=name: w.set_theme(n))
        theme_group.addAction(action)
        theme_menu.addAction(action)
        w.theme_actions[name] = action

    help_menu = w.menus["help"]
    w.shortcuts_action = QAction("&Keyboard Shortcuts", w)
    w.shortcuts_action.setShortcut(QKeySequence.StandardKey.HelpContents)
    w.shortcuts_action.triggered.connect(w.on_shortcuts_triggered)
    help_menu.addAction(w.shortcuts_action)
    w.about_action = QAction(f"&About {w.app_name}", w)
    w.about_action.triggered.connect(w.on_about_triggered)
    help_menu.addAction(w.about_action)
    w.sync_account_actions()
