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


def test_no_answer_from_the_browser_times_out(sandbox, service):
    attempt, auth = loopback(sandbox, service)
    with pytest.raises(errors.Cancelled) as caught:
        attempt.finish_browser(auth, timeout_s=0.3)
    assert caught.value.exit_code == 48
    assert "--code" in (caught.value.hint or "")


def test_cancel_while_waiting_for_the_browser(sandbox, service):
    attempt, auth = loopback(sandbox, service)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(errors.Cancelled) as caught:
        attempt.finish_browser(auth, timeout_s=30, cancel=cancel)
    assert caught.value.exit_code == 32


def test_instance_refusing_app_registration(service):
    """An instance that answers 403 to POST /api/v1/apps, with its words."""
    @Request.application
    def closed(request: Request) -> Response:
        if request.path == "/api/v2/instance":
            return Response('{"version":"4.5.0","domain":"closed.test",'
                            '"api_versions":{"mastodon":7}}', content_type="application/json")
        if request.path == "/api/v1/apps":
            return Response('{"error":"This instance does not allow new applications"}',
                            status=403, content_type="application/json")
        return Response("not found", status=404)

    server = make_server("127.0.0.1", 0, closed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        attempt = service.sign_in(SignInRequest(
            SignInKind.BROWSER_CODE, identifier=f"http://127.0.0.1:{server.server_port}"))
        with pytest.raises(errors.ServiceError) as caught:
            attempt.start_browser()
        assert caught.value.exit_code == 46
        assert "This instance does not allow new applications" in str(caught.value)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_no_secret_in_the_logs(sandbox, service, caplog):
    caplog.set_level("DEBUG")
    attempt, auth = loopback(sandbox, service)
    with requests.Session() as browser:
        answer = approve(browser, auth.url)
        location = answer.headers["Location"]
        browser.get(location, timeout=10)
    account = attempt.finish_browser(auth, timeout_s=10)
    session = service.open_session(account.identity, account.secret)
    session.whoami()
    session.sign_out()
    session.close()
    app = service.apps.load(sandbox.base_url)
    assert app is not None
    code = parse_qs(urlsplit(location).query)["code"][0]
    # Our records only: the test's stand-in browser (requests) logs its own URLs.
    ours = "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith("avatar_studio"))
    assert "Revoked the token" in ours
    text = ours + repr(account) + repr(app) + repr(auth)
    for secret in (account.secret["access_token"], app.client_secret, code,
                   auth.state.code_verifier):
        assert secret not in text


def test_falls_back_to_the_code_without_a_loopback_listener(sandbox, service, monkeypatch):
    from avatar_studio.core.services.mastodon import service as module

    def no_listener(state: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(module, "LoopbackListener", no_listener)
    attempt, auth = loopback(sandbox, service)
    assert auth.kind is SignInKind.BROWSER_CODE
    assert parse_qs(urlsplit(auth.url).query)["redirect_uri"] == [
        "urn:ietf:wg:oauth:2.0:oob"]
    with requests.Session() as browser:
        answer = approve(browser, auth.url)
        code = CODE.search(browser.get(answer.headers["Location"]).text)
    assert code is not None
    assert attempt.finish_browser(auth, code[1]).identity.account_id == \
        sandbox.demo.account_id
