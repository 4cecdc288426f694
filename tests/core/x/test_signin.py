"""PIN and token sign-in against the sandbox over loopback HTTP."""

from __future__ import annotations

import pytest
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services.x.client import AccessTokens, ConsumerKeys, XClient
from avatar_studio.core.services.x.errors import CredentialsRejected, PinRejected, TokenRevoked

from tests.core.x.helpers import FAST_RETRY, authorize_in_browser, consumer_client, demo_client


def test_pin_sign_in(sandbox: SandboxServer) -> None:
    client = consumer_client(sandbox)
    auth = client.start_pin_sign_in()
    assert auth.authorize_url.startswith(f"{sandbox.base_url}/oauth/authorize?oauth_token=")
    assert auth.request_secret not in auth.authorize_url
    pin = authorize_in_browser(auth.authorize_url, sandbox.base_url)
    signed_in = client.finish_pin_sign_in(auth, f" {pin}\n")
    assert signed_in.user.screen_name == sandbox.demo.screen_name
    assert signed_in.user.user_id == sandbox.demo.user_id
    # The new tokens work on their own, and differ from the demo's.
    assert signed_in.tokens.token != sandbox.demo.access_token
    again = XClient(client.consumer, signed_in.tokens, api_base=sandbox.base_url)
    assert again.verify_credentials().user_id == sandbox.demo.user_id
    # A PIN works once.
    with pytest.raises(PinRejected) as exc:
        client.finish_pin_sign_in(auth, pin)
    assert exc.value.exit_code == PinRejected.exit_code


def test_wrong_pin_is_rejected(sandbox: SandboxServer) -> None:
    client = consumer_client(sandbox)
    auth = client.start_pin_sign_in()
    authorize_in_browser(auth.authorize_url, sandbox.base_url)
    with pytest.raises(PinRejected, match="PIN"):
        client.finish_pin_sign_in(auth, "0000000")


def test_request_token_with_wrong_app_secret(sandbox: SandboxServer) -> None:
    client = XClient(ConsumerKeys(sandbox.demo.api_key, "not-the-secret"),
                     api_base=sandbox.base_url, retry=FAST_RETRY)
    with pytest.raises(CredentialsRejected) as exc:
        client.start_pin_sign_in()
    assert exc.value.status == 401
    assert "not-the-secret" not in str(exc.value)


def test_token_sign_in(sandbox: SandboxServer) -> None:
    signed_in = demo_client(sandbox).sign_in_with_tokens()
    assert signed_in.user.screen_name == sandbox.demo.screen_name
    assert signed_in.user.profile_image_url_https.startswith("https://") or \
        signed_in.user.profile_image_url_https.startswith(sandbox.base_url)


def test_pasted_tokens_are_verified(sandbox: SandboxServer) -> None:
    demo = sandbox.demo
    wrong = XClient(ConsumerKeys(demo.api_key, demo.api_secret),
                    AccessTokens(demo.access_token, "wrong-secret"), api_base=sandbox.base_url,
                    retry=FAST_RETRY)
    with pytest.raises(CredentialsRejected) as exc:
        wrong.sign_in_with_tokens()
    assert exc.value.codes == (32,)
    unknown = XClient(ConsumerKeys(demo.api_key, demo.api_secret),
                      AccessTokens("1-unknown", demo.access_secret), api_base=sandbox.base_url,
                      retry=FAST_RETRY)
    with pytest.raises((TokenRevoked, CredentialsRejected)):
        unknown.sign_in_with_tokens()


def test_a_loopback_sandbox_is_never_reached_through_a_proxy(
        sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on port 9 (discard): a request sent through this proxy would fail.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with demo_client(sandbox) as client:
        assert client.verify_credentials().screen_name == sandbox.demo.screen_name
