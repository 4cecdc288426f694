"""Published OAuth 1.0a test vectors (X's "Creating a signature" page, RFC 5849).

The client side is requests-oauthlib (what tweepy uses); the server side is the sandbox's
own oauthlib endpoint and validator, so a request signed as X documents must be accepted.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
import requests
from avatar_studio.core.sandbox.oauth import Endpoints, SandboxValidator, failure_reason
from avatar_studio.core.sandbox.state import AccessToken, App, SandboxState, User
from oauthlib.common import Request
from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature
from requests_oauthlib import OAuth1

# --- X's example (developer.twitter.com "Creating a signature") --------------------------
X_URL = "https://api.twitter.com/1.1/statuses/update.json"
X_V1_URL = "https://api.twitter.com/1/statuses/update.json"
X_STATUS = "Hello Ladies + Gentlemen, a signed OAuth request!"
X_CONSUMER = ("xvz1evFS4wEEPTGEFPHBog", "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw")
X_TOKEN = ("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
           "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE")
X_NONCE = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"
X_TIMESTAMP = "1318622958"
X_SIGNATURE = "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
X_V1_SIGNATURE = "tnnArxj06cWHq44gCs1OSKk/jLY="
X_BASE_STRING = (
    "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue"
    "%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2"
    "pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth"
    "_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status"
    "%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request"
    "%2521")
#: The raw body on X's page, with lower-case percent-encoding.
X_BODY = "status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21"
FORM = "application/x-www-form-urlencoded"


def x_header(sig: str) -> str:
    params = [("oauth_consumer_key", X_CONSUMER[0]), ("oauth_nonce", X_NONCE),
              ("oauth_signature", sig), ("oauth_signature_method", "HMAC-SHA1"),
              ("oauth_timestamp", X_TIMESTAMP), ("oauth_token", X_TOKEN[0]),
              ("oauth_version", "1.0")]
    return "OAuth " + ", ".join(f'{k}="{quote(v, safe="")}"' for k, v in params)


def x_endpoints() -> Endpoints:
    """The sandbox's verifier, knowing X's example app and token (clock window wide open:
    the example is from 2011)."""
    state = SandboxState()
    state.apps[X_CONSUMER[0]] = App(api_key=X_CONSUMER[0], api_secret=X_CONSUMER[1],
                                    name="example")
    state.users[370773112] = User(user_id=370773112, screen_name="example", name="Example",
                                  created_at=time.time())
    state.access_tokens[X_TOKEN[0]] = AccessToken(token=X_TOKEN[0], secret=X_TOKEN[1],
                                                  api_key=X_CONSUMER[0], user_id=370773112)
    return Endpoints(SandboxValidator(state, timestamp_skew_s=10**10))


def test_requests_oauthlib_signs_x_example_as_documented():
    auth = OAuth1(X_CONSUMER[0], X_CONSUMER[1], X_TOKEN[0], X_TOKEN[1],
                  nonce=X_NONCE, timestamp=X_TIMESTAMP)
    for url, expected in ((X_URL, X_SIGNATURE), (X_V1_URL, X_V1_SIGNATURE)):
        prepared = requests.Request("POST", url, params={"include_entities": "true"},
                                    data={"status": X_STATUS}, auth=auth).prepare()
        header = str(prepared.headers["Authorization"])
        assert f'oauth_signature="{quote(expected, safe="")}"' in header


def test_oauthlib_base_string_matches_x_example():
    params = signature.collect_parameters(
        uri_query="include_entities=true", body=X_BODY,
        headers={"Authorization": x_header(X_SIGNATURE), "Content-Type": FORM})
    base = signature.signature_base_string(
        "POST", signature.base_string_uri(X_URL), signature.normalize_parameters(params))
    assert base == X_BASE_STRING
    client = Client(X_CONSUMER[0], client_secret=X_CONSUMER[1],
                    resource_owner_key=X_TOKEN[0], resource_owner_secret=X_TOKEN[1])
    assert signature.sign_hmac_sha1_with_client(base, client) == X_SIGNATURE


def test_sandbox_verifier_accepts_x_example_and_rejects_tampering():
    endpoints = x_endpoints()
    uri = f"{X_URL}?include_entities=true"
    headers = {"Authorization": x_header(X_SIGNATURE), "Content-Type": FORM}
    valid, req = endpoints.resource.validate_protected_resource_request(
        uri, http_method="POST", body=X_BODY, headers=headers)
    assert valid, req.validator_log if req else "unparsable"

    # Same nonce and timestamp again: a replay.
    valid, req = endpoints.resource.validate_protected_resource_request(
        uri, http_method="POST", body=X_BODY, headers=headers)
    assert not valid
    assert failure_reason(req) == "nonce"

    # The /1/ signature does not fit the /1.1/ URL.
    fresh = x_endpoints()
    valid, req = fresh.resource.validate_protected_resource_request(
        uri, http_method="POST", body=X_BODY,
        headers={"Authorization": x_header(X_V1_SIGNATURE), "Content-Type": FORM})
    assert not valid
    assert failure_reason(req) == "signature"


def test_sandbox_verifier_rejects_changed_body():
    endpoints = x_endpoints()
    valid, req = endpoints.resource.validate_protected_resource_request(
        f"{X_URL}?include_entities=true", http_method="POST",
        body=X_BODY.replace("Ladies", "Lads"),
        headers={"Authorization": x_header(X_SIGNATURE), "Content-Type": FORM})
    assert not valid
    assert failure_reason(req) == "signature"


# --- RFC 5849 ---------------------------------------------------------------------------
# (oauthlib's endpoints insist on 10-digit timestamps, and the RFC's have 9, so these are
# checked with the same oauthlib verification function the endpoints call.)

RFC_CASES = [
    pytest.param(
        "POST", "https://photos.example.net/initiate",
        {"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_signature_method": "HMAC-SHA1",
         "oauth_timestamp": "137131200", "oauth_nonce": "wIjqoS",
         "oauth_callback": "http://printer.example.com/ready"},
        ("kd94hf93k423kf44", ""), "74KNZJeDHnMBp0EMJ9ZHt/XKycU=", id="temporary-credentials"),
    pytest.param(
        "POST", "https://photos.example.net/token",
        {"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "hh5s93j4hdidpola",
         "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131201",
         "oauth_nonce": "walatlh", "oauth_verifier": "hfdp7dh39dks9884"},
        ("kd94hf93k423kf44", "hdhd0244k9j7ao03"), "gKgrFCywp7rO0OXSjdot/IHF7IU=",
        id="token-credentials"),
    pytest.param(
        "GET", "http://photos.example.net/photos?file=vacation.jpg&size=original",
        {"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
         "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131202",
         "oauth_nonce": "chapoH"},
        ("kd94hf93k423kf44", "pfkkdhi9sl3r4s00"), "MdpQcU8iPSUjWoN/UDMsK2sui9I=",
        id="resource"),
]


def rfc_request(method: str, uri: str, oauth: dict[str, str], sig: str) -> Request:
    fields = {**oauth, "oauth_signature": sig}
    header = 'OAuth realm="Photos", ' + ", ".join(
        f'{k}="{quote(v, safe="")}"' for k, v in fields.items())
    request = Request(uri, method, "", {"Authorization": header})
    request.params = signature.collect_parameters(
        uri_query=request.uri_query, headers=request.headers)
    request.signature = sig
    return request


@pytest.mark.parametrize(("method", "uri", "oauth", "keys", "expected"), RFC_CASES)
def test_rfc5849_examples_verify(method, uri, oauth, keys, expected):
    assert signature.verify_hmac_sha1(rfc_request(method, uri, oauth, expected), *keys)
    wrong = expected[:-2] + ("A=" if expected[-2] != "A" else "B=")
    assert not signature.verify_hmac_sha1(rfc_request(method, uri, oauth, wrong), *keys)


def test_rfc5849_base_string_example():
    header = ('OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", '
              'oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", '
              'oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", '
              'oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"')
    params = signature.collect_parameters(
        uri_query="b5=%3D%253D&a3=a&c%40=&a2=r%20b", body="c2&a3=2+q",
        headers={"Authorization": header, "Content-Type": FORM})
    base = signature.signature_base_string(
        "POST", signature.base_string_uri("http://example.com/request"),
        signature.normalize_parameters(params))
    assert base == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D"
        "%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce"
        "%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth"
        "_token%3Dkkk9d7dh3k39sjv7")
