"""Small pieces on their own: the profile lexicon's rules, XRPC failure parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from avatar_studio.core.sandbox.bluesky.cids import blob_cid, is_cid, record_cid
from avatar_studio.core.sandbox.bluesky.lexicon import (
    LexiconError,
    blob_ref,
    graphemes,
    validate_profile,
)
from avatar_studio.core.services import errors as seam
from avatar_studio.core.services.bluesky.errors import Context, map_failure, parse_failure

CID = blob_cid(b"avatar")
BLOB = {"$type": "blob", "ref": {"$link": CID}, "mimeType": "image/png", "size": 10}
POST = "at://did:plc:abc/app.bsky.feed.post/3k"


@pytest.mark.parametrize("record", [
    {},
    {"displayName": "Alice", "description": "bio", "pronouns": "she/her",
     "website": "https://alice.example", "avatar": BLOB, "banner": BLOB,
     "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": []},
     "pinnedPost": {"uri": POST, "cid": CID}, "joinedViaStarterPack": {"uri": POST,
                                                                       "cid": CID},
     "createdAt": "2026-01-01T00:00:00.000Z", "x.unknown": [1, {"nested": True}]},
    {"avatar": {"cid": CID, "mimeType": "image/jpeg"}},  # a legacy blob ref
    {"displayName": "e\u0301" * 64},  # combining marks do not count as graphemes
])
def test_valid_profiles(record):
    validate_profile(record)


@pytest.mark.parametrize(("record", "where"), [
    ([], "$.record"),
    ({"displayName": 5}, "$.record.displayName"),
    ({"description": "x" * 257}, "$.record.description"),
    ({"pronouns": "\u00e9" * 101}, "$.record.pronouns"),  # 202 bytes
    ({"website": "not a uri"}, "$.record.website"),
    ({"avatar": "bafkrei"}, "$.record.avatar"),
    ({"avatar": {"$type": "blob", "ref": {"$link": "nope"}, "mimeType": "image/png",
                 "size": 1}}, "$.record.avatar.ref"),
    ({"avatar": {**BLOB, "mimeType": 3}}, "$.record.avatar.mimeType"),
    ({"avatar": {**BLOB, "size": -1}}, "$.record.avatar.size"),
    ({"avatar": {**BLOB, "size": True}}, "$.record.avatar.size"),
    ({"avatar": {"cid": "nope", "mimeType": "image/png"}}, "$.record.avatar.cid"),
    ({"banner": {"something": "else"}}, "$.record.banner"),
    ({"labels": {"values": []}}, "$.record.labels"),
    ({"pinnedPost": {"uri": "https://x", "cid": CID}}, "$.record.pinnedPost"),
    ({"createdAt": "yesterday"}, "$.record.createdAt"),
])
def test_invalid_profiles_name_the_place(record, where):
    with pytest.raises(LexiconError, match=rf"at {where.replace('$', '[$]')}$"):
        validate_profile(record)


def test_blob_ref_and_graphemes():
    assert blob_ref(BLOB, "$.x").size == 10
    assert blob_ref({"cid": CID, "mimeType": "image/png"}, "$.x").size is None
    assert graphemes("👩\u200d💻") == 1
    assert graphemes("ab") == 2
    assert is_cid(CID)
    assert not is_cid(3)
    assert not is_cid("bafy")
    assert record_cid({"a": 1.0}) == record_cid({"a": 1})
    assert record_cid({"b": {"$bytes": "aGk"}}).startswith("bafyrei")


def test_failures_that_are_not_json_and_retry_after():
    failure = parse_failure(502, b"<html>Bad Gateway</html>", {"Retry-After": "30"})
    assert (failure.error, failure.message) == ("", "")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    mapped = map_failure(parse_failure(429, b"{}", {"retry-after": "30"}), Context.API,
                         now=now)
    assert isinstance(mapped, seam.RateLimited)
    assert mapped.reset_at == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert map_failure(failure, Context.API).server_message is None
    long = parse_failure(400, b'{"error":"X","message":"' + b"m " * 400 + b'"}', {})
    assert len(long.message) <= 301
