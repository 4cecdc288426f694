"""A signed-in Mastodon session against the sandbox: the picture as stored there (still
and animated), alt text, progress and cancel, and every error class from its faults."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from avatar_studio.core.imaging.animation import render_animation
from avatar_studio.core.imaging.crop import CropModel
from avatar_studio.core.imaging.render import render
from avatar_studio.core.imaging.source import ImageSource
from avatar_studio.core.sandbox.mastodon.config import MastodonSandboxConfig
from avatar_studio.core.services import errors
from avatar_studio.core.services.base import Publication, SignInKind, SignInRequest
from avatar_studio.core.services.mastodon.apps import MemoryAppStore
from avatar_studio.core.services.mastodon.client import RetryPolicy
from avatar_studio.core.services.mastodon.service import MastodonService, MastodonSession
from PIL import Image, ImageSequence

from tests.core.imaging.test_animation import DURATIONS, LEFT, RIGHT, H, W, quadrant_gif
from tests.core.mastodon.helpers import png

LEGACY = MastodonSandboxConfig(version="4.2.10")


@pytest.fixture
def service() -> MastodonService:
    return MastodonService(apps=MemoryAppStore(), retry=RetryPolicy(attempts=2,
                                                                    base_delay_s=0.01))


@pytest.fixture
def session(sandbox, service) -> Iterator[MastodonSession]:
    attempt = service.sign_in(SignInRequest(SignInKind.TOKENS, identifier=sandbox.base_url))
    account = attempt.with_tokens({"access_token": sandbox.demo.access_token})
    opened = service.open_session(account.identity, account.secret)
    yield opened
    opened.close()


def still_picture(alt_text: str = "") -> Publication:
    data = png((400, 400), (10, 120, 200))
    return Publication(data, "image/png", "avatar.png", 400, 400, alt_text=alt_text)


def animated_picture() -> tuple[Publication, object]:
    source = ImageSource.open_bytes(quadrant_gif(), name="anim.gif")
    model = CropModel(W, H)
    model.set_source_box(0, 0, 400)
    result = render_animation(source, model.state, spec=render_spec_4_6())
    return Publication(result.data, result.mime_type, "avatar.gif", result.width,
                       result.height, frames=result.frame_count), result


def render_spec_4_6() -> Any:
    from avatar_studio.core.services.mastodon import spec

    return spec.render_spec((4, 6, 0), 1500)


def near(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return bool(max(abs(int(a) - b) for a, b in zip(pixel, colour, strict=True)) < 25)


def test_render_spec_from_the_instance(session):
    spec = session.render_spec()
    assert spec.max_bytes_exclusive == 8 * 1024 * 1024
    assert spec.formats == ("JPEG", "PNG", "GIF", "WEBP")
    assert (spec.output_side, spec.keeps_animation, spec.alt_text_max) == (400, True, 1500)


@pytest.mark.parametrize("sandbox_config", [LEGACY])
def test_render_spec_before_4_6(session):
    spec = session.render_spec()
    assert (spec.max_bytes_exclusive, spec.alt_text_max) == (2 * 1024 * 1024, 0)


def test_still_upload_with_progress_and_alt_text(sandbox, session):
    sent: list[tuple[int, int]] = []
    receipt = session.publish(still_picture("A blue square"),
                              progress=lambda a, b: sent.append((a, b)))
    assert receipt.old_avatar_url.endswith("/avatars/original/missing.png")
    assert receipt.token.endswith(".png")
    assert receipt.token != receipt.old_avatar_url
    assert sent[-1][0] == sent[-1][1]
    assert sent[-1][1] > 0
    confirmed = session.confirm(receipt)
    stored = sandbox.stored_avatar()
    assert stored is not None
    assert confirmed.image == stored.data
    assert sandbox.account().avatar_description == "A blue square"
    with Image.open(io.BytesIO(stored.data)) as im:
        assert im.size == (400, 400)
        assert im.convert("RGB").getpixel((5, 5)) == (10, 120, 200)


def test_animated_gif_stored_with_every_frame_cropped(sandbox, session):
    picture, _result = animated_picture()
    receipt = session.publish(picture)
    assert receipt.token.endswith(".gif")
    stored = sandbox.stored_avatar()
    assert stored is not None
    assert stored.frames == len(DURATIONS)
    assert stored.static_data is not None
    assert stored.data == picture.data  # a square <= 400 px is kept byte for byte
    with Image.open(io.BytesIO(stored.data)) as im:
        assert im.size == (400, 400)
        durations, frames = [], []
        for frame in ImageSequence.Iterator(im):
            durations.append(frame.info["duration"])
            frames.append(frame.convert("RGB"))
        assert durations == list(DURATIONS)
        for i, rgb in enumerate(frames):
            assert near(rgb.getpixel((100, 200)), LEFT[i])
            assert near(rgb.getpixel((350, 200)), RIGHT[i])
    me = session.whoami()
    assert me.avatar_url == receipt.token


@pytest.mark.parametrize("sandbox_config", [LEGACY])
def test_alt_text_not_sent_where_unsupported(sandbox, session):
    assert "does not store alt text" in session.alt_text_note("Blue")
    session.publish(still_picture("Blue"))
    assert sandbox.account().avatar_description == ""


def test_alt_text_too_long(sandbox, session):
    with pytest.raises(errors.ImageRejected) as caught:
        session.publish(still_picture("x" * 1501))
    assert caught.value.exit_code == 49
    assert sandbox.stored_avatar() is None


def test_cancel_before_the_last_byte(sandbox, session):
    cancel = threading.Event()
    big = Image.effect_noise((1200, 1200), 90).convert("RGB")
    buf = io.BytesIO()
    big.save(buf, "PNG")
    picture = Publication(buf.getvalue(), "image/png", "a.png", 1200, 1200)

    def progress(sent: int, total: int) -> None:
        if sent > 0:
            cancel.set()

    with pytest.raises(errors.UploadCancelled):
        session.publish(picture, progress=progress, cancel=cancel)
    assert sandbox.stored_avatar() is None


# --- every error class from the sandbox's faults ------------------------------------

def test_401_revoked(sandbox, session):
    sandbox.faults.revoke_token(sandbox.demo.access_token)
    with pytest.raises(errors.TokenRevoked) as caught:
        session.publish(still_picture())
    assert caught.value.server_message == "The access token is invalid"
    assert caught.value.service == "mastodon"


def test_403_missing_scope(sandbox, session):
    sandbox.faults.set_scopes(sandbox.demo.access_token, ["read"])
    session.whoami()
    with pytest.raises(errors.PermissionMissing) as caught:
        session.publish(still_picture())
    assert caught.value.server_message == "This action is outside the authorized scopes"
    assert "write:accounts" in (caught.value.hint or "")


@pytest.mark.parametrize("sandbox_config", [MastodonSandboxConfig(avatar_limit_bytes=1000)])
def test_422_with_the_servers_words(sandbox, session):
    with pytest.raises(errors.ImageRejected) as caught:
        session.publish(still_picture())
    assert caught.value.status == 422
    said = caught.value.server_message or ""
    assert said.startswith("Validation failed: Avatar must be less than ")
    assert said in str(caught.value)


def test_429_with_the_iso_reset(sandbox, session):
    session.whoami()
    sandbox.faults.rate_limit_next(1, reset_in_s=30)
    with pytest.raises(errors.RateLimited) as caught:
        session.publish(still_picture())
    assert caught.value.reset_at is not None
    assert caught.value.reset_at.tzinfo is not None
    assert caught.value.server_message == "Too many requests"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx(sandbox, session, status):
    session.whoami()
    sandbox.faults.fail_next(1, status)
    with pytest.raises(errors.ServerError) as caught:
        session.publish(still_picture())  # a PATCH is never retried
    assert caught.value.status == status
    assert sandbox.stored_avatar() is None


def test_get_retried_after_one_5xx(sandbox, session):
    sandbox.faults.fail_next(1, 503)
    assert session.whoami().account_id == sandbox.demo.account_id


def test_network_dropped(sandbox, session):
    session.whoami()
    sandbox.faults.drop_next(1)
    with pytest.raises(errors.NetworkError):
        session.publish(still_picture())


def test_network_refused(service):
    session = service.open_session(*_fake_account("http://127.0.0.1:9"))
    with pytest.raises(errors.NetworkError) as caught:
        session.whoami()
    assert "refused" in str(caught.value)


def _fake_account(base: str):
    from avatar_studio.core.services.base import Identity, Secret

    return (Identity("mastodon", base, "1", "@a@b"),
            Secret("mastodon", {"access_token": "t" * 20}))


def test_still_render_fits_the_instance(sandbox, session):
    source = ImageSource.open_bytes(png((900, 700)), name="p.png")
    result = render(source, CropModel(900, 700).state, spec=session.render_spec())
    receipt = session.publish(Publication(result.data, result.mime_type, "a.png",
                                          result.width, result.height))
    assert session.confirm(receipt).image == sandbox.stored_avatar().data
