"""The PDS sandbox's sessions: real JWTs, rotation, 2FA, identity documents, XRPC errors."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from avatar_studio.core.sandbox.bluesky import BlueskySandbox, BlueskySandboxConfig
from werkzeug.test import Client

from tests.core.bluesky.conftest import login, xrpc


def _segment(token: str, index: int) -> Any:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_create_session_returns_three_part_hs256_jwts_and_a_did_doc_pointing_here(pds, http):
    body = login(http, pds)
    demo = pds.demo
    assert body["did"] == demo.did
    assert body["handle"] == demo.handle
    access, refresh = body["accessJwt"], body["refreshJwt"]
    assert len(access.split(".")) == 3
    assert len(refresh.split(".")) == 3
    assert _segment(access, 0) == {"alg": "HS256", "typ": "at+jwt"}
    assert _segment(refresh, 0)["typ"] == "refresh+jwt"
    claims = _segment(access, 1)
    assert isinstance(claims["exp"], int)
    assert claims["exp"] - claims["iat"] == 7200
    assert claims["scope"] == "com.atproto.appPass"
    assert claims["sub"] == demo.did
    assert _segment(refresh, 1)["scope"] == "com.atproto.refresh"
    service = body["didDoc"]["service"][0]
    assert service["id"] == "#atproto_pds"
    assert service["type"] == "AtprotoPersonalDataServer"
    assert service["serviceEndpoint"] == pds.base_url
    assert body["didDoc"]["alsoKnownAs"] == [f"at://{demo.handle}"]


@pytest.mark.parametrize("identifier", ["ALICE.TEST", "alice@example.test", "did"])
def test_identifier_may_be_handle_email_or_did(pds, http, identifier):
    ident = pds.demo.did if identifier == "did" else identifier
    response = xrpc(http, pds, "com.atproto.server.createSession",
                    json={"identifier": ident, "password": pds.demo.app_password})
    assert response.status_code == 200


def test_bad_password_is_401_authentication_required(pds, http):
    response = xrpc(http, pds, "com.atproto.server.createSession",
                    json={"identifier": pds.demo.handle, "password": "aaaa-bbbb-cccc-dddd"})
    assert response.status_code == 401
    assert response.json() == {"error": "AuthenticationRequired",
                               "message": "Invalid identifier or password"}


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(refresh_grace_s=0)])
def test_refresh_rotates_and_a_used_token_is_revoked_without_grace(pds, http):
    first = login(http, pds)["refreshJwt"]
    response = xrpc(http, pds, "com.atproto.server.refreshSession", token=first, method="POST")
    assert response.status_code == 200
    second = response.json()["refreshJwt"]
    assert second != first
    again = xrpc(http, pds, "com.atproto.server.refreshSession", token=first, method="POST")
    assert again.status_code == 400
    assert again.json() == {"error": "ExpiredToken", "message": "Token has been revoked"}
    assert xrpc(http, pds, "com.atproto.server.refreshSession", token=second,
                method="POST").status_code == 200


def test_a_used_token_within_grace_gives_the_same_next_token_id(pds, http):
    first = login(http, pds)["refreshJwt"]
    a = xrpc(http, pds, "com.atproto.server.refreshSession", token=first, method="POST")
    b = xrpc(http, pds, "com.atproto.server.refreshSession", token=first, method="POST")
    assert a.status_code == b.status_code == 200
    assert _segment(a.json()["refreshJwt"], 1)["jti"] == _segment(b.json()["refreshJwt"], 1)["jti"]


def test_bearer_errors_are_400_with_their_own_names(pds, http):
    body = login(http, pds)
    refresh = body["refreshJwt"]
    no_auth = xrpc(http, pds, "com.atproto.server.getSession")
    assert no_auth.status_code == 401
    assert no_auth.json()["error"] == "AuthMissing"
    assert "WWW-Authenticate" in no_auth.headers
    wrong_scope = xrpc(http, pds, "com.atproto.server.getSession", token=refresh)
    assert wrong_scope.status_code == 400
    assert wrong_scope.json() == {"error": "InvalidToken", "message": "Bad token scope"}
    forged = body["accessJwt"][:-4] + "AAAA"
    bad = xrpc(http, pds, "com.atproto.server.getSession", token=forged)
    assert bad.status_code == 400
    assert bad.json()["error"] == "InvalidToken"
    pds.control("expire_access")
    expired = xrpc(http, pds, "com.atproto.server.getSession", token=body["accessJwt"])
    assert expired.status_code == 400
    assert expired.json() == {"error": "ExpiredToken", "message": "Token has expired"}


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(access_lifetime_s=1)])
def test_an_access_token_really_expires(pds, http):
    token = login(http, pds)["accessJwt"]
    exp = _segment(token, 1)["exp"]
    while time.time() <= exp:  # PyJWT compares whole seconds
        time.sleep(0.1)
    response = xrpc(http, pds, "com.atproto.server.getSession", token=token)
    assert response.json()["error"] == "ExpiredToken"


def test_revoke_refresh_and_delete_session(pds, http):
    body = login(http, pds)
    pds.control("revoke_refresh")
    response = xrpc(http, pds, "com.atproto.server.refreshSession", token=body["refreshJwt"],
                    method="POST")
    assert response.status_code == 400
    assert response.json()["error"] == "ExpiredToken"
    other = login(http, pds)
    assert xrpc(http, pds, "com.atproto.server.deleteSession", token=other["refreshJwt"],
                method="POST").status_code == 200
    gone = xrpc(http, pds, "com.atproto.server.refreshSession", token=other["refreshJwt"],
                method="POST")
    assert gone.json()["message"] == "Token has been revoked"


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(two_factor=True)])
def test_two_factor_sign_in_sends_a_code_by_email(pds, http):
    demo = pds.demo
    creds = {"identifier": demo.handle, "password": demo.app_password}
    first = xrpc(http, pds, "com.atproto.server.createSession", json=creds)
    assert first.status_code == 401
    assert first.json()["error"] == "AuthFactorTokenRequired"
    outbox = http.get(f"{pds.base_url}/_sandbox/outbox", timeout=5).json()["messages"]
    assert outbox[-1]["to"] == demo.email
    code = outbox[-1]["code"]
    wrong = xrpc(http, pds, "com.atproto.server.createSession",
                 json={**creds, "authFactorToken": "WRONG-CODE1"})
    assert wrong.json()["error"] == "InvalidToken"
    ok = xrpc(http, pds, "com.atproto.server.createSession",
              json={**creds, "authFactorToken": code})
    assert ok.status_code == 200
    assert ok.json()["emailAuthFactor"] is True


def test_takedown(pds, http):
    pds.control("takedown")
    response = xrpc(http, pds, "com.atproto.server.createSession",
                    json={"identifier": pds.demo.handle, "password": pds.demo.app_password})
    assert response.status_code == 401
    assert response.json()["error"] == "AccountTakedown"


def test_every_xrpc_path_answers_with_an_xrpc_error(pds, http):
    unknown = xrpc(http, pds, "com.example.nothing")
    assert unknown.status_code == 501
    assert unknown.json() == {"error": "MethodNotImplemented",
                              "message": "Method Not Implemented"}
    wrong_verb = xrpc(http, pds, "com.atproto.server.createSession", method="GET")
    assert wrong_verb.status_code == 400
    assert wrong_verb.json()["error"] == "InvalidRequest"
    missing = xrpc(http, pds, "com.atproto.repo.getRecord", params={"repo": "alice.test"})
    assert missing.json() == {"error": "InvalidRequest",
                              "message": 'Params must have the property "collection"'}
    pds.control("fail_next", n="1", status="502")
    failed = xrpc(http, pds, "com.atproto.server.describeServer")
    assert failed.status_code == 502
    assert failed.json()["error"] == "UpstreamFailure"
    pds.control("fail_next", n="1", status="500")
    failed = xrpc(http, pds, "com.atproto.server.describeServer")
    assert failed.json() == {"error": "InternalServerError", "message": "Internal Server Error"}


def test_rate_limit_headers_and_429(http):
    config = BlueskySandboxConfig()
    config.rate_limits["createSession"] = (2, 300)
    with BlueskySandbox(config) as pds:
        creds = {"identifier": pds.demo.handle, "password": "wrong"}
        first = xrpc(http, pds, "com.atproto.server.createSession", json=creds)
        assert first.headers["RateLimit-Limit"] == "2"
        assert first.headers["RateLimit-Remaining"] == "1"
        assert first.headers["RateLimit-Policy"] == "2;w=300"
        xrpc(http, pds, "com.atproto.server.createSession", json=creds)
        third = xrpc(http, pds, "com.atproto.server.createSession", json=creds)
        assert third.status_code == 429
        assert third.json()["error"] == "RateLimitExceeded"
        assert int(third.headers["RateLimit-Reset"]) > 0
        assert third.headers["RateLimit-Remaining"] == "0"


def test_handle_resolution_and_did_documents(pds, http):
    demo = pds.demo
    well_known = http.get(f"{pds.base_url}/.well-known/atproto-did",
                          headers={"Host": demo.handle}, timeout=5)
    assert well_known.status_code == 200
    assert well_known.text == demo.did
    assert well_known.headers["Content-Type"].startswith("text/plain")
    unknown = http.get(f"{pds.base_url}/.well-known/atproto-did",
                       headers={"Host": "nobody.test"}, timeout=5)
    assert unknown.status_code == 404
    doc = http.get(f"{pds.base_url}/{demo.did}", timeout=5).json()
    assert doc["id"] == demo.did
    assert doc["service"][0]["serviceEndpoint"] == pds.base_url
    resolved = xrpc(http, pds, "com.atproto.identity.resolveHandle",
                    params={"handle": demo.handle})
    assert resolved.json() == {"did": demo.did}


def test_control_endpoints_refuse_unknown_actions(pds, http):
    response = http.post(f"{pds.base_url}/_sandbox/nothing", timeout=5)
    assert response.status_code == 404
    assert http.get(f"{pds.base_url}/_sandbox/status", timeout=5).json()["profile"][
        "displayName"] == "Alice Sandbox"


def test_control_endpoints_answer_loopback_clients_only(pds):
    remote = Client(pds.app).post("/_sandbox/takedown",
                                  environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 404
    assert pds.faults.takedown is False
    local = Client(pds.app).post("/_sandbox/takedown",
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200
    assert pds.faults.takedown is True
