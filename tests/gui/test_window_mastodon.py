"""The window with Mastodon: sign in on the Mastodon tab (the browser redirects to our
loopback listener), the preview plays the animation exactly as it will be uploaded, and
the sandbox instance stores that animated GIF."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from avatar_studio.core.credentials import CredentialStore, MemoryBackend
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox
from avatar_studio.core.services.base import Service
from avatar_studio.core.services.mastodon.apps import MemoryAppStore
from avatar_studio.core.services.mastodon.service import MastodonService
from avatar_studio.core.settings import Settings
from avatar_studio.gui.animationpreview import AnimationPlayer
from avatar_studio.gui.context import AppContext
from avatar_studio.gui.sandboxhost import SandboxHost
from avatar_studio.gui.tasks import TaskRunner
from PIL import Image, ImageSequence
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QImage

from tests.core.mastodon.helpers import approve
from tests.gui.helpers import FAST_X, save_artifact, show_window

pytestmark = pytest.mark.gui

FAST_MASTODON = MastodonService(apps=MemoryAppStore())
DURATIONS = [90, 130, 170, 210]


def services(key: str) -> Service:
    known: dict[str, Service] = {"x": FAST_X, "mastodon": FAST_MASTODON}
    return known[key]


def gif(path: Path) -> Path:
    frames = []
    for i in range(len(DURATIONS)):
        im = Image.new("RGB", (600, 450), (50 * i + 40, 200 - 40 * i, 120))
        im.paste((255, 255, 255), (0, 0, 600, 30))
        frames.append(im)
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=DURATIONS,
                   loop=0)
    return path


class _Browser(QObject):
    """The system browser: presses Authorize on the instance's page (on a thread, as a
    real browser is its own process) and follows the redirect to our listener."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []
        self.threads: list[threading.Thread] = []
        self.pages: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        address = url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
        self.opened.append(address)

        def user() -> None:
            with requests.Session() as web:
                answer = approve(web, address)
                self.pages.append(web.get(answer.headers["Location"], timeout=10).text)

        thread = threading.Thread(target=user)
        self.threads.append(thread)
        thread.start()


@pytest.fixture
def browser() -> Iterator[_Browser]:
    b = _Browser()
    QDesktopServices.setUrlHandler("http", b, "open")  # type: ignore[arg-type]
    yield b
    QDesktopServices.unsetUrlHandler("http")
    for thread in b.threads:
        thread.join(timeout=10)


def test_player_plays_each_frame_for_its_duration(qtbot):
    shown: list[int] = []
    frames = []
    for i in range(3):
        image = QImage(4, 4, QImage.Format.Format_RGB32)
        image.fill(i)
        frames.append(image)
    player = AnimationPlayer(lambda image: shown.append(image.pixel(0, 0) & 0xFF))
    player.play(frames, [30, 30, 30], loop=None)
    qtbot.waitUntil(lambda: shown == [0, 1, 2], timeout=2000)
    qtbot.wait(100)
    assert shown == [0, 1, 2]  # loop None: played once, then it stays on the last frame
    assert not player.playing


def test_window_signs_in_previews_the_animation_and_uploads_it(qtbot, tmp_path, browser):
    with MastodonSandbox() as instance:
        context = AppContext(runner=TaskRunner(),
                             store=CredentialStore(MemoryBackend(), services=services),
                             services=services,
                             sandbox=SandboxHost(SandboxConfig(processing_delay=0.3)),
                             settings=Settings(), preview_debounce_ms=50)
        window = show_window(qtbot, context)
        dialog = window.show_sign_in()
        page = dialog.mastodon_page
        dialog.choose("mastodon")
        page.instance.setText(instance.base_url)
        save_artifact(dialog, "26-sign-in-mastodon")
        with qtbot.waitSignal(window.accounts.current_changed, timeout=20_000):
            page.button.click()
        assert browser.opened[0].startswith(instance.base_url + "/oauth/authorize?")
        handle = f"@demo@{instance.base_url.split('//', 1)[1]}"
        assert window.account_panel.handle.text() == handle
        assert window.previews.spec.keeps_animation
        # Then the instance's own limits (4.6: 8 MB, alt text up to 1500 characters).
        qtbot.waitUntil(lambda: window.previews.spec.alt_text_max == 1500, timeout=10_000)
        assert window.previews.spec.max_bytes_exclusive == 8 * 1024 * 1024
        with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
            window.open_path(gif(tmp_path / "anim.gif"))
        qtbot.waitUntil(lambda: window.previews.current() is not None
                        and window.upload_panel.upload.isEnabled(), timeout=20_000)
        preview = window.previews.current()
        assert preview is not None
        assert preview.result.format == "GIF"
        player = window.previews.player
        assert player.frame_count == len(DURATIONS)
        qtbot.waitUntil(lambda: player.index >= 2, timeout=5_000)  # it plays
        assert "keeps the animation" in window.preview_panel.warnings.text()
        alt = window.alt_text
        qtbot.waitUntil(alt.isVisible, timeout=10_000)
        assert alt.maxLength() == 1500
        alt.setText("A colour-changing square")
        save_artifact(window, "36-mastodon-animated-preview")
        with qtbot.waitSignal(window.upload.finished, timeout=30_000) as done:
            window.upload_panel.upload.click()
        outcome = done.args[0]
        stored = instance.stored_avatar()
        assert stored is not None
        assert outcome.confirmed.avatar_url.endswith(f"{stored.key}.gif")
        # The sandbox holds exactly the animation the preview played.
        assert stored.data == preview.result.data
        with Image.open(io.BytesIO(stored.data)) as im:
            assert im.size == (400, 400)
            durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
        assert durations == DURATIONS
        assert instance.account().avatar_description == "A colour-changing square"
        # Sign out revokes the token the browser sign-in got.
        current = window.accounts.current
        assert current is not None
        token = current.secret["access_token"]
        assert not instance.state.tokens[token].revoked
        with qtbot.waitSignal(window.accounts.current_changed, timeout=10_000):
            window.accounts.sign_out()
        assert instance.state.tokens[token].revoked
        window.close()
        context.runner.shutdown()


def _page(qtbot: Any) -> tuple[Any, TaskRunner]:
    from avatar_studio.gui.signin_mastodon import MastodonSignInPage

    runner = TaskRunner()
    page = MastodonSignInPage(runner, services)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    return page, runner


def test_page_out_of_band_code(qtbot, browser):
    from tests.core.mastodon.helpers import CODE

    with MastodonSandbox() as instance:
        page, runner = _page(qtbot)
        page.instance.setText(instance.base_url)
        page.code_button.click()
        qtbot.waitUntil(lambda: page.code.isVisible() and bool(browser.pages), timeout=10_000)
        code = CODE.search(browser.pages[-1])
        assert code is not None
        assert "urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob" in browser.opened[-1]
        page.code.setText(code[1])
        with qtbot.waitSignal(page.signed_in, timeout=10_000) as signed:
            page.finish_button.click()
        assert signed.args[0].identity.account_id == instance.demo.account_id
        runner.shutdown()


def test_page_shows_the_error_inline(qtbot):
    page, runner = _page(qtbot)
    page.instance.setText("http://127.0.0.1:9")
    page.button.click()
    qtbot.waitUntil(lambda: page.error.isVisible(), timeout=10_000)
    assert "Could not reach 127.0.0.1:9" in page.error.text()
    assert page.button.isEnabled()
    runner.shutdown()


def test_sandbox_button_signs_in_for_this_session(qtbot):
    from avatar_studio.gui.sandboxhost import MastodonSandboxHost

    host = MastodonSandboxHost()
    context = AppContext(runner=TaskRunner(),
                         store=CredentialStore(MemoryBackend(), services=services),
                         services=services, sandbox=None, mastodon_sandbox=host,
                         settings=Settings(), preview_debounce_ms=50)
    window = show_window(qtbot, context)
    dialog = window.show_sign_in()
    page = dialog.mastodon_page
    dialog.choose("mastodon")
    assert page.sandbox_button.isVisible()
    with qtbot.waitSignal(window.accounts.current_changed, timeout=20_000):
        page.sandbox_button.click()
    current = window.accounts.current
    assert current is not None
    assert current.record.service == "mastodon"
    assert window.accounts.is_sandbox(current.record)  # this session only
    def running() -> bool:
        return host.running

    assert running()
    window.close()
    assert not running()  # stopped with the window
    context.runner.shutdown()
