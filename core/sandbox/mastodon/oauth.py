"""OAuth 2 as Mastodon's Doorkeeper does it, built on oauthlib's server endpoints.

Authorization code (+ PKCE S256 from 4.3, S256 only) and client credentials; client
authentication in the body or with HTTP Basic; no refresh tokens, tokens never expire;
``/oauth/revoke`` for the token's own client only. oauthlib's error texts are replaced by
Doorkeeper's own (``DOORKEEPER_TEXTS``) so clients see the words Mastodon sends.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from avatar_studio.core.sandbox.mastodon import scopes as scope_rules
from avatar_studio.core.sandbox.mastodon.config import MastodonSandboxConfig
from avatar_studio.core.sandbox.mastodon.state import MastodonState, new_secret
from oauthlib.oauth2 import RequestValidator
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant, ClientCredentialsGrant
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import (
    code_challenge_method_s256,
)
from oauthlib.oauth2.rfc6749.tokens import BearerToken

OOB = "urn:ietf:wg:oauth:2.0:oob"
#: Doorkeeper's English descriptions, by OAuth error code.
DOORKEEPER_TEXTS = {
    "invalid_grant": "The provided authorization grant is invalid, expired, revoked, does "
                     "not match the redirection URI used in the authorization request, or "
                     "was issued to another client.",
    "invalid_client": "Client authentication failed due to unknown client, no client "
                      "authentication included, or unsupported authentication method.",
    "invalid_scope": "The requested scope is invalid, unknown, or malformed.",
    "unsupported_grant_type": "The authorization grant type is not supported by the "
                              "authorization server.",
    "invalid_request": "The request is missing a required parameter, includes an "
                       "unsupported parameter value, or is otherwise malformed.",
    "unauthorized_client": "The client is not authorized to perform this request using "
                           "this method.",
    "unsupported_response_type": "The authorization server does not support this response "
                                 "type.",
    "access_denied": "The resource owner or authorization server denied the request.",
    "invalid_redirect_uri": "The requested redirect uri is malformed or doesn't match client "
                            "redirect URI.",
}
#: A code lives 10 minutes (Doorkeeper's authorization_code_expires_in default).
CODE_TTL_S = 600.0


def _loopback_ip(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redirect_matches(registered: str, requested: str) -> bool:
    """Doorkeeper's URIChecker: exact, except that the port is ignored when both are
    loopback IP literals (RFC 8252 §7.3; the name ``localhost`` does not count)."""
    if registered == requested:
        return True
    a, b = urlsplit(registered), urlsplit(requested)
    if not (_loopback_ip(a.hostname) and _loopback_ip(b.hostname)):
        return False
    return (a.scheme, a.hostname, a.path, a.query) == (b.scheme, b.hostname, b.path, b.query)


class _S256OnlyGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    # Mastodon advertises and accepts S256 only (code_challenge_methods_supported).
    _code_challenge_methods = {"S256": code_challenge_method_s256}  # noqa: RUF012


class Validator(RequestValidator):  # type: ignore[misc]
    def __init__(self, state: MastodonState, config: MastodonSandboxConfig) -> None:
        self.state = state
        self.config = config

    # --- clients ---------------------------------------------------------------------

    def _client_credentials(self, request: Any) -> tuple[str | None, str | None]:
        auth = (request.headers or {}).get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None, None
            cid, _, secret = raw.partition(":")
            return unquote(cid), unquote(secret)
        return request.client_id, getattr(request, "client_secret", None)

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        return True

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        cid, secret = self._client_credentials(request)
        with self.state.lock:
            app = self.state.apps.get(cid or "")
        if app is None or secret is None:
            return False
        if not hmac.compare_digest(app.client_secret.encode(), secret.encode()):
            return False
        request.client = app
        request.client_id = app.client_id
        return True

    def authenticate_client_id(self, client_id: str, request: Any, *args: Any,
                               **kwargs: Any) -> bool:
        return False  # confidential clients only (Mastodon always issues a secret)

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any
                           ) -> bool:
        with self.state.lock:
            return client_id in self.state.apps

    def validate_grant_type(self, client_id: str, grant_type: str, client: Any,
                            request: Any, *args: Any, **kwargs: Any) -> bool:
        return grant_type in ("authorization_code", "client_credentials")

    # --- authorization ----------------------------------------------------------------

    def validate_redirect_uri(self, client_id: str, redirect_uri: str, request: Any,
                              *args: Any, **kwargs: Any) -> bool:
        with self.state.lock:
            app = self.state.apps.get(client_id)
            return app is not None and any(redirect_matches(r, redirect_uri)
                                           for r in app.redirect_uris)

    def get_default_redirect_uri(self, client_id: str, request: Any, *args: Any,
                                 **kwargs: Any) -> str | None:
        with self.state.lock:
            app = self.state.apps.get(client_id)
            if app is not None and len(app.redirect_uris) == 1:
                return app.redirect_uris[0]
        return None

    def validate_response_type(self, client_id: str, response_type: str, client: Any,
                               request: Any, *args: Any, **kwargs: Any) -> bool:
        return response_type == "code"

    def known_scopes(self) -> tuple[str, ...]:
        return (scope_rules.ALL_SCOPES if self.config.has_oauth_metadata
                else scope_rules.LEGACY_SCOPES)

    def validate_scopes(self, client_id: str, scopes: list[str], client: Any, request: Any,
                        *args: Any, **kwargs: Any) -> bool:
        with self.state.lock:
            app = self.state.apps.get(client_id)
            if app is None:
                return False
            known = self.known_scopes()
            # Doorkeeper's enforce_configured_scopes: each one known and registered.
            return all(s in known and s in app.scopes for s in scopes)

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any
                           ) -> list[str]:
        return list(scope_rules.DEFAULT_SCOPES)

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        return False

    def save_authorization_code(self, client_id: str, code: dict[str, str], request: Any,
                                *args: Any, **kwargs: Any) -> None:
        from avatar_studio.core.sandbox.mastodon.state import Grant

        challenge = getattr(request, "code_challenge", None)
        method = getattr(request, "code_challenge_method", None)
        if not self.config.has_oauth_metadata:
            challenge = method = None  # before 4.3 the parameters were ignored
        with self.state.lock:
            self.state.grants[code["code"]] = Grant(
                code=code["code"], client_id=client_id, account_id=request.user,
                redirect_uri=request.redirect_uri, scopes=list(request.scopes),
                code_challenge=challenge, code_challenge_method=method,
                created_at=time.time())

    def _grant(self, code: str) -> Any:
        grant = self.state.grants.get(code)
        if grant is None or grant.used or time.time() - grant.created_at > CODE_TTL_S:
            return None
        return grant

    def validate_code(self, client_id: str, code: str, client: Any, request: Any,
                      *args: Any, **kwargs: Any) -> bool:
        with self.state.lock:
            grant = self._grant(code)
            if grant is None or grant.client_id != client_id:
                return False
            request.user = grant.account_id
            request.scopes = list(grant.scopes)
            return True

    def confirm_redirect_uri(self, client_id: str, code: str, redirect_uri: str,
                             client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        with self.state.lock:
            grant = self._grant(code)
            return grant is not None and redirect_uri == grant.redirect_uri

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        with self.state.lock:
            grant = self._grant(code)
            return grant.code_challenge if grant is not None else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        with self.state.lock:
            grant = self._grant(code)
            return grant.code_challenge_method if grant is not None else None

    def invalidate_authorization_code(self, client_id: str, code: str, request: Any,
                                      *args: Any, **kwargs: Any) -> None:
        with self.state.lock:
            grant = self.state.grants.get(code)
            if grant is not None:
                grant.used = True

    # --- tokens --------------------------------------------------------------------

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any,
                          **kwargs: Any) -> None:
        account_id = request.user if isinstance(request.user, str) else None
        issued = self.state.issue_token(request.client_id, account_id,
                                        list(request.scopes or []),
                                        token=token["access_token"])
        token["created_at"] = int(issued.created_at)

    def revoke_token(self, token: str, token_type_hint: str | None, request: Any,
                     *args: Any, **kwargs: Any) -> None:
        with self.state.lock:
            found = self.state.tokens.get(token)
            if found is not None and found.client_id == request.client_id:
                found.revoked = True


class Endpoints:
    """oauthlib's endpoints, wired to one validator, with Mastodon's answer shapes."""

    def __init__(self, validator: Validator) -> None:
        self.validator = validator
        bearer = BearerToken(validator, token_generator=lambda request: new_secret())
        code_grant = _S256OnlyGrant(validator)
        self.authorization = AuthorizationEndpoint(
            default_response_type="code", default_token_type=bearer,
            response_types={"code": code_grant})
        self.token = TokenEndpoint(
            default_grant_type="authorization_code", default_token_type=bearer,
            grant_types={"authorization_code": code_grant,
                         "client_credentials": ClientCredentialsGrant(validator)})
        self.revocation = RevocationEndpoint(validator, supported_token_types=["access_token"])

    def token_response(self, uri: str, body: str, headers: dict[str, str]
                       ) -> tuple[int, dict[str, Any]]:
        _, text, status = self.token.create_token_response(
            uri, http_method="POST", body=body, headers=headers)
        data = json.loads(text or "{}")
        if status != 200:
            return error_status(data), doorkeeper_error(data)
        # Doorkeeper here: no expiry, no refresh token, always a scope, a created_at.
        data.pop("expires_in", None)
        data.pop("refresh_token", None)
        data.setdefault("scope", " ".join(scope_rules.DEFAULT_SCOPES))
        return 200, {"access_token": data["access_token"], "token_type": "Bearer",
                     "scope": data["scope"], "created_at": data.get("created_at",
                                                                    int(time.time()))}


def doorkeeper_error(data: dict[str, Any]) -> dict[str, Any]:
    code = str(data.get("error", "invalid_request"))
    if code in ("invalid_code_challenge", "missing_code_challenge"):
        code = "invalid_grant"
    return {"error": code, "error_description": DOORKEEPER_TEXTS.get(
        code, DOORKEEPER_TEXTS["invalid_request"])}


def error_status(data: dict[str, Any]) -> int:
    return 401 if data.get("error") == "invalid_client" else 400
