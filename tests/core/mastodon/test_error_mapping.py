"""Every branch of Mastodon's response -> category mapping, with the server's own words.

The sandbox tests reach most of these through real HTTP; these pin the rest (shapes a
real instance sends that the sandbox has no fault for) so the mapping is fully covered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from avatar_studio.core.services import errors as categories
from avatar_studio.core.services.mastodon import errors as m

HOST = "example.social"


def body(**fields: str) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(("status", "payload", "context", "cls", "exit_code", "words"), [
    (400, body(error="invalid_grant", error_description="The provided authorization "
                                                        "grant is invalid"),
     m.Context.OAUTH, m.CodeRejected, 37, "did not accept the authorization code"),
    (401, body(error="invalid_client", error_description="Client authentication failed"),
     m.Context.OAUTH, m.CredentialsRejected, 21, "no longer knows Avatar Studio"),
    (422, body(error="Validation failed: Redirect URI must be an absolute URI."),
     m.Context.REGISTER, m.AppRegistrationFailed, 46, "refused to register"),
    (401, body(error="The access token is invalid"), m.Context.API, m.TokenRevoked, 22,
     "“The access token is invalid”"),
    (403, body(error="This action is outside the authorized scopes"), m.Context.API,
     m.PermissionMissing, 25, "missing a permission"),
    (403, body(error="Your login is currently disabled"), m.Context.API,
     m.PermissionMissing, 25, "refused this account"),
    (422, body(error="Validation failed: Avatar must be less than 2 MB"),
     m.Context.UPLOAD, m.ImageRejected, 27, "Avatar must be less than 2 MB"),
    (503, b"<html>maintenance</html>", m.Context.API, m.ServerError, 29, "HTTP 503"),
    (404, body(error="Record not found"), m.Context.API, m.InstanceNotFound, 45,
     "no such Mastodon API endpoint"),
    (418, b"", m.Context.API, m.UnexpectedResponse, 31, "answered HTTP 418"),
    # A 422 outside an upload is not an image problem.
    (422, body(error="Validation failed"), m.Context.API, m.UnexpectedResponse, 31,
     "answered HTTP 422"),
])
def test_each_status_maps_to_its_category(status, payload, context, cls, exit_code,
                                          words) -> None:
    exc = m.error_from_response(status, {}, payload, host=HOST, context=context)
    assert type(exc) is cls
    assert exc.exit_code == exit_code
    assert words in exc.message
    assert exc.status == status
    assert exc.service == "mastodon"


def test_rate_limit_reads_the_iso_reset_time() -> None:
    exc = m.error_from_response(429, {"X-RateLimit-Reset": "2026-07-02T10:15:00.000000Z"},
                                body(error="Too many requests"), host=HOST)
    assert isinstance(exc, categories.RateLimited)
    assert exc.reset_at == datetime(2026, 7, 2, 10, 15, tzinfo=UTC)
    assert " until " in exc.message
    # An unreadable reset still gives the category, just without a time.
    exc = m.error_from_response(429, {"X-RateLimit-Reset": "soon"}, b"", host=HOST)
    assert isinstance(exc, categories.RateLimited)
    assert exc.reset_at is None
    assert " until " not in exc.message
    # And so does a 429 without the header at all.
    exc = m.error_from_response(429, {}, b"", host=HOST)
    assert isinstance(exc, categories.RateLimited)
    assert exc.reset_at is None


@pytest.mark.parametrize("payload", [b"[1, 2]", b"\"text\"", b"not json", b""])
def test_bodies_without_an_error_object_give_no_server_words(payload: bytes) -> None:
    assert m.server_words(payload) == ("", "")
    exc = m.error_from_response(500, {}, payload, host=HOST)
    assert isinstance(exc, categories.ServerError)
    assert exc.server_message is None
    assert "says" not in exc.message


def test_the_redactor_runs_over_the_servers_words() -> None:
    exc = m.error_from_response(401, {}, body(error="bad token s3cr3t-token"), host=HOST,
                                redact=lambda text: text.replace("s3cr3t-token", "***"))
    assert "s3cr3t-token" not in exc.message
    assert "***" in exc.message
