"""Bluesky behind the seam: :data:`SERVICE` implements base.Service, SignIn and Session.

Sign-in is a password session (``com.atproto.server.createSession`` with an app
password, SignInKind.PASSWORD); OAuth would be another SignInKind with its own SignIn
class, and the Session would not change: it only needs tokens that it can refresh.

Publishing never wipes the profile: upload the blob, read ``app.bsky.actor.profile/self``,
put the new blob into ``avatar`` keeping every other field (unknown ones too), and write
it with ``swapRecord`` = the CID just read (null when there was none), reading again on
InvalidSwap. Confirming asks getProfile until its avatar URL carries the new CID.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import jwt
from avatar_studio.core import http as core_http
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.services import errors as seam
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
from avatar_studio.core.services.bluesky import spec
from avatar_studio.core.services.bluesky.discovery import (
    Resolver,
    normalize_handle,
    pds_from_doc,
)
from avatar_studio.core.services.bluesky.errors import (
    Context,
    ProfileKeptChanging,
    XrpcFailure,
    map_failure,
)
from avatar_studio.core.services.bluesky.xrpc import Timeouts, Xrpc, validate_base

log = logging.getLogger(__name__)

SECRET_VERSION = 2  # the keyring format version all services share
SECRET_KEYS = ("did", "handle", "pds", "access_jwt", "refresh_jwt")
#: Refresh when less than this is left of the access token (the atproto SDK uses 15 min
#: of a 2 h token; a quarter of the lifetime for the short ones tests use).
REFRESH_MARGIN_S = 15 * 60
#: putRecord attempts before giving up on a profile that keeps changing (the TS agent's
#: upsertProfile tries 5 times).
SWAP_ATTEMPTS = 5


@dataclass(frozen=True)
class ConfirmPolicy:
    timeout_s: float = 60.0
    first_interval_s: float = 0.5
    max_interval_s: float = 5.0


def _exp_and_iat(token: str) -> tuple[int, int]:
    """The claims the client may read without the key (the PDS checks the signature)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.InvalidTokenError:
        return 0, 0
    exp, iat = claims.get("exp"), claims.get("iat")
    return (exp if isinstance(exp, int) else 0), (iat if isinstance(iat, int) else 0)


def secret_from_session(body: Mapping[str, Any], pds: str) -> Secret:
    return Secret(spec.KEY, {"did": str(body["did"]), "handle": str(body["handle"]),
                             "pds": pds, "access_jwt": str(body["accessJwt"]),
                             "refresh_jwt": str(body["refreshJwt"])}, SECRET_VERSION)


def cid_of_avatar_url(url: str) -> str:
    """The blob CID in a CDN avatar URL (``.../<did>/<cid>`` or ``...<cid>@jpeg``) or a
    getBlob URL (``?cid=``); "" if none."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if "cid" in query:
        return query["cid"][0]
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return last.split("@", 1)[0]


class BlueskySignIn:
    """One password sign-in attempt (SignInKind.PASSWORD)."""

    def __init__(self, service: BlueskyService, request: SignInRequest) -> None:
        self._service = service
        self.request = request
        self.api_base = validate_base(request.api_base) if request.api_base else None

    @property
    def kind(self) -> SignInKind:
        return SignInKind.PASSWORD

    def start_browser(self, *, cancel: threading.Event | None = None
                      ) -> BrowserAuthorization:
        raise seam.ServiceError("Bluesky signs in with an app password here.",
                                service=spec.KEY, help_url=spec.HELP_URL)

    def finish_browser(self, auth: BrowserAuthorization, code: str | None = None, *,
                       timeout_s: float = 300.0, cancel: threading.Event | None = None
                       ) -> SignedInAccount:
        raise seam.ServiceError("Bluesky signs in with an app password here.",
                                service=spec.KEY, help_url=spec.HELP_URL)

    def with_tokens(self, tokens: Mapping[str, str], *,
                    cancel: threading.Event | None = None) -> SignedInAccount:
        raise seam.ServiceError("Bluesky signs in with an app password here.",
                                service=spec.KEY, help_url=spec.HELP_URL)

    def where_to_sign_in(self, identifier: str) -> str:
        """The server for createSession: the given API base, else the handle's PDS
        (discovery), else (an e-mail or DID) the entryway."""
        if self.api_base:
            return self.api_base
        ident = identifier.strip()
        if "@" in ident.lstrip("@") or ident.startswith("did:"):
            return spec.DEFAULT_API_BASE
        resolver = self._service.resolver()
        try:
            return resolver.resolve(ident).pds
        finally:
            resolver.close()

    def with_password(self, identifier: str, password: str, *, second_factor: str = "",
                      cancel: threading.Event | None = None) -> SignedInAccount:
        ident = identifier.strip()
        if not ident.startswith("did:") and "@" not in ident.lstrip("@"):
            ident = normalize_handle(ident)
        if not ident or not password:
            raise seam.CredentialsRejected("Enter your Bluesky handle and an app password.",
                                           service=spec.KEY, help_url=spec.HELP_URL)
        server = self.where_to_sign_in(ident)
        body: dict[str, Any] = {"identifier": ident, "password": password.strip()}
        if second_factor.strip():
            body["authFactorToken"] = second_factor.strip()
        xrpc = self._service.xrpc(server)
        try:
            try:
                session = xrpc.call("com.atproto.server.createSession",
                                    context=Context.SIGN_IN, body=body, cancel=cancel)
            except XrpcFailure as failure:
                raise map_failure(failure, Context.SIGN_IN) from None
        finally:
            xrpc.close()
        if not isinstance(session, dict) or not all(
                isinstance(session.get(k), str) for k in ("accessJwt", "refreshJwt", "did",
                                                           "handle")):
            raise seam.UnexpectedResponse("Bluesky's sign-in answer is incomplete.",
                                          service=spec.KEY, help_url=spec.HELP_URL)
        # An entryway answers for the user's PDS: its didDoc says where that is.
        pds = pds_from_doc(session.get("didDoc"))
        pds = validate_base(pds, "The account's PDS") if pds else server
        secret = secret_from_session(session, pds)
        identity = Identity(service=spec.KEY, api_base=pds, account_id=secret["did"],
                            handle=f"@{secret['handle']}")
        account_session = self._service.open_session(identity, secret)
        try:
            identity = account_session.whoami(cancel=cancel)
            secret = account_session.secret()
        finally:
            account_session.close()
        return SignedInAccount(identity, secret)

    def close(self) -> None:
        """Nothing stays open between calls."""


class BlueskySession:
    """One signed-in Bluesky account; refreshes its tokens and hands the rotated secret to
    ``on_secret_changed`` before it uses the new tokens."""

    def __init__(self, service: BlueskyService, identity: Identity, secret: Secret,
                 on_secret_changed: SecretCallback | None) -> None:
        self._service = service
        self._identity = identity
        self._secret = secret
        self._on_secret_changed = on_secret_changed
        self._lock = threading.RLock()
        self.xrpc = service.xrpc(secret.get("pds") or identity.api_base)

    @property
    def service(self) -> BlueskyService:
        return self._service

    @property
    def identity(self) -> Identity:
        return self._identity

    @property
    def did(self) -> str:
        return self._secret["did"]

    def secret(self) -> Secret:
        with self._lock:
            return self._secret

    # --- tokens -------------------------------------------------------------------

    def _access_token(self) -> str:
        with self._lock:
            token = self._secret["access_jwt"]
            exp, iat = _exp_and_iat(token)
            margin = min(REFRESH_MARGIN_S, max(1, (exp - iat) // 4)) if exp else 0
            if not exp or exp - self._service.clock() < margin:
                self.refresh()
                token = self._secret["access_jwt"]
            return token

    def refresh(self) -> None:
        """refreshSession; the rotated secret is persisted (callback) before it is used.

        The old refresh token stays valid for the PDS's grace period, so a crash between
        the answer and the write-back keeps the account; a crash after the write-back
        finds the new token in the keyring."""
        with self._lock:
            used = self._secret["refresh_jwt"]
            try:
                body = self.xrpc.call("com.atproto.server.refreshSession",
                                      context=Context.REFRESH, token=used, procedure=True)
            except XrpcFailure as failure:
                raise map_failure(failure, Context.REFRESH) from None
            if not isinstance(body, dict) or not isinstance(body.get("refreshJwt"), str) \
                    or not isinstance(body.get("accessJwt"), str):
                raise seam.UnexpectedResponse("Bluesky's refresh answer is incomplete.",
                                              service=spec.KEY, help_url=spec.HELP_URL)
            rotated = self._secret.replace(access_jwt=body["accessJwt"],
                                           refresh_jwt=body["refreshJwt"],
                                           handle=str(body.get("handle")
                                                      or self._secret["handle"]))
            if self._on_secret_changed is not None:
                self._on_secret_changed(rotated)  # raises: the new token stays unused
            self._secret = rotated

    def _call_raw(self, nsid: str, context: Context, **kwargs: Any) -> Any:
        """An authenticated call; on ExpiredToken refresh once and try again."""
        try:
            return self.xrpc.call(nsid, context=context, token=self._access_token(),
                                  **kwargs)
        except XrpcFailure as failure:
            if failure.error != "ExpiredToken":
                raise
        self.refresh()
        return self.xrpc.call(nsid, context=context, token=self._access_token(), **kwargs)

    def _call(self, nsid: str, context: Context = Context.API, **kwargs: Any) -> Any:
        try:
            return self._call_raw(nsid, context, **kwargs)
        except XrpcFailure as failure:
            raise map_failure(failure, context) from None

    # --- Session ------------------------------------------------------------------

    def whoami(self, *, cancel: threading.Event | None = None) -> Identity:
        view = self._call("app.bsky.actor.getProfile", params={"actor": self.did},
                          cancel=cancel)
        if not isinstance(view, dict):
            raise seam.UnexpectedResponse("Bluesky's profile answer is not an object.",
                                          service=spec.KEY, help_url=spec.HELP_URL)
        self._identity = Identity(service=spec.KEY, api_base=self.xrpc.base,
                                  account_id=self.did,
                                  handle=f"@{view.get('handle') or self._secret['handle']}",
                                  display_name=str(view.get("displayName") or ""),
                                  avatar_url=str(view.get("avatar") or ""))
        return self._identity

    def render_spec(self) -> RenderSpec:
        return spec.BLUESKY_SPEC

    def read_profile(self, *, cancel: threading.Event | None = None
                     ) -> tuple[dict[str, Any], str | None]:
        """The profile record's value and CID; ({}, None) when the account has none."""
        try:
            answer = self.xrpc.call("com.atproto.repo.getRecord", cancel=cancel, params={
                "repo": self.did, "collection": spec.PROFILE_NSID, "rkey": spec.PROFILE_RKEY})
        except XrpcFailure as failure:
            if failure.error == "RecordNotFound":
                return {}, None
            raise map_failure(failure, Context.API) from None
        value = answer.get("value") if isinstance(answer, dict) else None
        cid = answer.get("cid") if isinstance(answer, dict) else None
        if not isinstance(value, dict) or not isinstance(cid, str):
            raise seam.UnexpectedResponse("Bluesky's profile record is unreadable.",
                                          service=spec.KEY, help_url=spec.HELP_URL)
        return value, cid

    def publish(self, picture: Publication, *, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> Receipt:
        if picture.mime_type not in ("image/png", "image/jpeg"):
            raise seam.ImageRejected(f"Bluesky takes PNG or JPEG avatars, not "
                                     f"{picture.mime_type}.", service=spec.KEY,
                                     help_url=spec.HELP_URL)
        before = self._identity.avatar_url
        uploaded = self._call("com.atproto.repo.uploadBlob", Context.UPLOAD,
                              data=picture.data, content_type=picture.mime_type,
                              progress=progress, cancel=cancel)
        blob = uploaded.get("blob") if isinstance(uploaded, dict) else None
        link = blob.get("ref", {}).get("$link") if isinstance(blob, dict) and isinstance(
            blob.get("ref"), dict) else None
        if not isinstance(link, str):
            raise seam.UnexpectedResponse("Bluesky's upload answer has no blob.",
                                          service=spec.KEY, help_url=spec.HELP_URL)
        assert isinstance(blob, dict)
        self._write_avatar(blob, cancel)
        return Receipt(self._identity, before, link, time.monotonic())

    def _write_avatar(self, blob: dict[str, Any], cancel: threading.Event | None) -> None:
        for _ in range(SWAP_ATTEMPTS):
            value, cid = self.read_profile(cancel=cancel)
            record = dict(value)  # every field kept, known or not
            record.setdefault("$type", spec.PROFILE_NSID)
            record["avatar"] = blob
            try:
                self._call_raw("com.atproto.repo.putRecord", Context.WRITE, cancel=cancel,
                               body={"repo": self.did, "collection": spec.PROFILE_NSID,
                                     "rkey": spec.PROFILE_RKEY, "record": record,
                                     "swapRecord": cid})
                return
            except XrpcFailure as failure:
                if failure.error != "InvalidSwap":
                    raise map_failure(failure, Context.WRITE) from None
                # Another app changed the profile since we read it: read it again.
        raise ProfileKeptChanging(
            "Your Bluesky profile kept changing while the picture was being saved; "
            "nothing was overwritten.", hint="Try again in a moment.", service=spec.KEY,
            help_url=spec.HELP_URL)

    def confirm(self, receipt: Receipt, *, on_check: ConfirmCallback | None = None,
                cancel: threading.Event | None = None, timeout_s: float | None = None
                ) -> Confirmed:
        policy = self._service.confirm_policy
        limit = policy.timeout_s if timeout_s is None else timeout_s
        # Every request inside ends by the limit (core.http.deadline): a PDS dripping its
        # answers cannot keep `upload --wait-timeout` waiting past it.
        with core_http.deadline(seconds=limit + 1.0):
            return self._confirm(receipt, limit, on_check, cancel)

    def _confirm(self, receipt: Receipt, limit: float, on_check: ConfirmCallback | None,
                 cancel: threading.Event | None) -> Confirmed:
        policy = self._service.confirm_policy
        start = time.monotonic()
        interval = policy.first_interval_s
        checks = 0
        wait = cancel or threading.Event()

        def not_yet(cancelled: bool) -> seam.NotPublishedYet:
            return seam.NotPublishedYet(
                "Bluesky accepted the picture but does not show it yet.",
                hint="Nothing is lost; check again in a moment.", receipt=receipt,
                waited_s=time.monotonic() - start, cancelled=cancelled,
                service=spec.KEY, help_url=spec.HELP_URL)

        while True:
            checks += 1
            try:
                identity: Identity | None = self.whoami(cancel=cancel)
            except seam.Cancelled:  # stopped while the check was on its way
                raise not_yet(True) from None
            except (seam.ServerError, seam.NetworkError, seam.RateLimited) as exc:
                # The picture is already saved: a passing failure while asking is "not
                # yet", and the checks go on until the time limit.
                log.info("Bluesky confirm check %d failed: %s", checks, type(exc).__name__)
                identity = None
            if on_check is not None:
                on_check(checks)
            # Compare the CID, not the URL: the CDN's URL form changes (the @jpeg suffix
            # was dropped in 2026).
            if identity is not None and identity.avatar_url and \
                    cid_of_avatar_url(identity.avatar_url) == receipt.token:
                image = self.download(identity.avatar_url, cancel=cancel)
                waited = time.monotonic() - (receipt.accepted_at or start)
                return Confirmed(identity, identity.avatar_url, image, checks, waited)
            left = limit - (time.monotonic() - start)
            if left <= 0 or wait.wait(min(interval, left)):
                raise not_yet(bool(cancel and cancel.is_set()))
            interval = min(policy.max_interval_s, interval * 2)

    def download(self, url: str, *, cancel: threading.Event | None = None) -> bytes:
        return self.xrpc.download(url, cancel=cancel)

    def sign_out(self) -> None:
        """deleteSession with the refresh token; an already ended session is fine."""
        with self._lock:
            try:
                self.xrpc.call("com.atproto.server.deleteSession", context=Context.REFRESH,
                               token=self._secret["refresh_jwt"], procedure=True)
            except XrpcFailure as failure:
                if failure.error not in ("ExpiredToken", "InvalidToken"):
                    raise map_failure(failure, Context.REFRESH) from None

    def close(self) -> None:
        self.xrpc.close()


class BlueskyService:
    """Bluesky's facts and factories; tests build their own with a loopback resolver."""

    key = spec.KEY
    display_name = spec.DISPLAY_NAME
    default_api_base = spec.DEFAULT_API_BASE
    sign_in_kinds = (SignInKind.PASSWORD,)
    default_spec = spec.BLUESKY_SPEC
    help_url = spec.HELP_URL

    def __init__(self, *, resolver: Callable[[], Resolver] | None = None,
                 timeouts: Timeouts | None = None, confirm_policy: ConfirmPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._resolver = resolver or Resolver
        self.timeouts = timeouts or Timeouts()
        self.confirm_policy = confirm_policy or ConfirmPolicy()
        self.clock = clock

    def resolver(self) -> Resolver:
        return self._resolver()

    def xrpc(self, base: str) -> Xrpc:
        return Xrpc(base, timeouts=self.timeouts)

    @staticmethod
    def password_warning(password: str) -> str:
        """A warning for a password that is not an app password ("" when it is one)."""
        return spec.app_password_warning(password)

    def sign_in(self, request: SignInRequest) -> BlueskySignIn:
        if request.kind is not SignInKind.PASSWORD:
            raise seam.ServiceError(f"Bluesky has no {request.kind.value} sign-in here.",
                                    service=spec.KEY, help_url=spec.HELP_URL)
        return BlueskySignIn(self, request)

    def open_session(self, identity: Identity, secret: Secret, *,
                     on_secret_changed: SecretCallback | None = None) -> BlueskySession:
        upgraded = self.upgrade_secret({"v": secret.version, **secret.values})
        if not identity.api_base:
            identity = replace(identity, api_base=upgraded["pds"])
        return BlueskySession(self, identity, upgraded, on_secret_changed)

    def upgrade_secret(self, data: Mapping[str, Any]) -> Secret:
        """Format 2 (the first with Bluesky); ValueError when a value is missing."""
        values: dict[str, str] = {}
        for key in SECRET_KEYS:
            value = data.get(key)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key} is missing")
            values[key] = value
        return Secret(spec.KEY, values, SECRET_VERSION)


SERVICE = BlueskyService()
