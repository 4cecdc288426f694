"""An unmodified third-party client, the ``atproto`` Python SDK, against the PDS sandbox."""

from __future__ import annotations

import pytest
from avatar_studio.core.sandbox.bluesky import BlueskySandboxConfig

from tests.core.bluesky.conftest import png_bytes

atproto = pytest.importorskip("atproto")
sdk_errors = pytest.importorskip("atproto_client.exceptions")


# The SDK refreshes by itself when less than 15 minutes are left: a 10-minute token makes
# every call after the login go through refreshSession first.
@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(access_lifetime_s=600)])
# The SDK passes raw bytes as httpx's deprecated data=; that is its business, not ours.
@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
def test_sdk_logs_in_uploads_and_changes_only_the_avatar(pds, http):
    demo = pds.demo
    client = atproto.Client(base_url=demo.base_url)
    sessions = []
    client.on_session_change(lambda event, session: sessions.append(session.refresh_jwt))
    profile = client.login(demo.handle, demo.app_password)
    assert profile.did == demo.did
    assert profile.display_name == "Alice Sandbox"
    data = png_bytes()
    uploaded = client.upload_blob(data)
    assert uploaded.blob.mime_type == "image/png"
    assert uploaded.blob.size == len(data)
    cid = uploaded.blob.ref.link
    assert cid.startswith("bafkrei")
    current = client.com.atproto.repo.get_record(
        {"repo": demo.did, "collection": "app.bsky.actor.profile", "rkey": "self"})
    record = current.value
    record.avatar = uploaded.blob
    client.com.atproto.repo.put_record(atproto.models.ComAtprotoRepoPutRecord.Data(
        repo=demo.did, collection="app.bsky.actor.profile", rkey="self", record=record,
        swap_record=current.cid))
    view = client.get_profile(demo.handle)
    assert view.avatar is not None
    assert view.avatar.endswith(cid)
    assert view.display_name == "Alice Sandbox"
    assert view.banner is not None
    assert len(set(sessions)) >= 2  # the SDK refreshed and got a rotated token
    kept = http.get(f"{demo.base_url}/_sandbox/status", timeout=5).json()["profile"]
    assert kept["sandbox.customField"] == {"kept": True}
    assert kept["avatar"]["ref"]["$link"] == cid


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(two_factor=True)])
def test_sdk_two_factor_login_with_the_emailed_code(pds, http):
    demo = pds.demo
    client = atproto.Client(base_url=demo.base_url)
    with pytest.raises(sdk_errors.UnauthorizedError) as info:
        client.login(demo.handle, demo.app_password)
    assert info.value.response.content.error == "AuthFactorTokenRequired"
    code = http.get(f"{demo.base_url}/_sandbox/outbox", timeout=5).json()["messages"][-1][
        "code"]
    profile = client.login(demo.handle, demo.app_password, auth_factor_token=code)
    assert profile is not None
    assert profile.did == demo.did


def test_sdk_sees_xrpc_errors_by_name(pds):
    demo = pds.demo
    client = atproto.Client(base_url=demo.base_url)
    client.login(demo.handle, demo.app_password)
    current = client.com.atproto.repo.get_record(
        {"repo": demo.did, "collection": "app.bsky.actor.profile", "rkey": "self"})
    pds.control("edit_profile", displayName="Edited in another app")
    with pytest.raises(sdk_errors.BadRequestError) as info:
        client.com.atproto.repo.put_record(atproto.models.ComAtprotoRepoPutRecord.Data(
            repo=demo.did, collection="app.bsky.actor.profile", rkey="self",
            record=current.value.model_copy(update={"display_name": "Other"}),
            swap_record=current.cid))
    assert info.value.response.content.error == "InvalidSwap"
