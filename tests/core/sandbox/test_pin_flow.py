"""The three-legged PIN flow, driven the way tweepy drives it (requests-oauthlib)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from avatar_studio.core.sandbox.server import SandboxServer
from requests_oauthlib import OAuth1, OAuth1Session

from tests.core.sandbox.helpers import UPLOAD, VERIFY, image_bytes

BAD_VERIFIER = "Error processing your OAuth request: Invalid oauth_verifier parameter"


class FormReader(HTMLParser):
    """Collects the authorize form's action, hidden fields and buttons, and the PIN."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.buttons: dict[str, str] = {}
        self.pin_depth = 0
        self.pin_text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        if tag == "button":
            self.buttons[a.get("id", "")] = a.get("name", "")
        if a.get("id") == "oauth_pin" or self.pin_depth:
            self.pin_depth += 1

    def handle_endtag(self, tag):
        if self.pin_depth:
            self.pin_depth -= 1

    def handle_data(self, data):
        if self.pin_depth:
            self.pin_text += data


def read_page(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


def start(sandbox: SandboxServer, **extra: str) -> tuple[OAuth1Session, dict[str, str]]:
    demo = sandbox.demo
    session = OAuth1Session(demo.api_key, client_secret=demo.api_secret, callback_uri="oob")
    url = f"{sandbox.base_url}/oauth/request_token"
    if extra:
        url += "?" + "&".join(f"{k}={v}" for k, v in extra.items())
    token = session.fetch_request_token(url)
    return session, token


def approve(sandbox: SandboxServer, oauth_token: str, button: str = "allow") -> requests.Response:
    page = requests.get(f"{sandbox.base_url}/oauth/authorize",
                        params={"oauth_token": oauth_token}, timeout=10)
    assert page.status_code == 200
    form = read_page(page.text)
    data = dict(form.hidden)
    data[form.buttons[button]] = "1"
    return requests.post(f"{sandbox.base_url}{form.action}", data=data, timeout=10,
                         allow_redirects=False)


def pin_of(response: requests.Response) -> str:
    text = read_page(response.text).pin_text
    match = re.search(r"\b(\d{7})\b", text)
    assert match, f"no PIN inside id=oauth_pin in {response.text!r}"
    return match.group(1)


def exchange(sandbox: SandboxServer, token: dict[str, str], pin: str) -> requests.Response:
    demo = sandbox.demo
    auth = OAuth1(demo.api_key, demo.api_secret, token["oauth_token"],
                  token["oauth_token_secret"], verifier=pin)
    return requests.post(f"{sandbox.base_url}/oauth/access_token", auth=auth, timeout=10)


def test_full_pin_flow_gives_working_tokens(sandbox):
    _, token = start(sandbox)
    assert token["oauth_callback_confirmed"] == "true"

    page = requests.get(f"{sandbox.base_url}/oauth/authorize",
                        params={"oauth_token": token["oauth_token"]}, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Avatar Studio Sandbox" in page.text  # the app
    assert "@<span class=\"screen-name\">sandbox_user</span>" in page.text  # the user
    form = read_page(page.text)
    assert form.action == "/oauth/authorize"
    assert {"allow", "cancel"} <= set(form.buttons)
    assert "Authorize app" in page.text

    pin = pin_of(approve(sandbox, token["oauth_token"]))
    demo = sandbox.demo
    session = OAuth1Session(demo.api_key, client_secret=demo.api_secret,
                            resource_owner_key=token["oauth_token"],
                            resource_owner_secret=token["oauth_token_secret"], verifier=pin)
    access = session.fetch_access_token(f"{sandbox.base_url}/oauth/access_token")
    assert set(access) == {"oauth_token", "oauth_token_secret", "user_id", "screen_name"}
    assert access["user_id"] == demo.user_id
    assert access["screen_name"] == demo.screen_name
    assert access["oauth_token"].startswith(f"{demo.user_id}-")

    me = requests.get(f"{sandbox.base_url}{VERIFY}", timeout=10, auth=OAuth1(
        demo.api_key, demo.api_secret, access["oauth_token"], access["oauth_token_secret"]))
    assert me.status_code == 200
    assert me.json()["screen_name"] == "sandbox_user"


def test_pin_is_single_use(sandbox):
    _, token = start(sandbox)
    pin = pin_of(approve(sandbox, token["oauth_token"]))
    assert exchange(sandbox, token, pin).status_code == 200
    again = exchange(sandbox, token, pin)
    assert again.status_code == 401
    assert again.text == BAD_VERIFIER
    assert again.headers["Content-Type"].startswith("text/plain")


def test_wrong_pin_is_401_plain_text_and_right_pin_still_works(sandbox):
    _, token = start(sandbox)
    pin = pin_of(approve(sandbox, token["oauth_token"]))
    wrong = f"{(int(pin) + 1) % 10**7:07d}"
    bad = exchange(sandbox, token, wrong)
    assert bad.status_code == 401
    assert bad.text == BAD_VERIFIER
    assert bad.headers["Content-Type"].startswith("text/plain")
    assert "Date" in bad.headers
    assert exchange(sandbox, token, pin).status_code == 200


def test_missing_verifier_is_401_plain_text(sandbox):
    _, token = start(sandbox)
    demo = sandbox.demo
    auth = OAuth1(demo.api_key, demo.api_secret, token["oauth_token"],
                  token["oauth_token_secret"])
    response = requests.post(f"{sandbox.base_url}/oauth/access_token", auth=auth, timeout=10)
    assert response.status_code == 401
    assert response.text == BAD_VERIFIER


def test_cancel_denies_the_request_token(sandbox):
    _, token = start(sandbox)
    denied = approve(sandbox, token["oauth_token"], button="cancel")
    assert denied.status_code == 200
    assert "oauth_pin" not in denied.text
    page = requests.get(f"{sandbox.base_url}/oauth/authorize",
                        params={"oauth_token": token["oauth_token"]}, timeout=10)
    assert page.status_code == 403
    assert "invalid" in page.text


def test_authorize_ignores_extra_oauth_query_parameters(sandbox):
    # twurl copies every oauth_* header parameter into the authorize URL.
    _, token = start(sandbox)
    page = requests.get(f"{sandbox.base_url}/oauth/authorize", timeout=10, params={
        "oauth_consumer_key": sandbox.demo.api_key, "oauth_nonce": "abc",
        "oauth_signature": "xyz=", "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "1", "oauth_token": token["oauth_token"], "oauth_version": "1.0"})
    assert page.status_code == 200
    assert read_page(page.text).hidden["oauth_token"] == token["oauth_token"]


def test_unknown_request_token_page(sandbox):
    page = requests.get(f"{sandbox.base_url}/oauth/authorize",
                        params={"oauth_token": "nope"}, timeout=10)
    assert page.status_code == 403
    assert "Whoa there!" in page.text


def test_callback_flow_redirects_with_verifier(sandbox):
    demo = sandbox.demo
    session = OAuth1Session(demo.api_key, client_secret=demo.api_secret,
                            callback_uri="http://127.0.0.1:9/done")
    token = session.fetch_request_token(f"{sandbox.base_url}/oauth/request_token")
    redirect = approve(sandbox, token["oauth_token"])
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["Location"])
    assert location.path == "/done"
    query = parse_qs(location.query)
    assert query["oauth_token"] == [token["oauth_token"]]
    assert exchange(sandbox, token, query["oauth_verifier"][0]).status_code == 200


def test_read_access_type_gives_a_read_only_token(sandbox):
    _, token = start(sandbox, x_auth_access_type="read")
    pin = pin_of(approve(sandbox, token["oauth_token"]))
    access = dict(x.split("=", 1) for x in exchange(sandbox, token, pin).text.split("&"))
    demo = sandbox.demo
    auth = OAuth1(demo.api_key, demo.api_secret, access["oauth_token"],
                  access["oauth_token_secret"])
    me = requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
    assert me.headers["x-access-level"] == "read"
    post = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                         files={"image": ("a.png", image_bytes())})
    assert post.status_code == 401
    assert post.json() == {"request": UPLOAD, "error": "Read-only application cannot POST."}


@pytest.mark.parametrize("secret", ["wrong-secret"])
def test_request_token_with_bad_consumer_secret_is_code_32(sandbox, secret):
    session = OAuth1Session(sandbox.demo.api_key, client_secret=secret, callback_uri="oob")
    response = session.post(f"{sandbox.base_url}/oauth/request_token")
    assert response.status_code == 401
    assert response.json() == {"errors": [{"code": 32, "message": "Could not authenticate you."}]}


@pytest.mark.parametrize("where", ["query", "body"])
def test_verifier_outside_the_header_is_accepted(sandbox, where):
    # X's docs show oauth_verifier in the query string; some clients put it in the body.
    _, token = start(sandbox)
    pin = pin_of(approve(sandbox, token["oauth_token"]))
    demo = sandbox.demo
    auth = OAuth1(demo.api_key, demo.api_secret, token["oauth_token"],
                  token["oauth_token_secret"])
    kwargs = {"params": {"oauth_verifier": pin}} if where == "query" else {
        "data": {"oauth_verifier": pin}}
    response = requests.post(f"{sandbox.base_url}/oauth/access_token", auth=auth, timeout=10,
                             **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert parse_qs(response.text)["user_id"] == [demo.user_id]
    # A wrong verifier in the query is still refused.
    _, token2 = start(sandbox)
    approve(sandbox, token2["oauth_token"])
    auth2 = OAuth1(demo.api_key, demo.api_secret, token2["oauth_token"],
                   token2["oauth_token_secret"])
    bad = requests.post(f"{sandbox.base_url}/oauth/access_token", auth=auth2, timeout=10,
                        params={"oauth_verifier": "0000000"})
    assert bad.status_code == 401
    assert bad.text == BAD_VERIFIER
