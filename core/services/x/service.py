"""X behind the seam: :data:`SERVICE` implements base.Service, SignIn and Session.

The work is :class:`~avatar_studio.core.services.x.client.XClient`'s; this module only
translates: an X user becomes an :class:`Identity`, the four OAuth 1.0a values become a
versioned :class:`Secret`, "wait for users/show" becomes ``confirm``.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.services.base import (
    BrowserAuthorization,
    ConfirmCallback,
    Confirmed,
    Identity,
    ProgressCallback,
    Publication,
    Receipt,
    Secret,
    SecretCallback,
    SignedInAccount,
    SignInKind,
    SignInRequest,
)
from avatar_studio.core.services.x import refresh, spec
from avatar_studio.core.services.x.client import (
    AccessTokens,
    ConsumerKeys,
    PinAuthorization,
    RetryPolicy,
    SignedIn,
    Timeouts,
    XClient,
    XUser,
)
from avatar_studio.core.services.x.errors import (
    HELP_URL,
    CredentialsRejected,
    NotPublishedYet,
)

#: The secret's fields: the app's consumer pair and the user's access pair.
SECRET_KEYS = ("api_key", "api_secret", "access_token", "access_secret")
SECRET_VERSION = 2
#: Test-only knobs (the CLI's tests run it as a subprocess): shorten the documented 5 s
#: minimum wait and the poll interval.
ENV_TEST_MIN_WAIT = "AVATAR_STUDIO_TEST_MIN_WAIT_S"
ENV_TEST_POLL_INTERVAL = "AVATAR_STUDIO_TEST_POLL_INTERVAL_S"


def poll_policy_from_env() -> refresh.PollPolicy:
    default = refresh.PollPolicy()
    min_wait = os.environ.get(ENV_TEST_MIN_WAIT, "").strip()
    interval = os.environ.get(ENV_TEST_POLL_INTERVAL, "").strip()
    return dataclasses.replace(
        default,
        min_wait_s=float(min_wait) if min_wait else default.min_wait_s,
        first_interval_s=float(interval) if interval else default.first_interval_s)


def identity_of(user: XUser, api_base: str) -> Identity:
    return Identity(service=spec.KEY, api_base=api_base, account_id=user.user_id,
                    handle=user.handle, display_name=user.name,
                    avatar_url=user.profile_image_url_https)


def secret_of(consumer: ConsumerKeys, tokens: AccessTokens) -> Secret:
    return Secret(spec.KEY, {"api_key": consumer.api_key, "api_secret": consumer.api_secret,
                             "access_token": tokens.token, "access_secret": tokens.secret},
                  SECRET_VERSION)


def keys_of(secret: Secret) -> tuple[ConsumerKeys, AccessTokens]:
    return (ConsumerKeys(secret["api_key"], secret["api_secret"]),
            AccessTokens(secret["access_token"], secret["access_secret"]))


def signed_in_account(signed_in: SignedIn, consumer: ConsumerKeys,
                      api_base: str) -> SignedInAccount:
    return SignedInAccount(identity_of(signed_in.user, api_base),
                           secret_of(consumer, signed_in.tokens))


class XSignIn:
    """One sign-in attempt: the PIN flow (BROWSER_CODE) or pasted tokens (TOKENS)."""

    def __init__(self, service: XService, request: SignInRequest) -> None:
        self.request = request
        self.consumer = ConsumerKeys(request.app_key.strip(), request.app_secret.strip())
        self.api_base = request.api_base or spec.DEFAULT_API_BASE
        self._service = service
        self.client = service.client(self.consumer, None, self.api_base)

    @property
    def kind(self) -> SignInKind:
        return self.request.kind

    def start_browser(self, *, cancel: threading.Event | None = None
                      ) -> BrowserAuthorization:
        auth = self.client.start_pin_sign_in()
        return BrowserAuthorization(auth.authorize_url, SignInKind.BROWSER_CODE, auth)

    def finish_browser(self, auth: BrowserAuthorization, code: str | None = None, *,
                       timeout_s: float = 300.0, cancel: threading.Event | None = None
                       ) -> SignedInAccount:
        assert isinstance(auth.state, PinAuthorization)
        signed_in = self.client.finish_pin_sign_in(auth.state, code or "")
        return signed_in_account(signed_in, self.consumer, self.client.api_base)

    def with_password(self, identifier: str, password: str, *, second_factor: str = "",
                      cancel: threading.Event | None = None) -> SignedInAccount:
        raise CredentialsRejected("X has no password sign-in; use the PIN or tokens.")

    def with_tokens(self, tokens: Mapping[str, str], *,
                    cancel: threading.Event | None = None) -> SignedInAccount:
        access = AccessTokens(tokens.get("access_token", "").strip(),
                              tokens.get("access_secret", "").strip())
        with self._service.client(self.consumer, access, self.client.api_base) as client:
            return signed_in_account(client.sign_in_with_tokens(), self.consumer,
                                     client.api_base)

    def close(self) -> None:
        self.client.close()


class XSession:
    """One signed-in X account. ``client`` is the X client, for X-only callers."""

    def __init__(self, service: XService, identity: Identity, secret: Secret) -> None:
        self._service = service
        self._identity = identity
        self._secret = secret
        consumer, tokens = keys_of(secret)
        self.client = service.client(consumer, tokens, identity.api_base,
                                     account=identity.handle)

    @property
    def service(self) -> XService:
        return self._service

    @property
    def identity(self) -> Identity:
        return self._identity

    def whoami(self, *, cancel: threading.Event | None = None) -> Identity:
        self._identity = identity_of(self.client.verify_credentials(), self.client.api_base)
        return self._identity

    def render_spec(self) -> RenderSpec:
        return spec.X_SPEC

    def publish(self, picture: Publication, *, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> Receipt:
        """The "before" picture (known, or users/show by id, or verify_credentials for
        an account not saved yet), then update_profile_image."""
        before = self._identity.avatar_url
        if not before:
            user = (self.client.show_user(self._identity.account_id, cancel=cancel)
                    if self._identity.account_id else self.client.verify_credentials())
            self._identity = identity_of(user, self.client.api_base)
            before = user.profile_image_url_https
        uploaded = self.client.upload_profile_image(
            picture.data, mime_type=picture.mime_type, filename=picture.filename,
            progress=progress, cancel=cancel)
        accepted = time.monotonic()
        identity = dataclasses.replace(identity_of(uploaded, self.client.api_base),
                                       avatar_url=before)
        self._identity = identity
        changed = uploaded.profile_image_url_https
        return Receipt(identity, before, changed if changed != before else "", accepted,
                       self.client.poll.min_wait_s)

    def confirm(self, receipt: Receipt, *, on_check: ConfirmCallback | None = None,
                cancel: threading.Event | None = None, timeout_s: float | None = None
                ) -> Confirmed:
        policy = self.client.poll
        if timeout_s is not None:
            policy = dataclasses.replace(policy, timeout_s=timeout_s)
        try:
            result = refresh.wait_for_new_image(
                self.client, receipt.identity.account_id, receipt.old_avatar_url,
                policy=policy, on_attempt=on_check, cancel=cancel)
        except NotPublishedYet as exc:
            exc.receipt = receipt
            raise
        identity = identity_of(result.user, self.client.api_base)
        self._identity = identity
        waited = (time.monotonic() - receipt.accepted_at if receipt.accepted_at
                  else result.waited_s)
        return Confirmed(identity, result.new_url, result.image, result.polls, waited)

    def download(self, url: str, *, cancel: threading.Event | None = None) -> bytes:
        return self.client.download_image(url, cancel=cancel)

    def secret(self) -> Secret:
        return self._secret

    def sign_out(self) -> None:
        """X v1.1 tokens stay valid until the user revokes the app; nothing to call."""

    def close(self) -> None:
        self.client.close()

    @property
    def min_wait_s(self) -> float:
        """How long X takes at least before users/show can show the new picture."""
        return self.client.poll.min_wait_s


class XService:
    """X's facts and factories. Tests build their own with fast poll and retry policies."""

    key = spec.KEY
    display_name = spec.DISPLAY_NAME
    default_api_base = spec.DEFAULT_API_BASE
    sign_in_kinds = (SignInKind.BROWSER_CODE, SignInKind.TOKENS)
    default_spec = spec.X_SPEC
    help_url = HELP_URL

    def __init__(self, *, poll: refresh.PollPolicy | None = None,
                 retry: RetryPolicy | None = None, timeouts: Timeouts | None = None) -> None:
        self.poll = poll
        self.retry = retry
        self.timeouts = timeouts

    def client(self, consumer: ConsumerKeys, tokens: AccessTokens | None, api_base: str, *,
               account: str = "") -> XClient:
        return XClient(consumer, tokens, api_base=api_base,
                       poll=self.poll or poll_policy_from_env(),
                       retry=self.retry or RetryPolicy(),
                       timeouts=self.timeouts or Timeouts(), account=account)

    def sign_in(self, request: SignInRequest) -> XSignIn:
        return XSignIn(self, request)

    def open_session(self, identity: Identity, secret: Secret, *,
                     on_secret_changed: SecretCallback | None = None) -> XSession:
        # OAuth 1.0a tokens never rotate: on_secret_changed is never called.
        return XSession(self, identity, self.upgrade_secret(
            {"v": secret.version, **secret.values}))

    def upgrade_secret(self, data: Mapping[str, Any]) -> Secret:
        """Version 1 (``{"v":1, api_key, api_secret, access_token, access_secret}``, the
        only service then) and version 2 (the same plus ``"service": "x"``) alike;
        ValueError when a value is missing (the caller treats the secret as damaged)."""
        values: dict[str, str] = {}
        for key in SECRET_KEYS:
            value = data.get(key)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key} is missing")
            values[key] = value
        return Secret(spec.KEY, values, SECRET_VERSION)


SERVICE = XService()
