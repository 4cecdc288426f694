"""The whole Mastodon sign-in, with the sandbox's authorize page in a real headless
chromium, through to our one-shot loopback listener; and what it must refuse."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from avatar_studio.core.sandbox.mastodon.config import MastodonSandboxConfig
from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox
from avatar_studio.core.services import errors, registry
from avatar_studio.core.services.base import BrowserAuthorization, SignInKind, SignInRequest
from avatar_studio.core.services.mastodon.apps import MemoryAppStore
from avatar_studio.core.services.mastodon.service import MastodonService, MastodonSignIn
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.core.mastodon.browser import available, chromium, needs_chromium, press
from tests.core.mastodon.helpers import CODE, approve

LEGACY = MastodonSandboxConfig(version="4.2.10")


@pytest.fixture
def service() -> MastodonService:
    return MastodonService(apps=MemoryAppStore())


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    if not available():
        pytest.skip("needs Debian's chromium and chromium-driver")
    with chromium() as d:
        yield d


def loopback(sandbox: MastodonSandbox, service: MastodonService, identifier: str = ""
             ) -> tuple[MastodonSignIn, BrowserAuthorization]:
    attempt = service.sign_in(SignInRequest(SignInKind.BROWSER_LOOPBACK,
                                            identifier=identifier or sandbox.base_url))
    return attempt, attempt.start_browser()


def test_registered_as_a_service():
    service = registry.get("mastodon")
    assert service.display_name == "Mastodon"
    assert SignInKind.BROWSER_LOOPBACK in service.sign_in_kinds
    assert registry.default_spec("mastodon") == service.default_spec


@needs_chromium
def test_browser_sign_in_to_the_loopback_listener(sandbox, service, driver):
    attempt, auth = loopback(sandbox, service)
    query = parse_qs(urlsplit(auth.url).query)
    assert query["scope"] == ["profile write:accounts"]
    assert query["code_challenge_method"] == ["S256"]
    redirect = urlsplit(query["redirect_uri"][0])
    assert (redirect.scheme, redirect.hostname, redirect.path) == ("http", "127.0.0.1",
                                                                   "/callback")
    assert redirect.port
    # The app's opener: here the real browser, pressing Authorize on the real page.
    page = press(driver, auth.url)
    assert "You can close this tab" in page
    account = attempt.finish_browser(auth, timeout_s=20)
    attempt.close()
    assert account.identity.handle == f"@demo@{urlsplit(sandbox.base_url).netloc}"
    assert account.identity.account_id == sandbox.demo.account_id
    assert account.secret["scope"] == "profile write:accounts"
    token = account.secret["access_token"]
    assert sandbox.state.tokens[token].scopes == ["profile", "write:accounts"]
    # The listener answered once and stopped.
    with pytest.raises(requests.ConnectionError):
        requests.get(query["redirect_uri"][0], timeout=5)


@needs_chromium
def test_out_of_band_code_shown_in_the_browser(sandbox, service, driver):
    attempt = service.sign_in(SignInRequest(SignInKind.BROWSER_CODE,
                                            identifier=sandbox.base_url))
    auth = attempt.start_browser()
    assert parse_qs(urlsplit(auth.url).query)["redirect_uri"] == [
        "urn:ietf:wg:oauth:2.0:oob"]
    page = press(driver, auth.url)
    code = page.split("paste it to the application.", 1)[1].strip()
    account = attempt.finish_browser(auth, code)
    assert account.identity.account_id == sandbox.demo.account_id


@needs_chromium
def test_deny_in_the_browser_is_refused(sandbox, service, driver):
    attempt, auth = loopback(sandbox, service)
    press(driver, auth.url, button="deny")
    with pytest.raises(errors.CodeRejected) as caught:
        attempt.finish_browser(auth, timeout_s=20)
    assert caught.value.exit_code == 47
    assert "not authorized" in str(caught.value)


@pytest.mark.allow_log_warnings
def test_state_mismatch_is_refused(sandbox, service):
    attempt, auth = loopback(sandbox, service)
    with requests.Session() as browser:
        answer = approve(browser, auth.url)
        location = answer.headers["Location"]
        forged = location.replace("state=", "state=forged")
        page = browser.get(forged, timeout=10)
    assert "Sign-in refused" in page.text
    with pytest.raises(errors.CodeRejected, match="state"):
        attempt.finish_browser(auth, timeout_s=10)


def test_pkce_verifier_mismatch_is_refused(sandbox, service):
    attempt = service.sign_in(SignInRequest(SignInKind.BROWSER_CODE,
                                            identifier=sandbox.base_url))
    auth = attempt.start_browser()
    with requests.Session() as browser:
        answer = approve(browser, auth.url)
        code = CODE.search(browser.get(answer.headers["Location"]).text)
    assert code is not None
    tampered = dataclasses.replace(auth, state=dataclasses.replace(
        auth.state, code_verifier="x" * 64))
    with pytest.raises(errors.CodeRejected) as caught:
        attempt.finish_browser(tampered, code[1])
    assert caught.value.server_message == "invalid_grant"
    # The right verifier still works: the failed try did not use the code up.
    assert attempt.finish_browser(auth, code[1]).identity.account_id


def test_app_registered_once_per_instance(sandbox, service):
    for _ in range(2):
        attempt = service.sign_in(SignInRequest(SignInKind.BROWSER_CODE,
                                                identifier=sandbox.base_url))
        attempt.start_browser()
        attempt.close()
    names = [a.name for a in sandbox.state.apps.values()]
    assert names.count("Avatar Studio") == 1
    app = service.apps.load(sandbox.base_url)
    assert app is not None
    assert app.redirect_uris == ("http://127.0.0.1/callback", "urn:ietf:wg:oauth:2.0:oob")


@pytest.mark.parametrize("sandbox_config", [LEGACY])
def test_before_4_3_least_scopes_without_pkce(sandbox, service):
    attempt = service.sign_in(SignInRequest(SignInKind.BROWSER_CODE,
                                            identifier=sandbox.base_url))
    auth = attempt.start_browser()
    query = parse_qs(urlsplit(auth.url).query)
    assert query["scope"] == ["read:accounts write:accounts"]
    assert "code_challenge" not in query
    with requests.Session() as browser:
        answer = approve(browser, auth.url)
        code = CODE.search(browser.get(answer.headers["Location"]).text)
    assert code is not None
    account = attempt.finish_browser(auth, code[1])
    assert account.secret["scope"] == "read:accounts write:accounts"


def test_webfinger_finds_the_api_host_for_a_handle(sandbox, service):
    """@demo@<web host> where the web host only serves WebFinger pointing elsewhere."""
    api = urlsplit(sandbox.base_url).netloc

    @Request.application
    def webfinger(request: Request) -> Response:
        assert request.path == "/.well-known/webfinger"
        assert request.args["resource"].startswith("acct:demo@")
        return Response('{"links":[{"rel":"self","type":"application/activity+json",'
                        f'"href":"http://{api}/users/demo"}}]}}',
                        content_type="application/jrd+json")

    server = make_server("127.0.0.1", 0, webfinger)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        handle = f"@demo@127.0.0.1:{server.server_port}"
        assert service.discover(handle) == sandbox.base_url
        attempt = service.sign_in(SignInRequest(SignInKind.BROWSER_CODE, identifier=handle))
        assert attempt.start_browser().url.startswith(sandbox.base_url + "/oauth/authorize?")
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_unknown_handle_and_non_mastodon_host(sandbox, service):
    host = urlsplit(sandbox.base_url).netloc
    with pytest.raises(errors.InvalidApiBase) as caught:
        service.discover(f"@nobody@{host}")
    assert caught.value.exit_code == 45
    with pytest.raises(errors.InvalidApiBase):
        service.discover("http://example.org")  # plain http off loopback


def test_pasted_token_checked_with_verify_credentials(sandbox, service):
    attempt = service.sign_in(SignInRequest(SignInKind.TOKENS, identifier=sandbox.base_url))
    account = attempt.with_tokens({"access_token": sandbox.demo.access_token})
    assert account.identity.account_id == sandbox.demo.account_id
    with pytest.raises(errors.TokenRevoked):
        attempt.with_tokens({"access_token": "not-a-token"})


def test_sign_out_revokes(sandbox, service):
    attempt = service.sign_in(SignInRequest(SignInKind.BROWSER_CODE,
                                            identifier=sandbox.base_url))
    auth = attempt.start_browser()
    with requests.Session() as browser:
        answer = approve(browser, auth.url)
        code = CODE.search(browser.get(answer.headers["Location"]).text)
    assert code is not None
    account = attempt.finish_browser(auth, code[1])
    session = service.open_session(account.identity, account.secret)
    assert session.whoami().account_id == sandbox.demo.account_id
    session.sign_out()
    assert sandbox.state.tokens[account.secret["access_token"]].revoked
    with pytest.raises(errors.TokenRevoked):
        session.whoami()
    session.close()
