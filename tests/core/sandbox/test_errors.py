"""Every error the sandbox answers, with X's status, code and body shape."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import requests
from avatar_studio.core.sandbox.config import SandboxConfig
from requests_oauthlib import OAuth1

from tests.core.sandbox.helpers import FAST_DELAY, SHOW, UPLOAD, VERIFY, image_bytes

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "x_user_object.json").read_text())
JSON_TYPE = "application/json;charset=utf-8"


def assert_x_error(response: requests.Response, status: int, code: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == JSON_TYPE
    assert "Date" in response.headers
    assert response.json() == {"errors": [{"code": code, "message": message}]}


def assert_legacy_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json() == {"request": UPLOAD, "error": error}


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(processing_delay=FAST_DELAY, max_image_bytes=20_000,
                         max_request_bytes=200_000, timestamp_skew_s=300)


def test_no_auth_is_400_code_215_as_recorded(sandbox):
    for path in (VERIFY, f"{SHOW}?screen_name=sandbox_user"):
        response = requests.get(f"{sandbox.base_url}{path}", timeout=10)
        assert_x_error(response, 400, 215, "Bad Authentication data.")
        assert response.text == FIXTURE["error_215"]
        assert "x-rate-limit-limit" not in response.headers
    upload = requests.post(f"{sandbox.base_url}{UPLOAD}", timeout=10,
                           files={"image": ("a.png", image_bytes())})
    assert_x_error(upload, 400, 215, "Bad Authentication data.")


def test_bad_signature_and_unknown_consumer_are_401_code_32(sandbox):
    demo = sandbox.demo
    for auth in (OAuth1(demo.api_key, "not-the-secret", demo.access_token, demo.access_secret),
                 OAuth1(demo.api_key, demo.api_secret, demo.access_token, "not-the-secret"),
                 OAuth1("unknownconsumerkey", demo.api_secret, demo.access_token,
                        demo.access_secret)):
        response = requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
        assert_x_error(response, 401, 32, "Could not authenticate you.")


def test_signed_query_tampered_in_transit_is_code_32(sandbox, auth):
    prepared = requests.Request("GET", f"{sandbox.base_url}{SHOW}", auth=auth,
                                params={"screen_name": "sandbox_user"}).prepare()
    prepared.url = f"{sandbox.base_url}{SHOW}?screen_name=someone_else"
    with requests.Session() as session:
        response = session.send(prepared, timeout=10)
    assert_x_error(response, 401, 32, "Could not authenticate you.")


def test_unknown_and_revoked_tokens_are_401_code_89(sandbox, auth):
    demo = sandbox.demo
    unknown = OAuth1(demo.api_key, demo.api_secret, f"{demo.user_id}-nosuchtoken",
                     demo.access_secret)
    assert_x_error(requests.get(f"{sandbox.base_url}{VERIFY}", auth=unknown, timeout=10),
                   401, 89, "Invalid or expired token.")
    assert requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10).status_code == 200
    # Revoked over the loopback control path, as a test of another process would.
    control = requests.post(f"{sandbox.base_url}/_sandbox/revoke_token", timeout=10,
                            data={"access_token": demo.access_token})
    assert control.json()["ok"] is True
    assert_x_error(requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10),
                   401, 89, "Invalid or expired token.")
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10)
    assert requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10).status_code == 200


@pytest.mark.parametrize("offset", [-400, 400])
def test_clock_skew_is_401_code_135(sandbox, offset):
    demo = sandbox.demo
    skewed = OAuth1(demo.api_key, demo.api_secret, demo.access_token, demo.access_secret,
                    timestamp=str(int(time.time()) + offset))
    response = requests.get(f"{sandbox.base_url}{VERIFY}", auth=skewed, timeout=10)
    assert_x_error(response, 401, 135, "Timestamp out of bounds")
    # The Date header is what clients correct their clock from.
    server_time = time.mktime(time.strptime(response.headers["Date"],
                                            "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
    assert abs(server_time - time.time()) < 5


def test_reused_nonce_is_401_code_32(sandbox, auth):
    prepared = requests.Request("GET", f"{sandbox.base_url}{VERIFY}", auth=auth).prepare()
    with requests.Session() as session:
        assert session.send(prepared, timeout=10).status_code == 200
        assert_x_error(session.send(prepared, timeout=10), 401, 32,
                       "Could not authenticate you.")


def test_read_only_app_cannot_post_legacy_body(sandbox, auth):
    sandbox.faults.set_read_only(sandbox.demo.api_key, True)
    me = requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
    assert me.status_code == 200
    assert me.headers["x-access-level"] == "read"
    response = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                             files={"image": ("a.png", image_bytes())})
    assert_legacy_error(response, 401, "Read-only application cannot POST.")
    sandbox.faults.reset()
    ok = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                       files={"image": ("a.png", image_bytes("PNG", (64, 64)))})
    assert ok.status_code == 200


def test_missing_image_is_400_code_38(sandbox, auth):
    for kwargs in ({"files": {"media": ("a.png", image_bytes())}},
                   {"data": {"include_entities": "true"}},
                   {}):
        response = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                                 **kwargs)
        assert_x_error(response, 400, 38, "image parameter is missing.")


@pytest.mark.parametrize("payload", [
    pytest.param({"files": {"image": ("a.txt", b"hello, not an image")}}, id="text"),
    pytest.param({"files": {"image": ("a.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ")}}, id="webp"),
    pytest.param({"files": {"image": ("empty.png", b"")}}, id="empty-file"),
    pytest.param({"data": {"image": "data:image/png;base64,"
                           + base64.b64encode(image_bytes("PNG", (8, 8))).decode()}},
                 id="data-url-prefix"),
    pytest.param({"data": {"image": base64.b64encode(
        base64.b64encode(image_bytes("PNG", (8, 8)))).decode()}}, id="double-base64"),
])
def test_not_an_image_is_media_type_unrecognized(sandbox, auth, payload):
    response = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10, **payload)
    assert_legacy_error(response, 400, "media type unrecognized.")


def test_too_large_is_rejected_on_decoded_bytes(sandbox, auth):
    noisy = bytes(range(256)) * 120  # 30 720 bytes, incompressible enough
    big = image_bytes("PNG", (8, 8)) + noisy  # a PNG header, then > 20 000 bytes
    message = "Image validation failed with errors: Image size must be <= 19.5 KiB."
    raw = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                        files={"image": ("big.png", big)})
    assert_legacy_error(raw, 400, message)
    # Base64 makes it 4/3 larger on the wire; the limit still applies to decoded bytes.
    fits = image_bytes("PNG", (8, 8)) + noisy[:15_000]
    encoded = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                            data={"image": base64.b64encode(fits).decode()})
    assert encoded.status_code == 200, encoded.text


def test_oversize_request_body_is_413_empty(sandbox, auth):
    response = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                             files={"image": ("huge.png", b"\x89PNG\r\n\x1a\n" + b"0" * 300_000)})
    assert response.status_code == 413
    assert response.content == b""
    assert "Date" in response.headers


def test_huge_query_string_is_414(sandbox, auth):
    image = base64.b64encode(image_bytes("PNG", (8, 8)) + bytes(range(256)) * 40).decode()
    response = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                             params={"image": image})
    assert response.status_code == 414


def test_unknown_user_is_404_code_50(sandbox, auth):
    for params in ({"screen_name": "nobody_here"}, {"user_id": "12345"}):
        response = requests.get(f"{sandbox.base_url}{SHOW}", auth=auth, params=params,
                                timeout=10)
        assert_x_error(response, 404, 50, "User not found.")
        assert response.headers["x-rate-limit-limit"] == "900"


def test_users_show_without_user_is_400_code_38(sandbox, auth):
    response = requests.get(f"{sandbox.base_url}{SHOW}", auth=auth, timeout=10)
    assert_x_error(response, 400, 38, "user_id or screen_name parameter is missing.")


def test_unknown_path_is_404_code_34(sandbox, auth):
    for method, path in (("GET", "/1.1/statuses/home_timeline.json"),
                         ("GET", UPLOAD), ("GET", "/")):
        response = requests.request(method, f"{sandbox.base_url}{path}", auth=auth, timeout=10)
        assert_x_error(response, 404, 34, "Sorry, that page does not exist.")


@pytest.mark.parametrize(("status", "code", "message"),
                         [(500, 131, "Internal error"), (503, 130, "Over capacity")])
def test_injected_server_errors(sandbox, auth, status, code, message):
    sandbox.faults.fail_next(2, status=status)
    for _ in range(2):
        assert_x_error(requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10),
                       status, code, message)
    assert requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10).status_code == 200


def test_dropped_connection(sandbox, auth):
    sandbox.faults.drop_next(1)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                      files={"image": ("a.png", image_bytes())})
    assert requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10).status_code == 200


def test_latency_delays_responses(sandbox, auth):
    sandbox.faults.set_latency(0.3)
    started = time.monotonic()
    assert requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.3
    requests.post(f"{sandbox.base_url}/_sandbox/latency", data={"seconds": "0"}, timeout=10)
    assert sandbox.faults.latency == 0


def test_control_path_rejects_bad_input(sandbox):
    bad = requests.post(f"{sandbox.base_url}/_sandbox/fail_next", timeout=10,
                        data={"n": "1", "status": "418"})
    assert bad.status_code == 400
    unknown = requests.post(f"{sandbox.base_url}/_sandbox/revoke_token", timeout=10,
                            data={"access_token": "nope"})
    assert unknown.status_code == 404
    assert requests.post(f"{sandbox.base_url}/_sandbox/explode", timeout=10).status_code == 404


def test_incomplete_oauth_header_is_215_and_unsupported_method_is_32(sandbox):
    demo = sandbox.demo
    partial = requests.get(f"{sandbox.base_url}{VERIFY}", timeout=10, headers={
        "Authorization": f'OAuth oauth_consumer_key="{demo.api_key}", '
                         f'oauth_token="{demo.access_token}"'})
    assert_x_error(partial, 400, 215, "Bad Authentication data.")
    plaintext = OAuth1(demo.api_key, demo.api_secret, demo.access_token, demo.access_secret,
                       signature_method="PLAINTEXT")
    response = requests.get(f"{sandbox.base_url}{VERIFY}", auth=plaintext, timeout=10)
    assert_x_error(response, 401, 32, "Could not authenticate you.")


def test_every_kind_of_response_has_exactly_one_date_header(sandbox, auth):
    with requests.Session() as session:
        responses = [
            session.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10),  # JSON 200
            session.get(f"{sandbox.base_url}{VERIFY}", timeout=10),  # 400
            session.get(f"{sandbox.base_url}/oauth/authorize?oauth_token=x", timeout=10),  # HTML
            session.get(f"{sandbox.base_url}/sticky/default_profile_images/"
                        "default_profile_bigger.png", timeout=10),  # image
            session.get(f"{sandbox.base_url}/profile_images/1/none_normal.png",
                        timeout=10),  # empty 404
            session.post(f"{sandbox.base_url}/oauth/access_token", timeout=10),  # no auth
            session.get(f"{sandbox.base_url}/_sandbox/status", timeout=10),
        ]
        for response in responses:
            raw_dates = response.raw.headers.getlist("Date")
            assert len(raw_dates) == 1, (response.url, raw_dates)


def _png(mode: str, size: tuple[int, int]) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("data", "error"), [
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
                 "Image validation failed with errors: Image could not be decoded.",
                 id="damaged-png"),
    pytest.param(_png("1", (6000, 6000)),
                 "Image validation failed with errors: Image dimensions are too large.",
                 id="36-megapixels"),
    pytest.param(_png("1", (10000, 10000)),
                 "Image validation failed with errors: Image dimensions are too large.",
                 id="100-megapixels-bomb"),
])
def test_undecodable_or_huge_images_are_rejected_synchronously(sandbox, auth, data, error):
    response = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                             files={"image": ("x.png", data)})
    assert_legacy_error(response, 400, error)
    assert sandbox.processor.pending == 0
