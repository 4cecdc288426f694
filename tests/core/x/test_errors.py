"""Error bodies in every shape X is known to send become the right typed error."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime

import pytest
from avatar_studio.core.services.x import errors as xe
from avatar_studio.core.services.x.errors import Context, error_from_response, parse_error_body


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(("status", "body", "context", "expected"), [
    (401, _json({"errors": [{"code": 32, "message": "Could not authenticate you."}]}),
     Context.API, xe.CredentialsRejected),
    # 2014-15 key order, no trailing period
    (401, b'{"errors":[{"message":"Could not authenticate you","code":32}]}',
     Context.API, xe.CredentialsRejected),
    (401, _json({"errors": [{"code": 89, "message": "Invalid or expired token."}]}),
     Context.API, xe.TokenRevoked),
    (401, b'{"errors":[{"message":"Timestamp out of bounds","code":135}]}',
     Context.API, xe.ClockSkew),
    (400, _json({"errors": [{"code": 215, "message": "Bad Authentication data."}]}),
     Context.API, xe.BadAuthData),
    (401, _json({"request": "/1.1/account/update_profile_image.json",
                 "error": "Read-only application cannot POST."}), Context.UPLOAD, xe.ReadOnlyApp),
    (403, _json({"errors": [{"code": 261, "message": "Application cannot perform write "
                                                     "actions."}]}),
     Context.UPLOAD, xe.ReadOnlyApp),
    (403, _json({"errors": [{"code": 453, "message": "You currently have access to a subset "
                                                     "of Twitter API v2 endpoints"}]}),
     Context.API, xe.AccessTierRefused),
    (413, b"", Context.UPLOAD, xe.ImageRejected),
    (400, _json({"request": "/1.1/account/update_profile_image.json",
                 "error": "media type unrecognized."}), Context.UPLOAD, xe.ImageRejected),
    (422, _json({"errors": [{"code": 44, "message": "Image could not be resized"}]}),
     Context.UPLOAD, xe.ImageRejected),
    (500, _json({"errors": [{"code": 131, "message": "Internal error"}]}), Context.API,
     xe.ServerError),
    (503, b"<html><head><title>Over capacity</title></head><body>x</body></html>",
     Context.API, xe.ServerError),
    (401, b"Error processing your OAuth request: Invalid oauth_verifier parameter",
     Context.PIN, xe.PinRejected),
    (401, b"<hash><error>Invalid / expired Token</error><request>/oauth/access_token</request>"
          b"</hash>", Context.OAUTH, xe.CredentialsRejected),
    (418, b"", Context.API, xe.UnexpectedResponse),
    (404, b"[1, 2, 3]", Context.API, xe.UnexpectedResponse),
    (400, b"{not json", Context.API, xe.UnexpectedResponse),
])
def test_classification(status: int, body: bytes, context: Context,
                        expected: type[xe.XApiError]) -> None:
    err = error_from_response(status, {"content-type": "application/json"}, body,
                              context=context)
    assert type(err) is expected
    assert err.status == status
    assert err.message
    assert "\n" not in err.message
    assert err.exit_code == expected.exit_code


def test_server_words_are_quoted_and_codes_kept() -> None:
    err = error_from_response(400, {}, _json({"request": "/1.1/x.json",
                                              "error": "media type unrecognized."}),
                              context=Context.UPLOAD)
    assert "media type unrecognized." in err.message
    err = error_from_response(401, {}, _json({"errors": [{"code": "89",
                                                          "message": "Invalid token"}]}),
                              account="@alice")
    assert isinstance(err, xe.TokenRevoked)
    assert err.codes == (89,)
    assert "@alice" in err.message
    assert err.hint is not None
    assert "login" in err.hint


def test_empty_413_says_too_large() -> None:
    err = error_from_response(413, {"content-length": "0"}, b"", context=Context.UPLOAD)
    assert "too large" in err.message


def test_rate_limited_reads_reset_header() -> None:
    reset = 2_000_000_000
    err = error_from_response(
        429, {"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
        b'{"errors":[{"message":"Rate limit exceeded","code":88}]}')
    assert isinstance(err, xe.RateLimited)
    assert err.reset_at == datetime.fromtimestamp(reset, UTC)
    local = datetime.fromtimestamp(reset, UTC).astimezone()
    assert f"{local:%H:%M:%S}" in err.message


def test_rate_limited_from_retry_after() -> None:
    err = error_from_response(429, {"Retry-After": "30"}, b"", now=1000.0)
    assert isinstance(err, xe.RateLimited)
    assert err.reset_at == datetime.fromtimestamp(1030, UTC)


def test_clock_skew_reports_offset_from_date_header() -> None:
    server_time = 1_700_000_000.0
    headers = {"Date": email.utils.formatdate(server_time, usegmt=True)}
    err = error_from_response(401, headers,
                              b'{"errors":[{"code":135,"message":"Timestamp out of bounds"}]}',
                              now=server_time + 600)
    assert isinstance(err, xe.ClockSkew)
    assert "600 s ahead" in err.message
    assert err.hint is not None
    assert "clock" in err.message


def test_known_secrets_are_never_repeated() -> None:
    secret = "S3CRET-token-value-1234"
    err = error_from_response(401, {}, f"bad token {secret} here".encode(),
                              secrets=(secret,))
    assert secret not in str(err)
    assert "bad token" in str(err)


def test_long_bodies_are_shortened() -> None:
    err = error_from_response(418, {}, b"x" * 5000)
    assert len(err.message) < 400


@pytest.mark.parametrize(("body", "codes", "messages"), [
    (b"", (), ()),
    (b"   \n", (), ()),
    (b'{"errors":{"code":88,"message":"Rate limit exceeded"}}', (88,), ("Rate limit exceeded",)),
    (b'{"errors":["plain"]}', (), ("plain",)),
    (b'{"title":"Unauthorized","detail":"Unauthorized","type":"about:blank","status":401}', (),
     ("Unauthorized",)),
    (b'{"errors":[{"code":true,"message":7}]}', (), ()),
    (b"null", (), ()),
    (b"line one\nline two", (), ("line one",)),
])
def test_parse_never_raises(body: bytes, codes: tuple[int, ...],
                            messages: tuple[str, ...]) -> None:
    parsed = parse_error_body(body)
    assert parsed.codes == codes
    assert parsed.messages == messages


def test_every_error_class_has_its_own_exit_code() -> None:
    from avatar_studio.core import accounts, credentials
    from avatar_studio.core.cli import account as cli_account
    from avatar_studio.core.errors import UserFacingError
    classes: list[type[UserFacingError]] = [
               xe.XApiError, xe.CredentialsRejected, xe.TokenRevoked, xe.ClockSkew,
               xe.BadAuthData, xe.ReadOnlyApp, xe.AccessTierRefused, xe.ImageRejected,
               xe.RateLimited, xe.ServerError, xe.NetworkError, xe.UnexpectedResponse,
               xe.Cancelled, xe.NotPublishedYet, xe.PinRejected, xe.InvalidApiBase,
               credentials.KeyringUnavailable, credentials.SecretsMissing,
               accounts.AccountNotFound, cli_account.IncompleteEnvironment]
    codes = [c.exit_code for c in classes]
    assert len(set(codes)) == len(codes), codes
    # UploadCancelled is a Cancelled and shares its code on purpose.
    assert xe.UploadCancelled.exit_code == xe.Cancelled.exit_code
    assert all(20 <= c < 40 for c in codes)


@pytest.mark.parametrize(("body", "codes", "messages"), [
    (b'{"errors": "Over capacity"}', (), ("Over capacity",)),
    (b'{"code": 131, "errors": [{"code": 32, "message": "a"}]}', (32, 131), ("a",)),
])
def test_rarer_body_shapes(body: bytes, codes: tuple[int, ...],
                           messages: tuple[str, ...]) -> None:
    parsed = parse_error_body(body)
    assert (parsed.codes, parsed.messages) == (codes, messages)


def test_rate_limit_without_reset_headers_says_later_and_a_past_reset_says_when() -> None:
    body = b'{"errors":[{"code":88,"message":"Rate limit exceeded"}]}'
    later = error_from_response(429, {}, body, now=1_000.0)
    assert isinstance(later, xe.RateLimited)
    assert later.reset_at is None
    assert "resets later" in later.message
    past = error_from_response(429, {"x-rate-limit-reset": "900"}, body, now=1_000.0)
    assert "in about" not in past.message
    assert "resets at " in past.message


def test_a_bad_date_header_gives_no_clock_offset() -> None:
    from avatar_studio.core.services.x.errors import clock_offset_s

    assert clock_offset_s({"date": "not a date"}) is None
    assert clock_offset_s({}) is None
