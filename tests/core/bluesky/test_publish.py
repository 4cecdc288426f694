"""Publishing a Bluesky avatar: upload, read-modify-write with swapRecord, confirm by CID,
and every error class the sandbox's faults produce."""

from __future__ import annotations

import io
import os
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from avatar_studio.core.sandbox.bluesky import BlueskySandboxConfig
from avatar_studio.core.services import errors as seam
from avatar_studio.core.services.base import Publication, Receipt
from avatar_studio.core.services.bluesky.errors import (
    Context,
    ProfileKeptChanging,
    XrpcFailure,
    map_failure,
)
from avatar_studio.core.services.bluesky.service import cid_of_avatar_url
from PIL import Image

from tests.core.bluesky.clients import open_session, service_for
from tests.core.bluesky.conftest import png_bytes

PROFILE = "app.bsky.actor.profile"


def picture(data: bytes | None = None, mime: str = "image/png") -> Publication:
    data = data or png_bytes(colour=(10, 120, 200))
    return Publication(data, mime, "avatar.png", 40, 40)


def stored_profile(pds) -> Any:
    return requests.get(f"{pds.base_url}/_sandbox/status", timeout=5).json()["profile"]


def test_publish_keeps_every_other_field_and_confirms_by_cid(pds):
    before = stored_profile(pds)
    session = open_session(pds)
    sent: list[tuple[int, int]] = []
    pic = picture()
    receipt = session.publish(pic, progress=lambda done, total: sent.append((done, total)))
    assert receipt.token.startswith("bafkrei")
    assert sent[-1] == (len(pic.data), len(pic.data))
    after = stored_profile(pds)
    assert after["avatar"]["ref"]["$link"] == receipt.token
    assert after["avatar"]["mimeType"] == "image/png"
    for name in ("displayName", "description", "banner", "createdAt", "sandbox.customField"):
        assert after[name] == before[name]
    confirmed = session.confirm(receipt)
    assert cid_of_avatar_url(confirmed.avatar_url) == receipt.token
    assert confirmed.image == pic.data


def test_a_concurrent_edit_between_read_and_write_is_retried_not_overwritten(pds):
    session = open_session(pds)
    read = session.read_profile
    reads = []

    def read_then_someone_edits(**kwargs):
        result = read(**kwargs)
        reads.append(result[1])
        if len(reads) == 1:  # another app saves the profile right after our first read
            pds.control("edit_profile", displayName="Edited elsewhere")
        return result

    session.read_profile = read_then_someone_edits  # type: ignore[method-assign]
    receipt = session.publish(picture())
    assert len(reads) == 2
    assert reads[0] != reads[1]
    after = stored_profile(pds)
    assert after["displayName"] == "Edited elsewhere"
    assert after["avatar"]["ref"]["$link"] == receipt.token


def test_a_profile_that_keeps_changing_is_given_up_without_overwriting(pds):
    session = open_session(pds)
    before = stored_profile(pds)
    pds.control("invalid_swap", n="5")
    with pytest.raises(ProfileKeptChanging) as info:
        session.publish(picture())
    assert info.value.exit_code == 53
    assert stored_profile(pds) == before


def test_an_account_without_a_profile_record_is_written_with_swap_null(pds):
    demo = pds.demo
    with pds.state.lock:
        del pds.state.records[(demo.did, PROFILE, "self")]
    session = open_session(pds)
    receipt = session.publish(picture())
    assert stored_profile(pds) == {"$type": PROFILE, "avatar": stored_profile(pds)["avatar"]}
    assert stored_profile(pds)["avatar"]["ref"]["$link"] == receipt.token


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(appview_lag_s=3600,
                                                             cdn_suffix="@jpeg")])
def test_confirm_compares_the_cid_not_the_url(pds):
    session = open_session(pds)
    receipt = session.publish(picture())
    confirmed = session.confirm(receipt)  # owner: read-after-write despite the lag
    assert confirmed.avatar_url.endswith(f"/{receipt.token}@jpeg")
    other = Receipt(receipt.identity, "", "bafkrei" + "a" * 52)
    with pytest.raises(seam.NotPublishedYet) as info:
        session.confirm(other, timeout_s=0.3)
    assert info.value.receipt is other
    assert not info.value.cancelled


def test_cid_of_avatar_url_forms():
    cid = "bafkreibjfgx2gprinfvicegelk5kosd6y2frmqpqzwqkg7usac74l3t2v4"
    assert cid_of_avatar_url(f"https://cdn.bsky.app/img/avatar/plain/did:plc:a/{cid}") == cid
    assert cid_of_avatar_url(f"https://cdn.bsky.app/img/avatar/plain/did:plc:a/{cid}@jpeg"
                             ) == cid
    assert cid_of_avatar_url(f"https://pds.example/xrpc/com.atproto.sync.getBlob?did=d&cid={cid}"
                             ) == cid


def test_cancel_before_and_during_the_upload(pds):
    session = open_session(pds)
    before = stored_profile(pds)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(seam.UploadCancelled):
        session.publish(picture(), cancel=cancel)
    during = threading.Event()
    sent: list[int] = []

    def progress(done: int, total: int) -> None:
        sent.append(done)
        during.set()

    with pytest.raises(seam.UploadCancelled):  # many blocks: it stops after the first
        session.publish(picture(os.urandom(900_000)), progress=progress, cancel=during)
    assert sent
    assert sent[-1] < 900_000
    assert stored_profile(pds) == before


@pytest.mark.parametrize(("status", "kind"), [(500, seam.ServerError), (502, seam.ServerError),
                                          (503, seam.ServerError), (504, seam.ServerError)])
def test_server_errors(pds, status, kind):
    session = open_session(pds)
    pds.control("fail_next", n="1", status=str(status))
    with pytest.raises(kind) as info:
        session.publish(picture())
    assert info.value.status == status
    assert info.value.service == "bluesky"


def test_rate_limited_with_reset(pds):
    session = open_session(pds)
    pds.control("rate_limit", n="1")
    with pytest.raises(seam.RateLimited) as info:
        session.publish(picture())
    assert info.value.reset_at is not None
    assert info.value.reset_at > datetime.now(UTC)
    assert (info.value.server_message or "").startswith("RateLimitExceeded")


def test_network_errors(pds):
    session = open_session(pds)
    pds.control("drop_next", n="1")
    with pytest.raises(seam.NetworkError):
        session.whoami()
    pds.stop()
    with pytest.raises(seam.NetworkError, match="refused"):
        session.whoami()


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(blob_upload_limit=1000)])
def test_payload_too_large(pds):
    session = open_session(pds)
    with pytest.raises(seam.ImageRejected) as info:
        session.publish(picture(png_bytes(size=(300, 300)) + b"\0" * 2000))
    assert info.value.status == 413
    assert info.value.server_message == "PayloadTooLarge: request entity too large"


def test_lexicon_validation_is_image_rejected(pds):
    session = open_session(pds)
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    # Labelled PNG, but the PDS sniffs a GIF, which the profile lexicon does not accept.
    with pytest.raises(seam.ImageRejected) as info:
        session.publish(picture(gif.getvalue()))
    assert 'got "image/gif"' in (info.value.server_message or "")


def test_blob_not_found_is_image_rejected(pds):
    session = open_session(pds)
    read = session.read_profile

    def blob_lost(**kwargs):  # the PDS garbage-collected the blob before the write
        pds.control("gc_blobs")
        return read(**kwargs)

    session.read_profile = blob_lost  # type: ignore[method-assign]
    with pytest.raises(seam.ImageRejected) as info:
        session.publish(picture())
    assert (info.value.server_message or "").startswith("BlobNotFound: Could not find blob")


def test_expired_session_and_takedown_while_publishing(pds):
    session = open_session(pds)
    pds.control("revoke_refresh")
    pds.control("expire_access")
    with pytest.raises(seam.TokenRevoked):
        session.publish(picture())
    other = open_session(pds)
    pds.control("takedown")
    with pytest.raises(seam.PermissionMissing) as info:
        other.publish(picture())
    assert info.value.exit_code == 51


@pytest.mark.parametrize(("error", "status", "context", "kind"), [
    ("AuthenticationRequired", 401, Context.SIGN_IN, seam.CredentialsRejected),
    ("AuthFactorTokenRequired", 401, Context.SIGN_IN, seam.SecondFactorRequired),
    ("InvalidToken", 401, Context.SIGN_IN, seam.CodeRejected),
    ("AccountTakedown", 401, Context.API, seam.PermissionMissing),
    ("ExpiredToken", 400, Context.API, seam.TokenRevoked),
    ("InvalidToken", 400, Context.API, seam.TokenRevoked),
    ("AuthMissing", 401, Context.API, seam.BadAuthData),
    ("PayloadTooLarge", 413, Context.UPLOAD, seam.ImageRejected),
    ("InvalidRequest", 400, Context.WRITE, seam.ImageRejected),
    ("BlobNotFound", 400, Context.WRITE, seam.ImageRejected),
    ("InvalidMimeType", 400, Context.WRITE, seam.ImageRejected),
    ("InvalidSize", 400, Context.WRITE, seam.ImageRejected),
    ("RateLimitExceeded", 429, Context.API, seam.RateLimited),
    ("InternalServerError", 500, Context.API, seam.ServerError),
    ("XRPCNotSupported", 404, Context.API, seam.UnexpectedResponse),
])
def test_error_mapping(error, status, context, kind):
    message = "Invalid app.bsky.actor.profile record: x" if error == "InvalidRequest" else "m"
    failure = XrpcFailure(status, error, message, {"RateLimit-Reset": "2000000000"})
    mapped = map_failure(failure, context)
    assert type(mapped) is kind or isinstance(mapped, kind)
    assert mapped.service == "bluesky"
    assert mapped.help_url
    assert mapped.server_message == f"{error}: {message}"
    if kind is seam.RateLimited:
        assert isinstance(mapped, seam.RateLimited)
        assert mapped.reset_at == datetime.fromtimestamp(2000000000, UTC)


def test_publish_refuses_formats_bluesky_does_not_take(pds):
    session = open_session(pds)
    with pytest.raises(seam.ImageRejected, match="PNG or JPEG"):
        session.publish(Publication(b"GIF89a", "image/gif", "a.gif", 1, 1))


def test_service_for_is_cheap_to_build(pds):
    assert service_for(pds).confirm_policy.timeout_s == 2.0


def test_passing_failures_while_confirming_are_not_yet_not_an_error(pds):
    session = open_session(pds)
    receipt = session.publish(picture())
    pds.control("fail_next", n="2", status="503")
    checks: list[int] = []
    confirmed = session.confirm(receipt, on_check=checks.append)
    assert checks == [1, 2, 3]
    assert cid_of_avatar_url(confirmed.avatar_url) == receipt.token
