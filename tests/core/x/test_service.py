"""X behind the seam: the registry's SERVICE signs in, publishes and confirms against the
sandbox, and every X error is one of the service-neutral categories with X's help link."""

from __future__ import annotations

import io

import pytest
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services import base, registry
from avatar_studio.core.services import errors as categories
from avatar_studio.core.services.x import errors as xe
from avatar_studio.core.services.x.service import XService, identity_of
from avatar_studio.core.services.x.spec import X_SPEC
from PIL import Image

from tests.core.x.helpers import FAST_POLL, FAST_RETRY, authorize_in_browser, noise_png

#: Every exit code X had before the seam, by class: none may change.
EXIT_CODES = {
    xe.XApiError: 20, xe.CredentialsRejected: 21, xe.TokenRevoked: 22, xe.ClockSkew: 23,
    xe.BadAuthData: 24, xe.ReadOnlyApp: 25, xe.AccessTierRefused: 26, xe.ImageRejected: 27,
    xe.RateLimited: 28, xe.ServerError: 29, xe.NetworkError: 30, xe.UnexpectedResponse: 31,
    xe.Cancelled: 32, xe.UploadCancelled: 32, xe.NotPublishedYet: 33, xe.PinRejected: 37,
    xe.InvalidApiBase: 39,
}
CATEGORY = {
    xe.CredentialsRejected: categories.CredentialsRejected,
    xe.TokenRevoked: categories.TokenRevoked, xe.ClockSkew: categories.ClockSkew,
    xe.BadAuthData: categories.BadAuthData, xe.ReadOnlyApp: categories.PermissionMissing,
    xe.AccessTierRefused: categories.PermissionMissing,
    xe.ImageRejected: categories.ImageRejected, xe.RateLimited: categories.RateLimited,
    xe.ServerError: categories.ServerError, xe.NetworkError: categories.NetworkError,
    xe.UnexpectedResponse: categories.UnexpectedResponse, xe.Cancelled: categories.Cancelled,
    xe.UploadCancelled: categories.UploadCancelled,
    xe.NotPublishedYet: categories.NotPublishedYet, xe.PinRejected: categories.CodeRejected,
    xe.InvalidApiBase: categories.InvalidApiBase,
}


def _make(cls: type[xe.XApiError]) -> xe.XApiError:
    if cls is xe.NotPublishedYet:
        return xe.NotPublishedYet("later", user_id="1", old_url="u", waited_s=1.0)
    if cls in (xe.Cancelled, xe.UploadCancelled):
        return cls()
    return cls("words")


@pytest.mark.parametrize("cls", list(EXIT_CODES))
def test_exit_codes_unchanged_and_errors_name_x(cls: type[xe.XApiError]) -> None:
    err = _make(cls)
    assert err.exit_code == EXIT_CODES[cls]
    assert isinstance(err, categories.ServiceError)
    if cls in CATEGORY:
        assert isinstance(err, CATEGORY[cls])
    assert err.service == "x"
    expected_help = (xe.PORTAL_URL if cls in (xe.ReadOnlyApp, xe.AccessTierRefused)
                     else xe.HELP_URL)
    assert err.help_url == expected_help


def test_mapped_response_carries_service_and_help() -> None:
    err = xe.error_from_response(403, {}, b'{"errors":[{"code":453,"message":"tier"}]}')
    assert isinstance(err, categories.PermissionMissing)
    assert (err.service, err.help_url, err.exit_code) == ("x", xe.PORTAL_URL, 26)


def test_registry_lists_x_with_its_spec() -> None:
    service: base.Service = registry.get("X")
    assert service is registry.get("x") is registry.default()
    assert service.default_spec is X_SPEC
    assert registry.keys()[0] == "x"
    assert base.SignInKind.BROWSER_CODE in service.sign_in_kinds
    with pytest.raises(registry.UnknownService):
        registry.get("myspace")


def test_version_1_secret_upgrades_and_damage_is_a_value_error() -> None:
    v1 = {"v": 1, "api_key": "k" * 8, "api_secret": "s" * 8, "access_token": "t" * 8,
          "access_secret": "a" * 8}
    secret = XService().upgrade_secret(v1)
    assert secret.service == "x"
    assert secret.version == 2
    assert secret["access_token"] == "t" * 8
    assert '"service":"x"' in secret.to_json()
    with pytest.raises(ValueError, match="access_secret"):
        XService().upgrade_secret({**v1, "access_secret": ""})


def test_pin_sign_in_publish_and_confirm_through_the_seam(sandbox: SandboxServer) -> None:
    service = XService(poll=FAST_POLL, retry=FAST_RETRY)
    demo = sandbox.demo
    sign_in: base.SignIn = service.sign_in(base.SignInRequest(
        base.SignInKind.BROWSER_CODE, api_base=sandbox.base_url, app_key=demo.api_key,
        app_secret=demo.api_secret))
    try:
        auth = sign_in.start_browser()
        pin = authorize_in_browser(auth.url, sandbox.base_url)
        account = sign_in.finish_browser(auth, pin)
    finally:
        sign_in.close()
    assert account.identity.handle == f"@{demo.screen_name}"
    assert account.identity.account_id == demo.user_id
    assert account.secret.service == "x"
    assert "access_token" not in repr(account)

    changed: list[base.Secret] = []
    session: base.Session = service.open_session(account.identity, account.secret,
                                                 on_secret_changed=changed.append)
    try:
        assert session.render_spec() is X_SPEC
        assert session.whoami().account_id == demo.user_id
        sent: list[tuple[int, int]] = []
        receipt = session.publish(
            base.Publication(noise_png(120), "image/png", "avatar.png", 120, 120),
            progress=lambda done, total: sent.append((done, total)))
        assert sent
        assert sent[-1][0] == sent[-1][1]
        assert receipt.processing_s == FAST_POLL.min_wait_s
        checks: list[int] = []
        confirmed = session.confirm(receipt, on_check=checks.append)
        assert confirmed.avatar_url != receipt.old_avatar_url
        assert checks
        assert confirmed.checks == checks[-1]
        # The _400x400 variant X serves (scaled up from the 120 px upload).
        assert Image.open(io.BytesIO(confirmed.image)).size == (400, 400)
        assert session.download(confirmed.avatar_url)
        assert session.secret() == account.secret
    finally:
        session.close()
    assert changed == []  # OAuth 1.0a tokens never rotate


def test_tokens_sign_in_and_not_published_yet_keeps_the_receipt(
        sandbox: SandboxServer) -> None:
    service = XService(poll=FAST_POLL, retry=FAST_RETRY)
    demo = sandbox.demo
    sign_in = service.sign_in(base.SignInRequest(
        base.SignInKind.TOKENS, api_base=sandbox.base_url, app_key=demo.api_key,
        app_secret=demo.api_secret))
    account = sign_in.with_tokens({"access_token": demo.access_token,
                                   "access_secret": demo.access_secret})
    sign_in.close()
    with pytest.raises(categories.CredentialsRejected):
        sign_in.with_password("a", "b")
    sandbox.faults.stall_processing(True)
    session = service.open_session(account.identity, account.secret)
    try:
        receipt = session.publish(base.Publication(noise_png(80), "image/png", "a.png", 80, 80))
        with pytest.raises(categories.NotPublishedYet) as caught:
            session.confirm(receipt, timeout_s=0.3)
        assert caught.value.receipt is receipt
        assert caught.value.service == "x"
        sandbox.faults.stall_processing(False)
        assert session.confirm(receipt).avatar_url != receipt.old_avatar_url
    finally:
        session.close()


def test_identity_is_the_handle_as_x_writes_it(sandbox: SandboxServer) -> None:
    from avatar_studio.core.services.x.client import XUser

    user = XUser("7", "Bob", "Bob B", "https://pbs.example/p_normal.png", False)
    identity = identity_of(user, sandbox.base_url)
    assert (identity.service, identity.handle, identity.account_id) == ("x", "@Bob", "7")
