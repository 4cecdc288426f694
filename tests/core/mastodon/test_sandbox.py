"""The Mastodon sandbox against its checklist: real HTTP on loopback, plain requests."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from avatar_studio.core.sandbox.mastodon.config import MB, MastodonSandboxConfig
from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox
from PIL import Image, ImageSequence
from werkzeug.test import Client

from tests.core.mastodon.helpers import CODE, animated_gif, approve, png, s256

OOB = "urn:ietf:wg:oauth:2.0:oob"
LEGACY = MastodonSandboxConfig(version="4.2.10")


def register(http: requests.Session, base: str, redirect: str = OOB,
             scopes: str = "profile write:accounts") -> dict[str, Any]:
    r = http.post(f"{base}/api/v1/apps", data={"client_name": "Avatar Studio",
                                               "redirect_uris": redirect, "scopes": scopes})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def authorize_url(base: str, app: dict[str, Any], redirect: str, **extra: str) -> str:
    query = {"response_type": "code", "client_id": app["client_id"],
             "redirect_uri": redirect, "scope": " ".join(app["scopes"]), **extra}
    return f"{base}/oauth/authorize?{urlencode(query)}"


def exchange(http: requests.Session, base: str, app: dict[str, Any], code: str,
             redirect: str, **extra: str) -> requests.Response:
    return http.post(f"{base}/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": redirect, **extra})


# --- instance and discovery -------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/",
                                  "/api/v2/instance", "/api/v2/instance/"])
def test_instance_with_and_without_trailing_slash(sandbox, http, path):
    r = http.get(sandbox.base_url + path)
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == "4.6.0"
    if "v2" in path:
        assert body["api_versions"] == {"mastodon": 10}
        assert body["domain"] == urlsplit(sandbox.base_url).netloc
        assert body["configuration"]["accounts"]["max_avatar_description_length"] == 1500
    else:
        assert body["uri"] == urlsplit(sandbox.base_url).netloc


def test_oauth_metadata_from_4_3(sandbox, http):
    meta = http.get(sandbox.base_url + "/.well-known/oauth-authorization-server").json()
    assert meta["authorization_endpoint"] == sandbox.base_url + "/oauth/authorize"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "profile" in meta["scopes_supported"]
    assert "password" not in meta["grant_types_supported"]


@pytest.mark.parametrize("sandbox_config", [LEGACY])
def test_before_4_3_no_metadata_no_profile_scope(sandbox, http):
    assert http.get(sandbox.base_url + "/.well-known/oauth-authorization-server"
                    ).status_code == 404
    v2 = http.get(sandbox.base_url + "/api/v2/instance").json()
    assert "api_versions" not in v2
    r = http.post(sandbox.base_url + "/api/v1/apps",
                  data={"client_name": "x", "redirect_uris": OOB, "scopes": "profile"})
    assert r.status_code == 422


# --- apps ---------------------------------------------------------------------------

def test_app_registration_form_and_json(sandbox, http):
    form = register(http, sandbox.base_url, "http://127.0.0.1/callback\n" + OOB)
    assert form["redirect_uris"] == ["http://127.0.0.1/callback", OOB]
    assert form["redirect_uri"] == "http://127.0.0.1/callback\n" + OOB
    assert form["scopes"] == ["profile", "write:accounts"]
    assert form["client_secret"]
    assert form["client_secret_expires_at"] == 0
    r = http.post(sandbox.base_url + "/api/v1/apps", json={
        "client_name": "J", "redirect_uris": ["http://127.0.0.1/callback", OOB],
        "scopes": "read write", "website": "https://example.org"})
    assert r.status_code == 200
    assert r.json()["redirect_uris"] == ["http://127.0.0.1/callback", OOB]
    assert r.json()["website"] == "https://example.org"


@pytest.mark.parametrize(("data", "message"), [
    ({"redirect_uris": OOB}, "Validation failed: Application name can't be blank"),
    ({"client_name": "a", "redirect_uris": "/relative"},
     "Validation failed: Redirect URI must be an absolute URI."),
    ({"client_name": "a"}, "Validation failed: Redirect URI can't be blank"),
])
def test_app_registration_422(sandbox, http, data, message):
    r = http.post(sandbox.base_url + "/api/v1/apps", data=data)
    assert r.status_code == 422
    assert r.json() == {"error": message}


# --- authorization code + PKCE ---------------------------------------------------------

def test_authorize_page_is_a_form_with_an_authorize_button(sandbox, http):
    app = register(http, sandbox.base_url)
    page = http.get(authorize_url(sandbox.base_url, app, OOB))
    assert page.status_code == 200
    assert "<form method='post' action='/oauth/authorize'" in page.text
    assert "id='authorize'>Authorize</button>" in page.text
    assert "Avatar Studio" in page.text
    assert "write:accounts" in page.text


def test_oob_code_shown_then_pkce_s256_exchange(sandbox, http):
    app = register(http, sandbox.base_url)
    verifier = "v" * 64
    url = authorize_url(sandbox.base_url, app, OOB, code_challenge=s256(verifier),
                        code_challenge_method="S256")
    answer = approve(http, url)
    assert answer.status_code == 302
    shown = http.get(answer.headers["Location"])
    code = CODE.search(shown.text)
    assert code is not None
    wrong = exchange(http, sandbox.base_url, app, code[1], OOB, code_verifier="w" * 64)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert wrong.json()["error_description"].startswith("The provided authorization grant")
    ok = exchange(http, sandbox.base_url, app, code[1], OOB, code_verifier=verifier)
    assert ok.status_code == 200, ok.text
    token = ok.json()
    assert token["scope"] == "profile write:accounts"
    assert set(token) == {"access_token", "token_type", "scope", "created_at"}
    again = exchange(http, sandbox.base_url, app, code[1], OOB, code_verifier=verifier)
    assert again.status_code == 400  # a code works once


def test_pkce_plain_is_refused(sandbox, http):
    app = register(http, sandbox.base_url)
    url = authorize_url(sandbox.base_url, app, OOB, code_challenge="x" * 50,
                        code_challenge_method="plain")
    page = http.get(url)
    assert page.status_code == 400
    assert "S256" not in page.text or "plain" not in page.text


def test_loopback_redirect_ignores_port_keeps_state(sandbox, http):
    app = register(http, sandbox.base_url, "http://127.0.0.1/callback")
    redirect = "http://127.0.0.1:54321/callback"
    answer = approve(http, authorize_url(sandbox.base_url, app, redirect, state="s-1"))
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert (location.netloc, location.path) == ("127.0.0.1:54321", "/callback")
    query = parse_qs(location.query)
    assert query["state"] == ["s-1"]
    ok = exchange(http, sandbox.base_url, app, query["code"][0], redirect)
    assert ok.status_code == 200


def test_localhost_is_not_a_loopback_literal(sandbox, http):
    app = register(http, sandbox.base_url, "http://localhost/callback")
    page = http.get(authorize_url(sandbox.base_url, app, "http://localhost:5555/callback"))
    assert page.status_code == 400
    assert "redirect" in page.text.lower()


def test_deny_redirects_access_denied(sandbox, http):
    app = register(http, sandbox.base_url, "http://127.0.0.1/callback")
    url = authorize_url(sandbox.base_url, app, "http://127.0.0.1:9/callback", state="q")
    page = http.get(url)
    fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
    r = http.post(sandbox.base_url + "/oauth/authorize", data={**fields, "decision": "deny"},
                  allow_redirects=False)
    query = parse_qs(urlsplit(r.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["q"]


def test_client_credentials_with_basic_auth(sandbox, http):
    app = register(http, sandbox.base_url, scopes="read")
    r = http.post(sandbox.base_url + "/oauth/token",
                  data={"grant_type": "client_credentials", "scope": "read"},
                  auth=(app["client_id"], app["client_secret"]))
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["scope"] == "read"
    me = http.get(sandbox.base_url + "/api/v1/accounts/verify_credentials",
                  headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 422
    assert me.json() == {"error": "This method requires an authenticated user"}
    bad = http.post(sandbox.base_url + "/oauth/token",
                    data={"grant_type": "client_credentials"}, auth=(app["client_id"], "no"))
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"


def test_revoke_then_401_and_other_clients_403(sandbox, http, bearer):
    demo = sandbox.demo
    other = register(http, sandbox.base_url)
    r = http.post(sandbox.base_url + "/oauth/revoke", data={
        "client_id": other["client_id"], "client_secret": other["client_secret"],
        "token": demo.access_token})
    assert r.status_code == 403
    assert r.json()["error"] == "unauthorized_client"
    r = http.post(sandbox.base_url + "/oauth/revoke", data={
        "client_id": demo.client_id, "client_secret": demo.client_secret,
        "token": demo.access_token})
    assert (r.status_code, r.json()) == (200, {})
    me = http.get(sandbox.base_url + "/api/v1/accounts/verify_credentials", headers=bearer)
    assert me.status_code == 401
    assert me.json() == {"error": "The access token is invalid"}


# --- scopes ---------------------------------------------------------------------------

@pytest.mark.parametrize(("scopes", "read", "write"), [
    ("profile", 200, 403), ("read", 200, 403), ("read:accounts", 200, 403),
    ("write:accounts", 403, 200), ("write", 403, 200), ("follow", 403, 403),
])
def test_scope_hierarchy(sandbox, http, bearer, scopes, read, write):
    sandbox.faults.set_scopes(sandbox.demo.access_token, scopes.split())
    base = sandbox.base_url
    r = http.get(base + "/api/v1/accounts/verify_credentials", headers=bearer)
    assert r.status_code == read
    w = http.patch(base + "/api/v1/accounts/update_credentials", headers=bearer,
                   files={"avatar": ("a.png", png(), "image/png")})
    assert w.status_code == write
    if write == 403:
        assert w.json() == {"error": "This action is outside the authorized scopes"}


# --- the avatar --------------------------------------------------------------------------

def test_upload_gives_new_url_each_time_and_serves_it(sandbox, http, bearer):
    base = sandbox.base_url
    before = http.get(base + "/api/v1/accounts/verify_credentials", headers=bearer).json()
    assert before["avatar"].endswith("/avatars/original/missing.png")
    urls = []
    for colour in ((255, 0, 0), (0, 0, 255)):
        r = http.patch(base + "/api/v1/accounts/update_credentials", headers=bearer,
                       files={"avatar": ("a.png", png((800, 600), colour), "image/png")})
        assert r.status_code == 200, r.text
        urls.append(r.json()["avatar"])
        assert r.json()["avatar_static"] == r.json()["avatar"]
        assert re.search(r"/accounts/avatars/110/357/222/516/183/152/original/[0-9a-f]{16}"
                         r"\.png$", urls[-1])
        served = http.get(urls[-1])
        assert served.headers["Content-Type"] == "image/png"
        with Image.open(io.BytesIO(served.content)) as im:
            assert im.size == (400, 400)
            assert im.convert("RGB").getpixel((200, 200)) == colour
    assert urls[0] != urls[1]


def test_part_without_content_type_is_sniffed(sandbox, http, bearer):
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.gif\""
            b"\r\n\r\n" + animated_gif((50, 50)) + b"\r\n--XX--\r\n")
    r = http.patch(sandbox.base_url + "/api/v1/accounts/update_credentials", data=body,
                   headers={**bearer, "Content-Type": "multipart/form-data; boundary=XX"})
    assert r.status_code == 200, r.text
    assert r.json()["avatar"].endswith(".gif")


@pytest.mark.parametrize(("data", "mime", "message"), [
    (b"%PDF-1.4 not an image", "application/pdf",
     "Validation failed: Avatar content type is invalid, Avatar is invalid"),
    (png(), "image/jpeg",
     "Validation failed: Avatar has contents that are not what they are reported to be"),
])
def test_type_rejected_422(sandbox, http, bearer, data, mime, message):
    r = http.patch(sandbox.base_url + "/api/v1/accounts/update_credentials", headers=bearer,
                   files={"avatar": ("a", data, mime)})
    assert r.status_code == 422
    assert r.json()["error"] == message
    assert "avatar" in r.json()["details"]


@pytest.mark.parametrize("sandbox_config", [LEGACY])
def test_two_megabyte_limit_with_mastodons_words(sandbox, http, bearer):
    data = png((10, 10)) + b"\0" * (2 * MB)
    r = http.patch(sandbox.base_url + "/api/v1/accounts/update_credentials", headers=bearer,
                   files={"avatar": ("a.png", data, "image/png")})
    assert r.status_code == 422
    assert r.json()["error"] == ("Validation failed: Avatar must be less than 2 MB, "
                                 "Avatar file size must be less than 2 MB")
    assert r.json()["details"]["avatar_file_size"][0]["description"] == \
        "must be less than 2 MB"


def test_animated_gif_keeps_frames_and_gets_a_static_twin(sandbox, http, bearer):
    gif = animated_gif((500, 420), 4, (80, 120, 160, 200))
    r = http.patch(sandbox.base_url + "/api/v1/accounts/update_credentials", headers=bearer,
                   files={"avatar": ("a.gif", gif, "image/gif")})
    assert r.status_code == 200
    body = r.json()
    assert body["avatar"].endswith(".gif")
    assert body["avatar_static"] != body["avatar"]
    assert body["avatar_static"].endswith(".png")
    with Image.open(io.BytesIO(http.get(body["avatar"]).content)) as im:
        assert im.size == (400, 400)
        assert [f.info["duration"] for f in ImageSequence.Iterator(im)] == [80, 120, 160, 200]
    with Image.open(io.BytesIO(http.get(body["avatar_static"]).content)) as im:
        assert im.format == "PNG"
        assert getattr(im, "n_frames", 1) == 1
    stored = sandbox.stored_avatar()
    assert stored is not None
    assert stored.frames == 4


def test_small_square_gif_is_stored_byte_for_byte(sandbox, http, bearer):
    gif = animated_gif((64, 64), 3, (50, 60, 70))
    r = http.patch(sandbox.base_url + "/api/v1/accounts/update_credentials", headers=bearer,
                   files={"avatar": ("a.gif", gif, "image/gif")})
    assert r.status_code == 200
    assert http.get(r.json()["avatar"]).content == gif


def test_profile_api_and_alt_text(sandbox, http, bearer):
    base = sandbox.base_url
    r = http.patch(base + "/api/v1/profile", headers=bearer,
                   files={"avatar": ("a.png", png(), "image/png")},
                   data={"avatar_description": "A red square"})
    assert r.status_code == 200, r.text
    assert r.json()["avatar_description"] == "A red square"
    me = http.get(base + "/api/v1/accounts/verify_credentials", headers=bearer).json()
    assert me["avatar_description"] == "A red square"
    assert me["avatar"] == r.json()["avatar"]
    long = http.patch(base + "/api/v1/accounts/update_credentials", headers=bearer,
                      data={"avatar_description": "x" * 1501})
    assert long.status_code == 422
    assert long.json()["error"] == ("Validation failed: Avatar description is too long "
                                    "(maximum is 1500 characters)")
    gone = http.delete(base + "/api/v1/profile/avatar", headers=bearer).json()
    assert gone["avatar"].endswith("/avatars/original/missing.png")


@pytest.mark.parametrize("sandbox_config", [LEGACY])
def test_no_profile_api_and_no_alt_text_before_4_6(sandbox, http, bearer):
    base = sandbox.base_url
    assert http.get(base + "/api/v1/profile", headers=bearer).status_code == 404
    r = http.patch(base + "/api/v1/accounts/update_credentials", headers=bearer,
                   data={"avatar_description": "ignored"})
    assert r.status_code == 200
    assert "avatar_description" not in r.json()


def test_data_uri_string_is_a_500(sandbox, http, bearer):
    r = http.patch(sandbox.base_url + "/api/v1/accounts/update_credentials", headers=bearer,
                   data={"avatar": "data:image/png;base64,AAAA"})
    assert r.status_code == 500


# --- rate limits and faults ------------------------------------------------------------

def test_rate_limit_headers_and_429(sandbox_config, http):
    sandbox_config.rate_limit = 2
    with MastodonSandbox(sandbox_config) as sb:
        headers = {"Authorization": f"Bearer {sb.demo.access_token}"}
        url = sb.base_url + "/api/v1/accounts/verify_credentials"
        first = http.get(url, headers=headers)
        assert first.headers["X-RateLimit-Limit"] == "2"
        assert first.headers["X-RateLimit-Remaining"] == "1"
        reset = datetime.strptime(first.headers["X-RateLimit-Reset"],
                                  "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert reset > datetime.now(UTC)
        http.get(url, headers=headers)
        third = http.get(url, headers=headers)
        assert third.status_code == 429
        assert third.json() == {"error": "Too many requests"}
        assert third.headers["X-RateLimit-Remaining"] == "0"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_fail_next(sandbox, http, bearer, status):
    sandbox.faults.fail_next(1, status)
    url = sandbox.base_url + "/api/v1/accounts/verify_credentials"
    assert http.get(url, headers=bearer).status_code == status
    assert http.get(url, headers=bearer).status_code == 200


def test_drop_next_and_rate_limit_next_by_control(sandbox, http, bearer):
    base = sandbox.base_url
    assert http.post(base + "/_sandbox/drop_next", data={"n": "1"}).json()["ok"]
    with pytest.raises(requests.ConnectionError):
        http.get(base + "/api/v1/accounts/verify_credentials", headers=bearer)
    http.post(base + "/_sandbox/rate_limit_next", data={"n": "1", "reset_in": "3"})
    r = http.get(base + "/api/v1/accounts/verify_credentials", headers=bearer)
    assert r.status_code == 429
    assert r.headers["X-RateLimit-Remaining"] == "0"
    http.post(base + "/_sandbox/reset")
    assert http.get(base + "/api/v1/accounts/verify_credentials",
                    headers=bearer).status_code == 200


def test_control_is_loopback_only(sandbox):
    client = Client(sandbox.app)
    remote = client.post("/_sandbox/reset", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 404
    local = client.post("/_sandbox/reset", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200
