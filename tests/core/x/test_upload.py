"""Upload with progress and cancel, then the asynchronous refresh, against the sandbox."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services.x.errors import (
    Cancelled,
    ImageRejected,
    NotPublishedYet,
    UploadCancelled,
)
from avatar_studio.core.services.x.refresh import variant_url
from PIL import Image

from tests.core.x.helpers import FAST_POLL, demo_client, files_under, noise_png


def test_upload_reports_progress_in_steps(sandbox: SandboxServer) -> None:
    client = demo_client(sandbox)
    before = client.verify_credentials()
    data = noise_png(300)
    steps: list[tuple[int, int]] = []
    user = client.upload_profile_image(data, mime_type="image/png", filename="me.png",
                                       progress=lambda s, t: steps.append((s, t)))
    total = steps[-1][1]
    assert total > len(data)  # the multipart framing around the raw bytes
    assert len(steps) >= 5
    sent = [s for s, _ in steps]
    assert sent == sorted(sent)
    assert sent[-1] == total
    assert all(t == total for _, t in steps)
    # Processing is asynchronous: the immediate answer still shows the old picture.
    assert user.user_id == before.user_id
    assert user.profile_image_url_https == before.profile_image_url_https


def test_cancel_mid_upload_changes_nothing(sandbox: SandboxServer,
                                           isolated_dirs: dict[str, Path]) -> None:
    client = demo_client(sandbox)
    before = client.verify_credentials()
    cancel = threading.Event()
    steps: list[int] = []

    def progress(sent: int, total: int) -> None:
        steps.append(sent)
        if len(steps) == 2:
            cancel.set()  # as if the user pressed Cancel while the bytes were going out

    data = noise_png(300)
    with pytest.raises(UploadCancelled) as exc:
        client.upload_profile_image(data, mime_type="image/png", filename="me.png",
                                    progress=progress, cancel=cancel)
    assert "not changed" in str(exc.value)
    assert len(steps) == 2
    assert steps[-1] < len(data)
    # The server got a truncated body and kept nothing: a later complete upload is the
    # only one ever processed.
    client.upload_profile_image(noise_png(64, seed=2), mime_type="image/png",
                                filename="me.png")
    result = client.wait_for_new_image(before.user_id, before.profile_image_url_https)
    original = client.download_image(variant_url(result.new_url, None))
    assert Image.open(io.BytesIO(original)).size == (64, 64)
    assert sandbox.processor.completed == 1
    assert sandbox.processor.pending == 0
    # And the client wrote nothing locally.
    assert files_under(*isolated_dirs.values()) == []


def test_refresh_waits_for_processing_and_fetches_400x400(sandbox: SandboxServer) -> None:
    client = demo_client(sandbox)
    before = client.verify_credentials()
    client.upload_profile_image(noise_png(400), mime_type="image/png", filename="me.png")
    attempts: list[int] = []
    result = client.wait_for_new_image(before.user_id, before.profile_image_url_https,
                                       on_attempt=attempts.append)
    assert result.new_url != before.profile_image_url_https
    assert result.user.profile_image_url_https == result.new_url
    assert result.image_url.endswith("_400x400.png")
    assert Image.open(io.BytesIO(result.image)).size == (400, 400)
    assert attempts == list(range(1, result.polls + 1))
    # The sandbox publishes after 0.3 s; the first poll (at 0.05 s) saw the old picture.
    assert result.polls > 1
    assert result.waited_s >= 0.3
    assert result.detect_to_return_s < 1.5
    assert client.show_user(before.user_id).profile_image_url_https == result.new_url


def test_never_finishing_processing_is_not_published_yet_and_recheckable(
        sandbox: SandboxServer) -> None:
    sandbox.faults.stall_processing(True)
    client = demo_client(sandbox, poll=replace(FAST_POLL, timeout_s=0.4))
    before = client.verify_credentials()
    client.upload_profile_image(noise_png(64), mime_type="image/png", filename="me.png")
    with pytest.raises(NotPublishedYet) as exc:
        client.wait_for_new_image(before.user_id, before.profile_image_url_https)
    err = exc.value
    assert err.exit_code == NotPublishedYet.exit_code
    assert "not published the new image yet" in err.message
    assert err.waited_s >= 0.4
    assert not err.cancelled
    # Nothing was lost: once X finishes, checking again with the kept values works.
    sandbox.faults.stall_processing(False)
    result = client.wait_for_new_image(err.user_id, err.old_url)
    assert result.new_url != before.profile_image_url_https


def test_stopping_the_wait_is_not_published_yet(sandbox: SandboxServer) -> None:
    sandbox.faults.stall_processing(True)
    client = demo_client(sandbox)
    before = client.verify_credentials()
    client.upload_profile_image(noise_png(64), mime_type="image/png", filename="me.png")
    cancel = threading.Event()
    with pytest.raises(NotPublishedYet) as exc:
        client.wait_for_new_image(before.user_id, before.profile_image_url_https,
                                  on_attempt=lambda n: cancel.set() if n == 2 else None,
                                  cancel=cancel)
    assert exc.value.cancelled


@pytest.mark.parametrize(("data", "words"), [
    (b"this is not an image", "unrecognized"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 800_000, ""),
])
def test_image_rejected_with_the_servers_words(sandbox: SandboxServer, data: bytes,
                                               words: str) -> None:
    client = demo_client(sandbox)
    with pytest.raises(ImageRejected) as exc:
        client.upload_profile_image(data, mime_type="image/png", filename="me.png")
    assert exc.value.status in (400, 413, 422)
    assert words in exc.value.message


def test_refresh_waits_for_the_rate_limit_reset_instead_of_exceeding_it(
        caplog: pytest.LogCaptureFixture) -> None:
    from avatar_studio.core.sandbox.config import SandboxConfig
    config = SandboxConfig(processing_delay=0.6, rate_window_s=1,
                           rate_limits={"verify_credentials": 75, "users_show": 2})
    with SandboxServer(config) as server:
        client = demo_client(server)
        before = client.verify_credentials()
        client.upload_profile_image(noise_png(64), mime_type="image/png", filename="a.png")
        with caplog.at_level("INFO", logger="avatar_studio.core.services.x"):
            result = client.wait_for_new_image(before.user_id, before.profile_image_url_https)
    assert result.new_url != before.profile_image_url_https
    messages = [r.getMessage() for r in caplog.records]
    assert any("rate limit used up; waiting" in m for m in messages)
    assert not any("429" in m for m in messages)


def test_a_cancel_stops_the_wait_for_an_answer_and_says_what_is_known(
        sandbox: SandboxServer) -> None:
    """Cancel while X holds its answer: the request ends at once. An upload whose bytes
    had all left may still be published (the message says so, not "not changed");
    any other request only stopped waiting."""
    client = demo_client(sandbox)
    me = client.verify_credentials()

    def show(cancel: threading.Event) -> object:
        return client.show_user(me.user_id, cancel=cancel)

    def upload(cancel: threading.Event) -> object:
        return client.upload_profile_image(noise_png(64), mime_type="image/png",
                                           filename="me.png", cancel=cancel)

    sandbox.faults.set_latency(60)
    try:
        for call in (show, upload):
            cancel = threading.Event()
            timer = threading.Timer(0.3, cancel.set)  # the user presses Cancel
            timer.start()
            try:
                with pytest.raises(Cancelled) as exc:
                    call(cancel)
            finally:
                timer.cancel()
            assert not isinstance(exc.value, UploadCancelled)
            assert "Stopped waiting for X's answer" in exc.value.message
    finally:
        sandbox.faults.set_latency(0)
    assert "may still publish" in exc.value.message  # the upload's
