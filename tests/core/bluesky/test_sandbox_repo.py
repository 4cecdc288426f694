"""The PDS sandbox's repo: blobs and their CIDs, putRecord's swap and lexicon checks, views."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from avatar_studio.core.sandbox.bluesky import BlueskySandboxConfig
from avatar_studio.core.sandbox.bluesky.cids import blob_cid
from avatar_studio.core.sandbox.bluesky.lexicon import LexiconError, graphemes, validate_profile
from hypothesis import given
from hypothesis import strategies as st

from tests.core.bluesky.conftest import login, png_bytes, xrpc

PROFILE = "app.bsky.actor.profile"


def _raw_cid(data: bytes) -> str:
    """Computed by hand here (CIDv1, raw, sha2-256, base32) to check the library's."""
    prefix = bytes([0x01, 0x55, 0x12, 0x20])
    return "b" + base64.b32encode(prefix + hashlib.sha256(data).digest()).decode().lower(
    ).rstrip("=")


@pytest.fixture
def token(pds, http) -> str:
    return str(login(http, pds)["accessJwt"])


def _upload(http: Any, pds: Any, token: str, data: bytes,
            content_type: str = "image/png") -> Any:
    return xrpc(http, pds, "com.atproto.repo.uploadBlob", token=token, data=data,
                content_type=content_type)


def _get(http: Any, pds: Any) -> Any:
    response = xrpc(http, pds, "com.atproto.repo.getRecord",
                    params={"repo": pds.demo.did, "collection": PROFILE, "rkey": "self"})
    assert response.status_code == 200, response.text
    return response.json()


def _put(http: Any, pds: Any, token: str, record: Any, **extra: Any) -> Any:
    return xrpc(http, pds, "com.atproto.repo.putRecord", token=token,
                json={"repo": pds.demo.did, "collection": PROFILE, "rkey": "self",
                      "record": record, **extra})


def test_upload_blob_sniffs_the_type_and_returns_the_raw_sha256_cid(pds, http, token):
    data = png_bytes()
    response = _upload(http, pds, token, data, content_type="*/*")
    assert response.status_code == 200
    blob = response.json()["blob"]
    assert blob == {"$type": "blob", "ref": {"$link": _raw_cid(data)},
                    "mimeType": "image/png", "size": len(data)}
    assert blob["ref"]["$link"].startswith("bafkrei")
    again = _upload(http, pds, token, data, content_type="image/jpeg").json()["blob"]
    assert again["ref"] == blob["ref"]


def test_upload_blob_limits(pds, http, token):
    no_type = xrpc(http, pds, "com.atproto.repo.uploadBlob", token=token, data=b"x",
                   content_type=None)
    assert no_type.status_code == 400
    too_big = _upload(http, pds, token, b"\0" * (5 * 1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert too_big.json() == {"error": "PayloadTooLarge", "message": "request entity too large"}


def test_put_record_replaces_the_whole_record_with_swap(pds, http, token):
    blob = _upload(http, pds, token, png_bytes()).json()["blob"]
    current = _get(http, pds)
    assert current["cid"].startswith("bafyrei")
    record = {"$type": PROFILE, "avatar": blob}  # no displayName: a whole-record put
    response = _put(http, pds, token, record, swapRecord=current["cid"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["validationStatus"] == "valid"
    assert body["commit"]["rev"]
    after = _get(http, pds)
    assert after["cid"] == body["cid"]
    assert after["value"] == record  # displayName is gone: the PDS does not merge


def test_swap_semantics(pds, http, token):
    current = _get(http, pds)
    record = dict(current["value"], displayName="Changed")
    null_swap = _put(http, pds, token, record, swapRecord=None)
    assert null_swap.status_code == 400
    assert null_swap.json() == {"error": "InvalidSwap",
                                "message": f"Record was at {current['cid']}"}
    ok = _put(http, pds, token, record, swapRecord=current["cid"])
    assert ok.status_code == 200
    stale = _put(http, pds, token, dict(record, displayName="Again"), swapRecord=current["cid"])
    assert stale.json()["error"] == "InvalidSwap"
    # The no-op check comes first: the same record again succeeds whatever the swap says.
    same = _put(http, pds, token, record, swapRecord=current["cid"])
    assert same.status_code == 200
    assert "commit" not in same.json()
    pds.control("invalid_swap", n="1")
    forced = _put(http, pds, token, dict(record, displayName="Third"), swapRecord=ok.json()["cid"])
    assert forced.json()["error"] == "InvalidSwap"


def test_profile_lexicon_is_enforced(pds, http, token):
    blob = _upload(http, pds, token, png_bytes()).json()["blob"]
    webp = dict(blob, mimeType="image/webp")
    response = _put(http, pds, token, {"avatar": webp})
    assert response.status_code == 400
    assert response.json() == {"error": "InvalidRequest", "message": (
        'Invalid app.bsky.actor.profile record: Expected one of "image/png" or "image/jpeg" '
        '(got "image/webp") at $.record.avatar.mimeType')}
    big = _put(http, pds, token, {"avatar": dict(blob, size=1048576)})
    assert big.json()["message"] == ("Invalid app.bsky.actor.profile record: blob too big "
                                     "(maximum 1000000, got 1048576) at $.record.avatar")
    wrong_type = _put(http, pds, token, {"$type": "app.bsky.feed.post"})
    assert wrong_type.json()["message"].startswith("Invalid $type")
    long_name = _put(http, pds, token, {"displayName": "x" * 65})
    assert long_name.status_code == 400


def test_blob_checks_at_write_time(pds, http, token):
    blob = _upload(http, pds, token, png_bytes()).json()["blob"]
    missing = dict(blob, ref={"$link": _raw_cid(b"never uploaded")})
    response = _put(http, pds, token, {"avatar": missing})
    assert response.json()["error"] == "BlobNotFound"
    assert response.json()["message"] == f"Could not find blob: {_raw_cid(b'never uploaded')}"
    jpeg_claim = _put(http, pds, token, {"avatar": dict(blob, mimeType="image/jpeg")})
    assert jpeg_claim.json()["error"] == "InvalidMimeType"
    wrong_size = _put(http, pds, token, {"avatar": dict(blob, size=blob["size"] + 1)})
    assert wrong_size.json()["error"] == "InvalidSize"


def test_put_record_for_someone_else_and_unknown_repo(pds, http, token):
    response = xrpc(http, pds, "com.atproto.repo.putRecord", token=token,
                    json={"repo": "bob.test", "collection": PROFILE, "rkey": "self",
                          "record": {}})
    assert response.status_code == 400
    assert "Could not find repo" in response.json()["message"]


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(appview_lag_s=3600)])
def test_get_profile_lags_for_others_but_not_for_the_owner(pds, http, token):
    data = png_bytes(colour=(1, 2, 3))
    blob = _upload(http, pds, token, data).json()["blob"]
    current = _get(http, pds)
    assert _put(http, pds, token, dict(current["value"], avatar=blob),
                swapRecord=current["cid"]).status_code == 200
    cid = blob["ref"]["$link"]
    public = xrpc(http, pds, "app.bsky.actor.getProfile", params={"actor": pds.demo.handle})
    assert "avatar" not in public.json()  # the AppView has not seen the write yet
    own = xrpc(http, pds, "app.bsky.actor.getProfile", params={"actor": pds.demo.handle},
               token=token)
    avatar = own.json()["avatar"]
    assert avatar == f"{pds.base_url}/img/avatar/plain/{pds.demo.did}/{cid}"
    assert "Atproto-Upstream-Lag" in own.headers
    assert own.json()["displayName"] == "Alice Sandbox"
    image = http.get(avatar, timeout=5)
    assert image.status_code == 200
    assert image.content == data
    blob_url = xrpc(http, pds, "com.atproto.sync.getBlob",
                    params={"did": pds.demo.did, "cid": cid})
    assert blob_url.content == data


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(cdn_suffix="@jpeg")])
def test_old_cdn_url_format(pds, http, token):
    view = xrpc(http, pds, "app.bsky.actor.getProfile", params={"actor": pds.demo.did}).json()
    assert view["banner"].endswith("@jpeg")
    assert http.get(view["banner"], timeout=5).status_code == 200


def test_a_replaced_avatar_blob_is_deleted_but_the_cdn_keeps_it(pds, http, token):
    first = _upload(http, pds, token, png_bytes(colour=(9, 9, 9))).json()["blob"]
    current = _get(http, pds)
    done = _put(http, pds, token, dict(current["value"], avatar=first),
                swapRecord=current["cid"]).json()
    second = _upload(http, pds, token, png_bytes(colour=(8, 8, 8))).json()["blob"]
    _put(http, pds, token, dict(current["value"], avatar=second), swapRecord=done["cid"])
    old = xrpc(http, pds, "com.atproto.sync.getBlob",
               params={"did": pds.demo.did, "cid": first["ref"]["$link"]})
    assert old.json()["error"] == "BlobNotFound"


@given(st.binary(max_size=2048))
def test_blob_cid_is_the_raw_sha256_cidv1_for_any_bytes(data: bytes):
    cid = blob_cid(data)
    assert cid == _raw_cid(data)
    assert cid.startswith("bafkrei")
    assert len(cid) == 59


@given(st.text(max_size=80))
def test_display_name_limit_counts_graphemes_not_bytes(name: str):
    fits = graphemes(name) <= 64 and len(name.encode()) <= 640
    if fits:
        validate_profile({"displayName": name})
    else:
        with pytest.raises(LexiconError, match=r"at \$\.record\.displayName"):
            validate_profile({"displayName": name})


def test_swap_commit(pds, http, token):
    current = _get(http, pds)
    first = _put(http, pds, token, dict(current["value"], displayName="One")).json()
    head = first["commit"]["cid"]
    assert head.startswith("bafyrei")
    assert head != first["cid"]
    stale = _put(http, pds, token, dict(current["value"], displayName="Two"),
                 swapCommit=current["cid"])
    assert stale.json() == {"error": "InvalidSwap", "message": f"Commit was at {head}"}
    ok = _put(http, pds, token, dict(current["value"], displayName="Two"), swapCommit=head)
    assert ok.status_code == 200


def test_temporary_blobs_are_garbage_collected(pds, http, token):
    blob = _upload(http, pds, token, png_bytes(colour=(5, 6, 7))).json()["blob"]
    pds.control("gc_blobs")
    response = _put(http, pds, token, {"avatar": blob})
    assert response.json()["error"] == "BlobNotFound"
    assert _get(http, pds)["value"]["banner"]  # referenced blobs are never collected
    banner = _get(http, pds)["value"]["banner"]["ref"]["$link"]
    kept = xrpc(http, pds, "com.atproto.sync.getBlob", params={"did": pds.demo.did,
                                                               "cid": banner})
    assert kept.status_code == 200


def test_records_outside_the_data_model_are_400(pds, http, token):
    response = _put(http, pds, token, {"x.unknown": {"$link": "not-a-cid"}})
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidRequest"


def test_deeply_nested_json_is_400_not_a_crash(pds, http, token):
    deep = "[" * 100_000 + "]" * 100_000
    response = http.post(f"{pds.base_url}/xrpc/com.atproto.repo.putRecord", data=deep,
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidRequest"
