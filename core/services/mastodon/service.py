"""Mastodon behind the seam: :data:`SERVICE` implements base.Service, SignIn and Session.

Sign-in: the user names an instance or a handle (WebFinger finds the API host when the
handle's domain is not it); Avatar Studio registers itself once per instance (client id
and secret in the keyring); then OAuth 2 authorization code with PKCE S256 (4.3+) in the
system browser, redirected to a one-shot loopback listener, or the out-of-band code
pasted by the user. Least scopes. Never the password grant.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from avatar_studio.core import http
from avatar_studio.core.credentials import KeyringUnavailable
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.net import is_loopback_host
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
from avatar_studio.core.services.mastodon import spec
from avatar_studio.core.services.mastodon.apps import AppStore, KeyringAppStore
from avatar_studio.core.services.mastodon.client import (
    AppRegistration,
    Instance,
    MastodonAccount,
    MastodonClient,
    RetryPolicy,
    Timeouts,
    normalize_api_base,
)
from avatar_studio.core.services.mastodon.errors import (
    AltTextTooLong,
    BrowserSignInTimedOut,
    Cancelled,
    CodeRejected,
    CredentialsRejected,
    InstanceNotFound,
    InvalidApiBase,
    MastodonError,
    SignInDenied,
)
from avatar_studio.core.services.mastodon.loopback import LoopbackListener
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import WebApplicationClient

log = logging.getLogger(__name__)

SECRET_VERSION = 1
SECRET_KEYS = ("access_token", "client_id", "client_secret", "scope")
_HANDLE = re.compile(r"^@?(?P<user>[A-Za-z0-9_.-]+)@(?P<host>[A-Za-z0-9.:\[\]-]+)$")


@dataclasses.dataclass(frozen=True)
class _Flow:
    """What finishing a browser sign-in needs (BrowserAuthorization.state)."""

    api_base: str
    app: AppRegistration
    redirect_uri: str
    state: str = dataclasses.field(repr=False)
    code_verifier: str | None = dataclasses.field(repr=False)
    scopes: tuple[str, ...]
    listener: LoopbackListener | None = None


def identity_of(account: MastodonAccount, instance: Instance) -> Identity:
    return Identity(service=spec.KEY, api_base=instance.api_base, account_id=account.id,
                    handle=f"@{account.username}@{instance.domain}",
                    display_name=account.display_name or account.username,
                    avatar_url=account.avatar)


def secret_of(token: str, app: AppRegistration | None, scopes: tuple[str, ...]) -> Secret:
    return Secret(spec.KEY, {"access_token": token,
                             "client_id": app.client_id if app else "",
                             "client_secret": app.client_secret if app else "",
                             "scope": " ".join(scopes)}, SECRET_VERSION)


class MastodonSignIn:
    """One sign-in attempt at one instance."""

    def __init__(self, service: MastodonService, request: SignInRequest) -> None:
        self._service = service
        self.request = request
        self._api_base: str | None = None
        self._flows: list[_Flow] = []

    @property
    def kind(self) -> SignInKind:
        return self.request.kind

    # -- discovery and the app ---------------------------------------------------------

    def api_base(self, *, cancel: threading.Event | None = None) -> str:
        """The instance's API base: given, typed, or found with WebFinger for a handle."""
        if self._api_base is None:
            if self.request.api_base:
                self._api_base = normalize_api_base(self.request.api_base)
            else:
                self._api_base = self._service.discover(self.request.identifier,
                                                        cancel=cancel)
        return self._api_base

    def _app(self, client: MastodonClient, instance: Instance,
             cancel: threading.Event | None) -> AppRegistration:
        wanted = (spec.LOOPBACK_REDIRECT, spec.OOB_REDIRECT)
        scopes = instance.least_scopes
        stored = self._service.load_app(instance.api_base)
        if stored is not None and set(scopes) <= set(stored.scopes) and \
                set(wanted) <= set(stored.redirect_uris):
            return stored
        app = client.register_app(redirect_uris=wanted, scopes=scopes, cancel=cancel)
        self._service.save_app(app)
        return app

    # -- browser sign-in ---------------------------------------------------------------

    def start_browser(self, *, cancel: threading.Event | None = None
                      ) -> BrowserAuthorization:
        base = self.api_base(cancel=cancel)
        with self._service.client(base) as client:
            instance = client.instance(cancel=cancel)
            app = self._app(client, instance, cancel)
        state = secrets.token_urlsafe(24)
        listener = None
        if self.kind is SignInKind.BROWSER_LOOPBACK:
            try:
                listener = LoopbackListener(state)
            except OSError as exc:
                # No loopback here (a sandboxed or locked-down system): the instance
                # shows the code instead; the returned kind tells the caller to ask for it.
                log.info("No loopback listener (%s); falling back to the pasted code",
                         exc.strerror or type(exc).__name__)
        redirect = listener.redirect_uri if listener is not None else spec.OOB_REDIRECT
        oauth = WebApplicationClient(app.client_id)
        params: list[tuple[str, str]] = [
            ("response_type", "code"), ("client_id", app.client_id),
            ("redirect_uri", redirect), ("scope", " ".join(instance.least_scopes)),
            ("state", state)]
        verifier = None
        if instance.supports_pkce:
            verifier = oauth.create_code_verifier(64)
            params += [("code_challenge", oauth.create_code_challenge(verifier, "S256")),
                       ("code_challenge_method", "S256")]
        url = add_params_to_uri(instance.endpoint("authorization_endpoint",
                                                  "/oauth/authorize"), params)
        flow = _Flow(base, app, redirect, state, verifier, instance.least_scopes, listener)
        self._flows.append(flow)
        kind = SignInKind.BROWSER_LOOPBACK if listener else SignInKind.BROWSER_CODE
        return BrowserAuthorization(url, kind, flow)

    def finish_browser(self, auth: BrowserAuthorization, code: str | None = None, *,
                       timeout_s: float = 300.0, cancel: threading.Event | None = None
                       ) -> SignedInAccount:
        flow = auth.state
        assert isinstance(flow, _Flow)
        try:
            if flow.listener is not None and code is None:
                code = self._wait_for_redirect(flow, timeout_s, cancel)
            if not code or not code.strip():
                raise CodeRejected("No authorization code was given.",
                                   hint="Copy the code the instance shows and paste it.")
            with self._service.client(flow.api_base) as client:
                token, granted = client.exchange_code(
                    flow.app, code, flow.redirect_uri, code_verifier=flow.code_verifier,
                    scopes=flow.scopes, cancel=cancel)
            return self._service.account_for(flow.api_base, token, flow.app,
                                              granted or flow.scopes, cancel=cancel)
        finally:
            if flow.listener is not None:
                flow.listener.close()

    def _wait_for_redirect(self, flow: _Flow, timeout_s: float,
                           cancel: threading.Event | None) -> str:
        assert flow.listener is not None
        try:
            query = flow.listener.wait(timeout_s, cancel)
        except ValueError:
            raise SignInDenied("The browser's answer did not carry this sign-in's state, so "
                               "it was refused.",
                               hint="Start the sign-in again from Avatar Studio.") from None
        if query is None:
            if cancel is not None and cancel.is_set():
                raise Cancelled("Sign-in cancelled.")
            raise BrowserSignInTimedOut(
                f"No answer from the browser within {timeout_s:.0f} s.",
                hint="Try again, or sign in with the code (--code).")
        if query.get("error"):
            words = query.get("error_description") or query["error"]
            raise SignInDenied(f"The sign-in was not authorized (“{words[:200]}”).",
                               hint="Press Authorize on the instance's page to sign in.",
                               server_message=words[:200])
        return query.get("code", "")

    # -- other kinds -------------------------------------------------------------------

    def with_password(self, identifier: str, password: str, *, second_factor: str = "",
                      cancel: threading.Event | None = None) -> SignedInAccount:
        raise CredentialsRejected("Mastodon sign-in never asks for your password here; use "
                                  "the browser or a token.")

    def with_tokens(self, tokens: Mapping[str, str], *,
                    cancel: threading.Event | None = None) -> SignedInAccount:
        """An access token the user made (Preferences › Development), checked first."""
        token = tokens.get("access_token", "").strip()
        if not token:
            raise CodeRejected("No access token was given.")
        base = self.api_base(cancel=cancel)
        return self._service.account_for(base, token, None,
                                         tuple(tokens.get("scope", "").split()),
                                         cancel=cancel)

    def close(self) -> None:
        for flow in self._flows:
            if flow.listener is not None:
                flow.listener.close()
        self._flows.clear()


class MastodonSession:
    def __init__(self, service: MastodonService, identity: Identity, secret: Secret) -> None:
        self._service = service
        self._identity = identity
        self._secret = secret
        self.client = service.client(identity.api_base, secret["access_token"])

    @property
    def service(self) -> MastodonService:
        return self._service

    @property
    def identity(self) -> Identity:
        return self._identity

    def instance(self, *, cancel: threading.Event | None = None) -> Instance:
        return self.client.instance(cancel=cancel)

    def whoami(self, *, cancel: threading.Event | None = None) -> Identity:
        account = self.client.verify_credentials(cancel=cancel)
        self._identity = identity_of(account, self.instance(cancel=cancel))
        return self._identity

    def render_spec(self) -> RenderSpec:
        spec_: RenderSpec = self.instance().render_spec()
        return spec_

    def alt_text_note(self, alt_text: str) -> str:
        """A plain sentence when alt text cannot be stored here ("" when it can)."""
        if not alt_text:
            return ""
        instance = self.instance()
        if instance.alt_text_supported:
            return ""
        return (f"{self.client.host} runs Mastodon {instance.version}, which does not store "
                "alt text for avatars (4.6.0 and later do); the picture was uploaded "
                "without it.")

    def publish(self, picture: Publication, *, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> Receipt:
        instance = self.instance(cancel=cancel)
        before = self._identity.avatar_url
        if not before:
            before = self.whoami(cancel=cancel).avatar_url
        description: str | None = None
        if picture.alt_text and instance.alt_text_supported:
            if len(picture.alt_text) > instance.alt_text_max:
                raise AltTextTooLong(
                    f"The alt text has {len(picture.alt_text)} characters; "
                    f"{self.client.host} stores at most {instance.alt_text_max}.",
                    hint="Shorten the alt text.")
            description = picture.alt_text
        elif picture.alt_text:
            log.info("%s cannot store avatar alt text; uploading without it",
                     self.client.host)
        account = self.client.update_avatar(picture.data, mime_type=picture.mime_type,
                                            filename=picture.filename,
                                            description=description, progress=progress,
                                            cancel=cancel)
        accepted = time.monotonic()
        identity = identity_of(account, instance)
        self._identity = identity
        return Receipt(dataclasses.replace(identity, avatar_url=before), before,
                       account.avatar, accepted)

    def confirm(self, receipt: Receipt, *, on_check: ConfirmCallback | None = None,
                cancel: threading.Event | None = None, timeout_s: float | None = None
                ) -> Confirmed:
        """Mastodon processes the avatar within the request: the answer's URL is the new
        picture; downloading it from there is the confirmation."""
        if on_check is not None:
            on_check(1)
        url = receipt.token or self._identity.avatar_url
        if timeout_s is not None:
            with http.deadline(seconds=timeout_s + 1.0):  # --wait-timeout bounds it
                image = self.client.download(url, cancel=cancel)
        else:
            image = self.client.download(url, cancel=cancel)
        identity = dataclasses.replace(receipt.identity, avatar_url=url)
        self._identity = identity
        waited = time.monotonic() - receipt.accepted_at if receipt.accepted_at else 0.0
        return Confirmed(identity, url, image, 1, waited)

    def download(self, url: str, *, cancel: threading.Event | None = None) -> bytes:
        return self.client.download(url, cancel=cancel)

    def secret(self) -> Secret:
        return self._secret

    def sign_out(self) -> None:
        """Revoke the token (POST /oauth/revoke) with the app that got it. A pasted
        token has no app here: it stays valid until the user revokes it on the instance."""
        client_id = self._secret.get("client_id")
        client_secret = self._secret.get("client_secret")
        if not client_id or not client_secret:
            log.info("No app registration for this token: it cannot be revoked from here")
            return
        app = AppRegistration(self._identity.api_base, client_id, client_secret)
        self.client.revoke(app, self._secret["access_token"])

    def close(self) -> None:
        self.client.close()


class MastodonService:
    key = spec.KEY
    display_name = spec.DISPLAY_NAME
    default_api_base = spec.DEFAULT_API_BASE
    sign_in_kinds = (SignInKind.BROWSER_LOOPBACK, SignInKind.BROWSER_CODE, SignInKind.TOKENS)
    default_spec = spec.DEFAULT_SPEC
    help_url = spec.HELP_URL

    def __init__(self, *, apps: AppStore | None = None, timeouts: Timeouts | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self._apps = apps
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()

    @property
    def apps(self) -> AppStore:
        if self._apps is None:
            self._apps = KeyringAppStore()
        return self._apps

    def load_app(self, api_base: str) -> AppRegistration | None:
        try:
            return self.apps.load(api_base)
        except KeyringUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - any keyring backend failure
            raise KeyringUnavailable(type(exc).__name__) from None

    def save_app(self, app: AppRegistration) -> None:
        try:
            self.apps.save(app)
        except KeyringUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - any keyring backend failure
            raise KeyringUnavailable(type(exc).__name__) from None

    def client(self, api_base: str, token: str | None = None) -> MastodonClient:
        return MastodonClient(api_base, token, timeouts=self.timeouts, retry=self.retry)

    def discover(self, identifier: str, *, cancel: threading.Event | None = None) -> str:
        """An instance address, or ``@user@host`` resolved with WebFinger."""
        text = identifier.strip()
        match = _HANDLE.match(text)
        if match is None:
            return normalize_api_base(text)
        user, host = match["user"], match["host"]
        bare = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        scheme = "http" if is_loopback_host(bare) else "https"
        url = f"{scheme}://{host}/.well-known/webfinger"
        with self.client(f"{scheme}://{host}") as client:
            try:
                response = client.request("GET", url, auth=False, cancel=cancel,
                                          params={"resource": f"acct:{user}@{host}"},
                                          headers={"Accept": "application/jrd+json"})
            except MastodonError as exc:
                raise InstanceNotFound(f"Could not look up @{user}@{host}: {exc}",
                                       hint=exc.hint) from None
            if response.status_code != 200:
                raise InstanceNotFound(f"{host} does not know @{user}@{host} "
                                       f"(WebFinger answered HTTP {response.status_code}).",
                                       hint="Check the handle, or type the instance "
                                            "address instead.")
            try:
                links = http.parse_json(response.content).get("links") or []
            except (ValueError, AttributeError):
                links = []
        for link in links:
            if isinstance(link, dict) and link.get("rel") == "self" and \
                    isinstance(link.get("href"), str):
                parts = urllib.parse.urlsplit(link["href"])
                if parts.scheme and parts.netloc:
                    found = normalize_api_base(f"{parts.scheme}://{parts.netloc}")
                    if found != f"{scheme}://{host}".lower():
                        log.info("@%s@%s lives on %s", user, host, found)
                    return found
        raise InstanceNotFound(f"WebFinger for @{user}@{host} names no Mastodon account.",
                               hint="Type the instance address instead.")

    def account_for(self, api_base: str, token: str, app: AppRegistration | None,
                    scopes: tuple[str, ...], *, cancel: threading.Event | None = None
                    ) -> SignedInAccount:
        with self.client(api_base, token) as client:
            instance = client.instance(cancel=cancel)
            account = client.verify_credentials(cancel=cancel)
        return SignedInAccount(identity_of(account, instance), secret_of(token, app, scopes))

    def sign_in(self, request: SignInRequest) -> MastodonSignIn:
        return MastodonSignIn(self, request)

    def open_session(self, identity: Identity, secret: Secret, *,
                     on_secret_changed: SecretCallback | None = None) -> MastodonSession:
        # Mastodon tokens never expire or rotate: on_secret_changed is never called.
        return MastodonSession(self, identity, self.upgrade_secret(
            {"v": secret.version, **secret.values}))

    def upgrade_secret(self, data: Mapping[str, Any]) -> Secret:
        """Version 1 (the first Mastodon secret); ValueError without an access token."""
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ValueError("access_token is missing")
        values = {key: str(data.get(key) or "") for key in SECRET_KEYS}
        return Secret(spec.KEY, values, SECRET_VERSION)


def session_from_token(api_base: str, token: str, *, service: MastodonService | None = None
                       ) -> MastodonSession:
    """For scripts and CI (AVATAR_STUDIO_ACCESS_TOKEN): nothing is stored."""
    service = service or SERVICE
    base = normalize_api_base(api_base)
    identity = Identity(service=spec.KEY, api_base=base, account_id="", handle="")
    return MastodonSession(service, identity, secret_of(token, None, ()))


SERVICE = MastodonService()

__all__ = ["SERVICE", "InvalidApiBase", "MastodonService", "MastodonSession",
           "MastodonSignIn", "session_from_token"]
