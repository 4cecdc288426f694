"""Layout that never jumps and fits 1024×700, theming by palette roles with AA contrast,
themed icons with bundled fallbacks, focus rings (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from avatar_studio.gui import theme
from avatar_studio.gui.icons import bundled_names, fallback_icon
from avatar_studio.gui.mainwindow import MainWindow
from avatar_studio.gui.signin import SignInDialog
from avatar_studio.gui.theme import apply_theme, contrast, dark_palette, light_palette
from PIL import Image
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from tests.gui.helpers import quadrants, save_artifact

ROLE, GROUP = QPalette.ColorRole, QPalette.ColorGroup
AA = 4.5
TEXT_PAIRS = [(ROLE.WindowText, ROLE.Window), (ROLE.Text, ROLE.Base),
              (ROLE.ButtonText, ROLE.Button), (ROLE.HighlightedText, ROLE.Highlight),
              (ROLE.ToolTipText, ROLE.ToolTipBase), (ROLE.PlaceholderText, ROLE.Base),
              (ROLE.Link, ROLE.Base), (ROLE.Text, ROLE.AlternateBase),
              (ROLE.WindowText, ROLE.AlternateBase)]


@pytest.fixture
def app(qapp) -> Iterator[QApplication]:
    instance = qapp
    assert isinstance(instance, QApplication)
    yield instance
    apply_theme(instance, "system")  # back to the platform's own for the next tests


def _open(qtbot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(path)


def _in_window(window: MainWindow, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


def _text_contrast(label: QLabel) -> float:
    palette = label.palette()
    background = label.backgroundRole()
    parent = label.parentWidget()
    # A label paints no background of its own: what is behind it is its parent's.
    if not label.autoFillBackground() and parent is not None:
        back = parent.palette().color(parent.backgroundRole())
        if parent.objectName() == "errorBanner":
            back = parent.palette().color(ROLE.AlternateBase)
    else:
        back = palette.color(background)
    return contrast(palette.color(label.foregroundRole()), back)


# -- palettes -------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [light_palette, dark_palette], ids=["light", "dark"])
def test_text_in_both_palettes_meets_wcag_aa(make) -> None:
    palette = make()
    for fg, bg in TEXT_PAIRS:
        ratio = contrast(palette.color(GROUP.Active, fg), palette.color(GROUP.Active, bg))
        assert ratio >= AA, f"{fg.name} on {bg.name}: {ratio:.2f}"


def test_dark_separators_and_frames_do_not_glare() -> None:
    palette = dark_palette()
    window = palette.color(ROLE.Window)
    # Fusion draws separators and sunken lines with Light and Dark: in a dark palette
    # they stay near the window colour (a white Light glared before).
    assert contrast(palette.color(ROLE.Light), window) < 2.0
    assert contrast(palette.color(ROLE.Dark), window) < 2.0


def test_system_theme_follows_the_colour_scheme(app, monkeypatch) -> None:
    monkeypatch.setattr(theme, "system_scheme", lambda: Qt.ColorScheme.Dark)
    apply_theme(app, "system")
    assert app.palette().color(ROLE.Window) == dark_palette().color(ROLE.Window)
    monkeypatch.setattr(theme, "system_scheme", lambda: Qt.ColorScheme.Light)
    apply_theme(app, "system")
    assert app.palette().color(ROLE.Window) == light_palette().color(ROLE.Window)


def test_window_text_keeps_aa_contrast_in_both_themes_after_switching(
        qtbot, app, window: MainWindow) -> None:
    window.banner.show_message("The keyring is locked.")
    dialog = SignInDialog(window.context.runner, window.context.services, None, window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.choose("x")
    dialog.x_page.show_error(dialog.x_page.pin_error, "That did not work.")
    for name in ("dark", "light", "dark"):
        window.set_theme(name)
        QApplication.processEvents()  # the palette reaches the widgets by events
        expected = app.palette().color(ROLE.WindowText)
        labels = [window.account_panel.name, window.account_panel.handle,
                  window.banner.label, window.preview_panel.badge, window.activity,
                  window.upload_panel.status, dialog.x_page.pin_error]
        for label in labels:
            ratio = _text_contrast(label)
            assert ratio >= AA, f"{name}: {label.objectName() or label.text()!r} {ratio:.2f}"
        # Nothing keeps a colour of the theme before (a style sheet pinned the name's).
        assert window.account_panel.name.palette().color(ROLE.WindowText) == expected
        save_artifact(window, f"60-theme-{name}")


def test_checked_guide_toggle_is_visible_in_dark(qtbot, app, window: MainWindow,
                                                 tmp_path: Path) -> None:
    window.set_theme("dark")
    _open(qtbot, window, quadrants(tmp_path / "q.png"))
    button = window.toolbar.buttons["Circle Guide"]
    window.editor_actions.circle.setChecked(True)
    on = button.grab().toImage()
    window.editor_actions.circle.setChecked(False)
    off = button.grab().toImage()
    # The two states differ across a good part of the button, not in a pixel or two.
    differ = sum(1 for x in range(0, on.width(), 2) for y in range(0, on.height(), 2)
                 if on.pixelColor(x, y) != off.pixelColor(x, y))
    assert differ > (on.width() * on.height() / 4) * 0.2


def test_unchecked_menu_check_boxes_and_the_banner_close_button_show_in_dark(
        qtbot, app, window: MainWindow) -> None:
    from PySide6.QtWidgets import QMenu

    window.set_theme("light")
    QApplication.processEvents()
    light_close = window.banner.close_button.icon().pixmap(16, 16).toImage()
    window.set_theme("dark")
    QApplication.processEvents()
    # The close button is redrawn in the dark palette's ink (it kept the light one).
    dark_close = window.banner.close_button.icon().pixmap(16, 16).toImage()
    assert dark_close != light_close
    ink = app.palette().color(ROLE.ButtonText)
    solid = [dark_close.pixelColor(x, y) for x in range(16) for y in range(16)
             if dark_close.pixelColor(x, y).alpha() == 255]
    assert solid
    assert all(abs(c.red() - ink.red()) < 3 for c in solid)
    # An unchecked check box in a menu is drawn, not left invisible.
    menu = QMenu()
    qtbot.addWidget(menu)
    action = menu.addAction("&Circle Guide")
    action.setCheckable(True)
    action.setChecked(False)
    menu.ensurePolished()
    menu.adjustSize()
    shot = menu.grab().toImage()  # drawn as it would pop up (popping up warns offscreen)
    box = menu.actionGeometry(action)
    back = app.palette().color(ROLE.Window)
    indicator = [shot.pixelColor(x, y) for x in range(box.left(), box.left() + box.height())
                 for y in range(box.top(), box.bottom())]
    assert max(contrast(c, back) for c in indicator) >= 3.0


# -- icons ----------------------------------------------------------------------------------

NEEDED = ("object-rotate-left", "object-rotate-right", "object-flip-horizontal",
          "object-flip-vertical", "zoom-fit-best", "zoom-original", "edit-undo",
          "edit-redo", "draw-circle", "dialog-error", "window-close", "edit-copy")


def test_every_icon_has_a_bundled_fallback_drawn_in_the_palette_ink() -> None:
    assert set(NEEDED) <= set(bundled_names())
    for make in (light_palette, dark_palette):
        palette = make()
        ink = palette.color(ROLE.ButtonText)
        for name in NEEDED:
            image = fallback_icon(name, palette).pixmap(32, 32).toImage().convertToFormat(
                QImage.Format.Format_ARGB32)
            solid = [image.pixelColor(x, y) for x in range(image.width())
                     for y in range(image.height()) if image.pixelColor(x, y).alpha() == 255]
            assert solid, name
            assert all(abs(c.red() - ink.red()) < 3 and abs(c.green() - ink.green()) < 3
                       for c in solid), name


def test_toolbar_shows_icons_not_glyphs(qtbot, window: MainWindow) -> None:
    for text, button in window.toolbar.buttons.items():
        assert not button.icon().isNull(), text
        assert button.accessibleName()
        assert all(ord(ch) < 0x2190 for ch in button.text()), button.text()


def test_fill_swatch_is_outlined_so_white_shows(qtbot, window: MainWindow) -> None:
    window.editor_actions.set_fill(QColor("#ffffff"))
    image = window.editor_actions.fill.icon().pixmap(24, 24).toImage()
    ink = QApplication.palette().color(ROLE.WindowText)
    edge = image.pixelColor(12, 1)
    assert abs(edge.red() - ink.red()) < 90
    assert edge.alpha() > 100


# -- focus and zoom ------------------------------------------------------------------------

def test_the_canvas_shows_a_focus_ring_and_the_zoom_value(qtbot, window: MainWindow,
                                                          tmp_path: Path) -> None:
    _open(qtbot, window, quadrants(tmp_path / "q.png"))
    window.editor.zoom_by(2.0)
    assert window.toolbar.zoom_value.text() == "200 %"
    highlight = window.editor.palette().highlight().color()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.toolbar.zoom.setFocus()
    qtbot.waitUntil(lambda: not window.editor.hasFocus())
    unfocused = window.editor.grab().toImage().pixelColor(1, window.editor.height() // 2)
    window.editor.setFocus()
    qtbot.waitUntil(window.editor.hasFocus)
    focused = window.editor.grab().toImage().pixelColor(1, window.editor.height() // 2)
    assert focused == highlight
    assert unfocused != highlight
    assert not window.side_scroll.focusPolicy()  # the column never takes focus unseen


# -- layout ---------------------------------------------------------------------------------

def _animated(path: Path) -> Path:
    frames = [Image.new("RGBA", (300, 200), c) for c in ((255, 0, 0, 128), (0, 0, 255, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def test_at_1024_by_700_everything_is_in_view_and_nothing_jumps(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.resize(1024, 700)
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        window.start_sandbox_demo()
    _open(qtbot, window, _animated(tmp_path / "anim.gif"))  # all the warnings at once
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    qtbot.waitUntil(window.upload_panel.upload.isEnabled, timeout=10_000)
    assert window.size().width() == 1024
    assert window.size().height() == 700
    inside = window.rect()
    upload = _in_window(window, window.upload_panel.upload)
    assert inside.contains(upload)
    assert window.side_scroll.verticalScrollBar().maximum() == 0
    assert inside.contains(_in_window(window, window.preview_panel.big))
    editor = _in_window(window, window.editor)
    frame = window.editor.frame_rect()
    save_artifact(window, "70-small-window")

    window.banner.show_message("A long error message that wraps onto a second line so it "
                               "needs more room than a one-line status does, and more.")
    QApplication.processEvents()
    assert _in_window(window, window.editor) == editor
    assert window.editor.frame_rect() == frame
    assert inside.contains(_in_window(window, window.upload_panel.upload))
    window.banner.hide()

    with qtbot.waitSignal(window.upload.finished, timeout=30_000):
        window.upload_panel.upload.click()
    QApplication.processEvents()
    assert window.upload_panel.after.isVisibleTo(window)
    assert _in_window(window, window.editor) == editor
    assert window.side_scroll.verticalScrollBar().maximum() == 0
    for caption in (window.upload_panel.before_caption, window.upload_panel.after_caption):
        assert inside.contains(_in_window(window, caption))
        assert caption.height() >= caption.sizeHint().height()
    save_artifact(window, "71-small-window-done")


def _tab_stops(window: MainWindow) -> list[QWidget]:
    """Every widget Tab can reach in the window as the user sees it."""
    stops = []
    for widget in window.findChildren(QWidget):
        if (widget.isVisibleTo(window) and widget.isEnabled() and widget.width() > 0
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
                and widget.window() is window):
            stops.append(widget)
    return stops


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_tab_stop_shows_that_it_has_the_focus(qtbot, app, window: MainWindow,
                                                   tmp_path: Path, scheme: str) -> None:
    # "Visible focus rings everywhere": for each widget Tab reaches, its own pixels differ
    # between having the focus and not having it, in both themes.
    apply_theme(app, scheme)
    _open(qtbot, window, quadrants(tmp_path / "q.png"))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    stops = _tab_stops(window)
    assert len(stops) >= 8, [type(w).__name__ for w in stops]
    unseen = []
    for widget in stops:
        parking = next(w for w in stops if w is not widget)
        parking.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(lambda p=parking: p.hasFocus(), timeout=2_000)
        without = widget.grab().toImage()
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(widget.hasFocus, timeout=2_000)
        with_focus = widget.grab().toImage()
        if with_focus == without:
            name = widget.objectName() or widget.toolTip()
            unseen.append(f"{type(widget).__name__}({name})")
    assert unseen == [], "\n".join(unseen)
