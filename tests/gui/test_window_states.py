"""The window tells the truth and never loses work: undo/redo, Esc, Fit, transparency,
status, enabled actions, menus, About, errors (issue 13's defects, one test each)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from avatar_studio.core.history import History
from avatar_studio.core.settings import Settings
from avatar_studio.gui.accounts import sharp_variant
from avatar_studio.gui.errors import split_details
from avatar_studio.gui.mainwindow import SHORTCUTS, MainWindow
from PIL import Image, ImageDraw
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu

from tests.gui.helpers import make_context, near, quadrants, save_artifact, show_window


def _open(qtbot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_path(path)


def _logo(path: Path) -> Path:
    """Black text-like bars on transparency: what vanished on near-black previews."""
    im = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.rectangle((150, 250, 450, 350), fill=(0, 0, 0, 255))
    im.save(path)
    return path


def _activate(qtbot, window: MainWindow) -> None:
    """Shortcuts and focus need the active window (Xvfb has no window manager to give it)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)


def _key(window: MainWindow, sequence: str) -> None:
    """Press a window shortcut the way the user does (through the shortcut map)."""
    for action in window.actions():
        if any(s == QKeySequence(sequence) for s in action.shortcuts()) \
                and action.isEnabled():
            action.trigger()
            return
    raise AssertionError(f"no enabled action for {sequence}")


# -- undo and redo ----------------------------------------------------------------------

def test_history_merges_a_gesture_and_drops_redo_after_a_new_step() -> None:
    h: History[int] = History(0)
    assert not h.can_undo()
    h.record(1, "Move", merge="move")
    h.record(2, "Move", merge="move")  # same drag: one step
    h.seal()
    h.record(3, "Move", merge="move")  # next drag: a new step
    assert h.undo() == 2
    assert h.undo() == 0
    assert h.redo() == 2
    h.record(9, "Rotate")
    assert not h.can_redo()
    assert h.undo_label() == "Rotate"
    assert not h.record(9, "Rotate")  # no change, no step


def test_every_crop_edit_undoes_and_redoes_including_reset(qtbot, window: MainWindow,
                                                           tmp_path: Path) -> None:
    _open(qtbot, window, quadrants(tmp_path / "q.png", (800, 600)))
    doc, actions = window.document, window.editor_actions
    assert not actions.undo.isEnabled()
    states = [doc.snapshot()]
    window.editor.zoom_by(2.0)
    states.append(doc.snapshot())
    window.editor.pan_pixels(40, 10)
    states.append(doc.snapshot())
    for action in (actions.rotate_right, actions.flip_h, actions.flip_v, actions.fit):
        action.trigger()
        states.append(doc.snapshot())
    actions.set_fill(QColor("#123456"))
    states.append(doc.snapshot())
    _key(window, "Ctrl+0")  # reset is one more step, not a loss
    states.append(doc.snapshot())
    assert len(set(states)) == len(states)
    assert actions.undo.text() == "&Undo Reset Crop"
    for expected in reversed(states[:-1]):
        _key(window, "Ctrl+Z")
        assert doc.snapshot() == expected
    assert not actions.undo.isEnabled()
    assert not actions.fit.isChecked()  # the button follows the document back
    for expected in states[1:]:
        _key(window, "Ctrl+Shift+Z")
        assert doc.snapshot() == expected
    assert actions.fit.isChecked()
    assert actions.fill.isEnabled()


def test_undo_brings_back_the_frame_of_an_animation(qtbot, window: MainWindow,
                                                    tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (200, 200), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    _open(qtbot, window, path)
    with qtbot.waitSignal(window.loader.frame_loaded, timeout=10_000):
        window.preview_panel.frame_picker.setValue(2)
    loaded = window.document.loaded
    assert loaded is not None
    assert loaded.frame == 1
    with qtbot.waitSignal(window.loader.frame_loaded, timeout=10_000):
        _key(window, "Ctrl+Z")
    loaded = window.document.loaded
    assert loaded is not None
    assert loaded.frame == 0
    assert window.preview_panel.frame_picker.value() == 1


# -- Esc ----------------------------------------------------------------------------------

def test_esc_closes_the_banner_and_never_touches_the_crop(qtbot, window: MainWindow,
                                                          tmp_path: Path) -> None:
    _open(qtbot, window, quadrants(tmp_path / "q.png"))
    window.editor.zoom_by(2.0)
    window.editor_actions.rotate_right.trigger()
    state = window.document.state
    window.banner.show_message("Something to read")
    _activate(qtbot, window)
    window.editor.setFocus()
    qtbot.keyClick(window.editor, Qt.Key.Key_Escape)
    assert window.banner.isHidden()
    qtbot.keyClick(window.editor, Qt.Key.Key_Escape)
    assert state is not None
    assert window.document.state == state
    assert state.rotation == 90


def test_esc_during_an_upload_cancels_it_and_keeps_the_crop(qtbot, tmp_path: Path) -> None:
    window = show_window(qtbot, make_context(processing_delay=30.0))
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        window.start_sandbox_demo()
    _open(qtbot, window, quadrants(tmp_path / "q.png"))
    window.editor.zoom_by(1.7)
    state = window.document.state
    _activate(qtbot, window)
    qtbot.waitUntil(window.upload_panel.upload.isEnabled, timeout=10_000)
    with qtbot.waitSignal(window.upload.phase_changed,
                          check_params_cb=lambda p: p in ("processing", "checking"),
                          timeout=20_000):
        window.upload_panel.upload.click()
    with qtbot.waitSignal(window.upload.phase_changed,
                          check_params_cb=lambda p: p == "cancelled", timeout=20_000):
        qtbot.keyClick(window.editor, Qt.Key.Key_Escape)
    assert window.document.state == state


# -- Fit ----------------------------------------------------------------------------------

def test_fit_restored_from_settings_shows_as_on(qtbot) -> None:
    context = make_context()
    context.settings = Settings(fit_mode=True)
    window = MainWindow(context)
    qtbot.addWidget(window)
    assert window.document.fit
    assert window.editor_actions.fit.isChecked()


def test_f_fits_the_whole_picture(qtbot, window: MainWindow, tmp_path: Path) -> None:
    _open(qtbot, window, quadrants(tmp_path / "wide.png", (900, 300)))
    window.editor.zoom_by(3.0)
    _key(window, "F")
    model = window.document.model
    assert model is not None
    s = model.state
    # The square holds the whole 900×300 picture.
    assert s.size == pytest.approx(900)
    assert s.x <= 0
    assert s.y <= 0
    assert s.x + s.size >= 900
    assert s.y + s.size >= 300


# -- transparency -------------------------------------------------------------------------

def _is_checker(color: QColor) -> bool:
    return near(color, (0xC8, 0xC8, 0xC8), 4) or near(color, (0x8C, 0x8C, 0x8C), 4)


def test_transparency_is_a_checkerboard_everywhere_until_flattened(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.editor_actions.set_fill(QColor("#ff00ff"))
    window.editor_actions.fit.setChecked(False)
    _open(qtbot, window, _logo(tmp_path / "logo.png"))
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    frame = window.editor.frame_rect()
    shot = window.editor.grab().toImage()
    corner = shot.pixelColor(int(frame.left() + frame.width() * 0.5),
                             int(frame.top() + frame.height() * 0.1))
    assert _is_checker(corner), corner.name()
    big = window.preview_panel.big.pixmap().toImage()
    assert _is_checker(big.pixelColor(200, 20))
    assert near(big.pixelColor(200, 200), (0, 0, 0), 10)  # the black bar stays black
    small = window.preview_panel.rounds[73].pixmap().toImage()
    assert _is_checker(small.pixelColor(small.width() // 2, small.height() // 8))
    save_artifact(window, "50-transparency-checker")
    window.editor_actions.flatten.trigger()
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    shot = window.editor.grab().toImage()
    assert near(shot.pixelColor(int(frame.left() + frame.width() * 0.5),
                                int(frame.top() + frame.height() * 0.1)), (255, 0, 255), 8)
    big = window.preview_panel.big.pixmap().toImage()
    assert near(big.pixelColor(200, 20), (255, 0, 255), 8)


def test_fit_fills_only_around_the_picture_not_under_its_transparency(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "wide-alpha.png"
    im = Image.new("RGBA", (800, 400), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((0, 150, 800, 250), fill=(0, 0, 0, 255))
    im.save(path)
    window.editor_actions.set_fill(QColor("#00ff00"))
    _open(qtbot, window, path)
    _key(window, "F")
    qtbot.waitUntil(lambda: window.previews.current() is not None, timeout=10_000)
    big = window.preview_panel.big.pixmap().toImage()
    assert near(big.pixelColor(200, 20), (0, 255, 0), 8)   # the band around: fill
    assert _is_checker(big.pixelColor(200, 150))            # transparent inside: kept
    assert near(big.pixelColor(200, 200), (0, 0, 0), 10)


# -- status and enabled actions -----------------------------------------------------------

def test_nothing_to_act_on_means_disabled(qtbot, window: MainWindow) -> None:
    window.menuBar()  # menus built
    assert not window.upload_panel.upload.isEnabled()
    assert not window.upload_action.isEnabled()
    assert not window.account_panel.sign_out.isEnabled()
    assert not window.sign_out_action.isEnabled()
    assert not window.editor_actions.undo.isEnabled()
    assert not window.editor_actions.rotate_left.isEnabled()


def test_opaque_picture_cannot_be_flattened(qtbot, window: MainWindow, tmp_path: Path) -> None:
    _open(qtbot, window, quadrants(tmp_path / "q.png"))
    assert not window.editor_actions.flatten.isEnabled()
    _open(qtbot, window, _logo(tmp_path / "logo.png"))
    assert window.editor_actions.flatten.isEnabled()


def test_done_goes_away_when_the_crop_changes_and_sign_out_asks(qtbot, window: MainWindow,
                                                                 tmp_path: Path) -> None:
    with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
        window.start_sandbox_demo()
    assert window.account_panel.sandbox_badge.isVisibleTo(window)
    _open(qtbot, window, quadrants(tmp_path / "q.png"))
    qtbot.waitUntil(window.upload_panel.upload.isEnabled, timeout=10_000)
    with qtbot.waitSignal(window.upload.finished, timeout=30_000):
        window.upload_panel.upload.click()
    assert "Done" in window.upload_panel.status.text()
    window.editor.zoom_by(1.5)
    assert window.upload_panel.status.text() == ""
    assert not window.upload_panel.after.isVisibleTo(window)
    # Sign out asks first; Cancel keeps the account.
    window.account_panel.sign_out.click()
    box = window.account_panel.sign_out_box
    assert box is not None
    assert "keyring" in box.text()
    box.button(box.StandardButton.Cancel).click()
    assert window.accounts.current is not None


# -- menus, F1, About ---------------------------------------------------------------------

_SMALL = {"a", "an", "and", "as", "in", "of", "on", "or", "the", "to"}


def _menus(window: MainWindow) -> list[QMenu]:
    out: list[QMenu] = []
    todo = [a.menu() for a in window.menuBar().actions()]
    while todo:
        menu = todo.pop()
        if isinstance(menu, QMenu):
            out.append(menu)
            todo.extend(a.menu() for a in menu.actions() if a.menu() is not None)
    return out


def test_menus_are_title_case_with_mnemonics(qtbot, window: MainWindow) -> None:
    window.recent_menu.aboutToShow.emit()
    for menu in _menus(window):
        for action in menu.actions():
            if action.isSeparator() or menu is window.recent_menu:
                continue
            text = action.text()
            assert "&" in text, f"no mnemonic: {text!r} in {menu.title()!r}"
            words = re.findall(r"[A-Za-z][\w']*", text.replace("&", ""))
            for i, word in enumerate(words):
                if i and word.lower() in _SMALL:
                    continue
                assert word[0].isupper(), f"not title case: {text!r}"


def test_f1_lists_every_shortcut_of_the_window(qtbot, window: MainWindow) -> None:
    listed = " ".join(keys for keys, _ in SHORTCUTS)
    for action in window.actions():
        for seq in action.shortcuts():
            name = seq.toString()
            if name in ("Esc",) or len(name) == 1:
                name = name  # single keys are listed as they are
            assert name in listed.replace(" / ", " ").replace(",", " ") or \
                name in listed, f"{name} ({action.text()}) is not in the F1 list"


def test_about_has_licence_links_and_no_affiliation(qtbot, window: MainWindow) -> None:
    text = window.about_text()
    assert "licence" in text
    assert "href=" in text
    assert "not affiliated" in text
    for name in ("X", "Mastodon", "Bluesky"):
        assert name in text


# -- errors and avatars -------------------------------------------------------------------

def test_codes_move_to_the_details() -> None:
    plain, details = split_details("X had a server error (HTTP 503 130: Over capacity).")
    assert plain == "X had a server error."
    assert details == "HTTP 503 130: Over capacity"


def test_the_account_picture_is_drawn_from_a_large_variant_at_the_screen_ratio(
        qtbot, window: MainWindow) -> None:
    url = "https://pbs.twimg.com/profile_images/1/abc_normal.jpg"
    assert sharp_variant(url) == "https://pbs.twimg.com/profile_images/1/abc_200x200.jpg"
    assert sharp_variant("https://x/y.png") == "https://x/y.png"
    picture = QImage(200, 200, QImage.Format.Format_RGB32)
    picture.fill(QColor("#336699"))
    window.accounts.set_avatar(picture)
    pixmap = window.account_panel.picture.pixmap()
    ratio = window.account_panel.picture.devicePixelRatioF()
    assert pixmap.devicePixelRatio() == ratio
    assert pixmap.width() == round(48 * ratio)


def test_drop_overlay_hides_the_placeholder_text(qtbot, window: MainWindow) -> None:
    overlay = window.drops.overlay
    overlay.show_state(True, "Drop to open “me.png”")
    sheet = overlay.styleSheet()
    assert "rgba" not in sheet
    assert "palette(" in sheet
    # With no words of its own, the sheet shows nothing of the placeholder's below it.
    overlay.setText("")
    central = window.centralWidget()
    assert central is not None
    shot = central.grab().toImage()
    inside = overlay.geometry().adjusted(12, 12, -12, -12)
    colours = {shot.pixelColor(x, y).name()
               for x in range(inside.left(), inside.right(), 7)
               for y in range(inside.top(), inside.bottom(), 7)}
    assert colours == {QApplication.palette().highlight().color().name()}


def test_the_strip_follows_each_services_display_sizes_and_shape(qtbot) -> None:
    from avatar_studio.core.services import registry
    from avatar_studio.gui.previews import PreviewPanel

    mastodon = registry.default_spec("mastodon")
    panel = PreviewPanel(spec=registry.default_spec("x"))
    qtbot.addWidget(panel)
    assert tuple(panel.rounds) == (73, 48, 24)  # X's own sizes, round
    picture = QImage(400, 400, QImage.Format.Format_RGB32)
    picture.fill(QColor("#2050a0"))
    panel.show_image(picture, exact=True)
    corner = panel.rounds[48].pixmap().toImage().pixelColor(1, 1)
    assert corner.alpha() == 0  # outside the circle
    panel.spec = mastodon
    assert tuple(panel.rounds) == tuple(s for s in mastodon.display_sizes if s <= 96)
    small = min(panel.rounds)
    corner = panel.rounds[small].pixmap().toImage().pixelColor(1, 1)
    assert corner.alpha() == 255  # Mastodon shows a square
