"""Server-side OAuth 1.0a through oauthlib's endpoints and a RequestValidator.

oauthlib verifies signatures; this module only answers its questions from the sandbox
state and records *why* a request failed, so the app can answer with X's error codes
(oauthlib's own responses do not say which check failed).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from avatar_studio.core.sandbox.state import SandboxState
from oauthlib.common import Request, generate_token
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849 import SIGNATURE_HMAC_SHA1, signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def pin_generator() -> str:
    """X's PINs are 7 digits."""
    return f"{secrets.randbelow(10**7):07d}"


def token_generator() -> str:
    return str(generate_token(32))


class SandboxValidator(RequestValidator):  # type: ignore[misc]
    """Answers oauthlib's questions from :class:`SandboxState`."""

    def __init__(self, state: SandboxState, *, timestamp_skew_s: int) -> None:
        super().__init__()
        self.state = state
        self.skew = timestamp_skew_s
        self._nonces: dict[tuple[str, str, str], float] = {}
        self._nonce_lock = threading.Lock()
        self._dummy_secret = generate_token(50)
        # The request oauthlib is checking on this thread: create_*_response() does not
        # hand it back, and the app needs its validator_log to pick X's error code.
        self._local = threading.local()

    def begin(self) -> None:
        self._local.request = None

    def last_request(self) -> Request | None:
        return getattr(self._local, "request", None)

    # --- formats (X's keys contain '-', and its nonces are up to 42 characters) --------

    @property
    def enforce_ssl(self) -> bool:
        return False

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return (SIGNATURE_HMAC_SHA1,)  # the only method X documents

    @property
    def safe_characters(self) -> set[str]:
        return _SAFE

    @property
    def client_key_length(self) -> tuple[int, int]:
        return 1, 128

    @property
    def request_token_length(self) -> tuple[int, int]:
        return 1, 128

    @property
    def access_token_length(self) -> tuple[int, int]:
        return 1, 128

    @property
    def nonce_length(self) -> tuple[int, int]:
        return 1, 128

    @property
    def verifier_length(self) -> tuple[int, int]:
        return 1, 128

    @property
    def timestamp_lifetime(self) -> int:
        return self.skew

    @property
    def dummy_client(self) -> str:
        return "dummyclient"

    @property
    def dummy_request_token(self) -> str:
        return "dummyrequesttoken"

    @property
    def dummy_access_token(self) -> str:
        return "dummyaccesstoken"

    def check_nonce(self, nonce: str) -> bool:
        # Any printable ASCII nonce; X only insists on ASCII.
        return 0 < len(nonce) <= 128 and nonce.isascii() and nonce.isprintable()

    # --- clients and secrets -------------------------------------------------------------

    def validate_client_key(self, client_key: str, request: Request) -> bool:
        with self.state.lock:
            return client_key in self.state.apps

    def get_client_secret(self, client_key: str, request: Request) -> str:
        with self.state.lock:
            app = self.state.apps.get(client_key)
            return app.api_secret if app else self._dummy_secret

    def validate_timestamp_and_nonce(self, client_key: str, timestamp: str, nonce: str,
                                     request: Request, request_token: str | None = None,
                                     access_token: str | None = None) -> bool:
        self._local.request = request
        now = time.time()
        key = (client_key, timestamp, nonce)
        with self._nonce_lock:
            # Forget nonces whose timestamps are outside the window anyway.
            for old in [k for k, t in self._nonces.items() if now - t > 2 * self.skew]:
                del self._nonces[old]
            if key in self._nonces:
                request.sandbox_failure = "nonce"
                return False
            self._nonces[key] = now
        return True

    # --- request tokens ------------------------------------------------------------------

    def check_realms(self, realms: Iterable[str]) -> bool:
        # X ignores realm (RFC 5849 leaves it to the server).
        return True

    def get_default_realms(self, client_key: str, request: Request) -> list[str]:
        return []

    def validate_requested_realms(self, client_key: str, realms: Iterable[str],
                                  request: Request) -> bool:
        return True

    def validate_redirect_uri(self, client_key: str, redirect_uri: str,
                              request: Request) -> bool:
        return redirect_uri == "oob" or redirect_uri.startswith(("http://", "https://"))

    def save_request_token(self, token: dict[str, str], request: Request) -> None:
        from avatar_studio.core.sandbox.state import RequestToken

        access_type = dict(request.params or []).get("x_auth_access_type")
        with self.state.lock:
            self.state.request_tokens[token["oauth_token"]] = RequestToken(
                token=token["oauth_token"], secret=token["oauth_token_secret"],
                api_key=request.client_key, callback=request.redirect_uri or "oob",
                created_at=time.time(), access_type=access_type)
            self.state.save()

    def verify_request_token(self, token: str, request: Request) -> bool:
        with self.state.lock:
            rt = self.state.request_tokens.get(token)
            return rt is not None and not rt.denied

    def get_redirect_uri(self, token: str, request: Request) -> str:
        with self.state.lock:
            return self.state.request_tokens[token].callback

    def save_verifier(self, token: str, verifier: dict[str, str], request: Request) -> None:
        # The approving user was stored on the request token by the authorize page.
        with self.state.lock:
            rt = self.state.request_tokens[token]
            rt.verifier = verifier["oauth_verifier"]
            self.state.save()

    def validate_request_token(self, client_key: str, token: str, request: Request) -> bool:
        with self.state.lock:
            rt = self.state.request_tokens.get(token)
            ok = rt is not None and rt.api_key == client_key and not rt.denied
        if not ok:
            request.sandbox_failure = "request_token"
        return ok

    def get_request_token_secret(self, client_key: str, token: str, request: Request) -> str:
        with self.state.lock:
            rt = self.state.request_tokens.get(token)
            return rt.secret if rt else self._dummy_secret

    def validate_verifier(self, client_key: str, token: str, verifier: str,
                          request: Request) -> bool:
        with self.state.lock:
            rt = self.state.request_tokens.get(token)
            ok = (rt is not None and rt.verifier is not None and rt.user_id is not None
                  and secrets.compare_digest(rt.verifier, verifier))
            if ok:
                assert rt is not None
                request.user_id = rt.user_id
        if not ok:
            request.sandbox_failure = "verifier"
        return ok

    def get_realms(self, token: str, request: Request) -> list[str]:
        return []

    def save_access_token(self, token: dict[str, str], request: Request) -> None:
        with self.state.lock:
            rt = self.state.request_tokens[request.resource_owner_key]
            app = self.state.apps[request.client_key]
            read = rt.access_type == "read" or app.read_only
            issued = self.state.issue_access_token(
                app.api_key, int(request.user_id),
                access_level="read" if read else "read-write")
        # X's access tokens read "<user_id>-<random>": replace oauthlib's random ones.
        token["oauth_token"] = issued.token
        token["oauth_token_secret"] = issued.secret

    def invalidate_request_token(self, client_key: str, request_token: str,
                                 request: Request) -> None:
        # A PIN works once: the request token goes with it.
        with self.state.lock:
            self.state.request_tokens.pop(request_token, None)
            self.state.save()

    # --- protected resources -------------------------------------------------------------

    def validate_access_token(self, client_key: str, token: str, request: Request) -> bool:
        with self.state.lock:
            at = self.state.access_tokens.get(token)
            return at is not None and not at.revoked and at.api_key == client_key

    def get_access_token_secret(self, client_key: str, token: str, request: Request) -> str:
        with self.state.lock:
            at = self.state.access_tokens.get(token)
            return at.secret if at else self._dummy_secret

    def validate_realms(self, client_key: str, token: str, request: Request,
                        uri: str | None = None, realms: Any = None) -> bool:
        return True


_REQUIRED = ("oauth_consumer_key", "oauth_signature", "oauth_signature_method", "oauth_nonce",
             "oauth_timestamp")


@dataclass(frozen=True)
class OAuthParams:
    """The oauth_* parameters a request carries (header, query or form body)."""

    params: dict[str, str]

    @classmethod
    def collect(cls, uri_query: str, body: str | None, headers: dict[str, str]) -> OAuthParams:
        found: dict[str, str] = {}
        try:
            pairs = signature.collect_parameters(
                uri_query=uri_query, body=body or "", headers=headers,
                exclude_oauth_signature=False)
        except (ValueError, TypeError):
            pairs = []
        for key, value in pairs:
            if key.startswith("oauth_"):
                found[key] = value
        return cls(found)

    @property
    def present(self) -> bool:
        return bool(self.params)

    @property
    def complete(self) -> bool:
        """Every parameter a signed request needs is there (so a rejection is an
        authentication failure, code 32, not "bad authentication data", code 215)."""
        return all(self.params.get(k) for k in _REQUIRED)

    def timestamp_skewed(self, skew_s: int, now: float | None = None) -> bool:
        raw = self.params.get("oauth_timestamp", "")
        try:
            ts = int(raw)
        except ValueError:
            return False
        return abs((now if now is not None else time.time()) - ts) > skew_s


def gather_into_header(query: str, body: str | None,
                       headers: dict[str, str]) -> tuple[str, str | None, dict[str, str]]:
    """Move stray oauth_* parameters of a header-signed request into the header.

    X accepted ``oauth_verifier`` (and ``oauth_token``) in the query string or form body
    next to an Authorization header (its docs show exactly that); oauthlib refuses OAuth
    parameters from two places. The signature base string holds every parameter
    whatever its place, so moving them leaves the signature valid.
    """
    auth = headers.get("Authorization", "")
    if auth[:6].lower() != "oauth ":
        return query, body, headers
    try:
        in_header = {k for k, _ in parse_authorization_header(auth)}
    except (ValueError, TypeError):
        return query, body, headers
    moved: list[str] = []

    def keep_others(text: str) -> str:
        kept = []
        for segment in text.split("&"):
            name = segment.split("=", 1)[0]
            if name.startswith("oauth_") and name not in in_header and "=" in segment:
                moved.append(segment)
                in_header.add(name)
            else:
                kept.append(segment)
        return "&".join(kept)

    query = keep_others(query) if query else query
    body = keep_others(body) if body else body
    if moved:
        extra = ", ".join('{}="{}"'.format(*segment.split("=", 1)) for segment in moved)
        headers = {**headers, "Authorization": f"{auth}, {extra}"}
    return query, body, headers


class Endpoints:
    """oauthlib's four server endpoints sharing one validator."""

    def __init__(self, validator: SandboxValidator) -> None:
        self.validator = validator
        self.request_token = RequestTokenEndpoint(validator, token_generator=token_generator)
        self.authorization = AuthorizationEndpoint(validator, token_generator=pin_generator)
        self.access_token = AccessTokenEndpoint(validator, token_generator=token_generator)
        self.resource = ResourceEndpoint(validator)


def failure_reason(request: Request | None) -> str:
    """Which check rejected a request: "malformed", "nonce", "client", "token",
    "request_token", "verifier" or "signature"."""
    if request is None:
        return "malformed"
    flagged = getattr(request, "sandbox_failure", None)
    log = request.validator_log
    if flagged == "nonce":
        return "nonce"
    if not log:
        return "malformed"
    if not log.get("client", True):
        return "client"
    if not log.get("resource_owner", True):
        return "request_token" if "verifier" in log else "token"
    if not log.get("verifier", True):
        return "verifier"
    return "signature"
