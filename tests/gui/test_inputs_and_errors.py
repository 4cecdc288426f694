"""What a drop or paste holds, which action an error offers, and accessible controls."""

from __future__ import annotations

from pathlib import Path

import pytest
from avatar_studio.core.credentials import SecretsMissing
from avatar_studio.core.errors import UserFacingError
from avatar_studio.core.services.x import errors as xerr
from avatar_studio.gui.errors import Action, ErrorBanner, describe
from avatar_studio.gui.imageinput import ImageRequest, Refusal, read_mime
from avatar_studio.gui.mainwindow import MainWindow
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QAbstractButton, QComboBox, QSlider, QSpinBox

from tests.gui.helpers import make_context


def _mime(*, urls: list[QUrl] | None = None, text: str | None = None,
          data: tuple[str, bytes] | None = None, image: QImage | None = None) -> QMimeData:
    mime = QMimeData()
    if urls is not None:
        mime.setUrls(urls)
    if text is not None:
        mime.setText(text)
    if data is not None:
        mime.setData(*data)
    if image is not None:
        mime.setImageData(image)
    return mime


def test_read_mime(qtbot, tmp_path: Path) -> None:
    f = tmp_path / "a.png"
    f.write_bytes(b"x")
    got = read_mime(_mime(urls=[QUrl.fromLocalFile(str(f))]))
    assert got == ImageRequest(name="a.png", path=f)
    assert isinstance(read_mime(_mime(urls=[QUrl.fromLocalFile(str(f))] * 2)), Refusal)
    folder = read_mime(_mime(urls=[QUrl.fromLocalFile(str(tmp_path))]))
    assert isinstance(folder, Refusal)
    assert "folder" in folder.reason
    ftp = read_mime(_mime(urls=[QUrl("ftp://host/a.png")]))
    assert isinstance(ftp, Refusal)
    assert "ftp" in ftp.reason
    link = read_mime(_mime(urls=[QUrl("https://example.com/cat.jpg")]))
    assert link == ImageRequest(name="cat.jpg", url="https://example.com/cat.jpg")
    # A browser drag with bytes and a link: the bytes win (no download needed).
    both = read_mime(_mime(urls=[QUrl("https://example.com/cat.jpg")],
                           data=("image/jpeg", b"\xff\xd8\xffjpeg")))
    assert isinstance(both, ImageRequest)
    assert both.data == b"\xff\xd8\xffjpeg"
    assert both.name == "cat.jpg"
    # A bare QImage (e.g. copied from an image viewer) is handed on as it is: the loader
    # encodes it on its worker thread (see test_pasted_bare_image_opens).
    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    pasted = read_mime(_mime(image=image), what="paste")
    assert isinstance(pasted, ImageRequest)
    assert pasted.data is None
    assert pasted.image is not None
    assert pasted.image == image
    assert pasted.name == "pasted image"
    assert read_mime(_mime(text="https://example.com/x.png")) == ImageRequest(
        name="x.png", url="https://example.com/x.png")
    assert read_mime(_mime(text=str(f))) == ImageRequest(name="a.png", path=f)
    assert isinstance(read_mime(_mime(text="hello")), Refusal)
    assert isinstance(read_mime(QMimeData()), Refusal)
    assert isinstance(read_mime(None), Refusal)


@pytest.mark.parametrize(("exc", "action"), [
    (xerr.CredentialsRejected("no"), Action.SIGN_IN),
    (xerr.TokenRevoked("no"), Action.SIGN_IN),
    (SecretsMissing("gone"), Action.SIGN_IN),
    (xerr.AccessTierRefused("tier"), Action.HELP),
    (xerr.ReadOnlyApp("ro"), Action.HELP),
    (xerr.RateLimited("slow down"), Action.RETRY),
    (xerr.ServerError("500"), Action.RETRY),
    (xerr.NetworkError("down"), Action.RETRY),
    (xerr.UploadCancelled(), None),
    (UserFacingError("bad file"), Action.RETRY),
    (RuntimeError("bug"), Action.SHOW_LOG),
])
def test_each_error_gets_the_action_that_helps(exc: BaseException,
                                               action: Action | None) -> None:
    report = describe(exc)
    assert report.action is action
    assert report.message
    assert "Traceback" not in report.message


def test_cli_hints_stay_out_of_the_window() -> None:
    exc = xerr.TokenRevoked("Token revoked.", hint="Sign in again (avatar-studio-cli login).")
    assert describe(exc).message == "Token revoked."
    keep = xerr.ServerError("X is down.", hint="Try again in a minute.")
    assert describe(keep).message == "X is down.\nTry again in a minute."


def test_banner_retry_runs_the_step_again(qtbot) -> None:
    banner = ErrorBanner()
    qtbot.addWidget(banner)
    calls: list[int] = []
    banner.show_error(xerr.ServerError("X had a problem."), retry=lambda: calls.append(1))
    assert banner.isVisibleTo(banner.parentWidget() or banner) or not banner.isHidden()
    assert banner.action_button.text() == "Retry"
    banner.action_button.click()
    assert calls == [1]
    assert banner.isHidden()
    banner.show_error(xerr.ServerError("again"))  # no retry callable: no button
    assert banner.action_button.isHidden()
    with qtbot.waitSignal(banner.sign_in_requested):
        banner.show_error(xerr.TokenRevoked("revoked"))
        banner.action_button.click()


def test_every_control_has_an_accessible_name_or_text(qtbot) -> None:
    window = MainWindow(make_context())
    qtbot.addWidget(window)
    unnamed = []
    for kind in (QAbstractButton, QSlider, QComboBox, QSpinBox):
        for widget in window.findChildren(kind):
            name = widget.accessibleName() or (widget.text() if isinstance(
                widget, QAbstractButton) else "")
            if not name.strip() and not widget.objectName().startswith("qt_"):
                unnamed.append(f"{type(widget).__name__} {widget.objectName()!r}")
    assert unnamed == []
    tips = [a for a in window.editor_actions.all if not a.toolTip()]
    assert tips == []
    assert all(not a.shortcut().isEmpty() for a in window.editor_actions.all)
