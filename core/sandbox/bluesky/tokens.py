"""Session tokens as the reference PDS issues them: HS256 JWTs made and checked by PyJWT.

access:  header ``typ: at+jwt``, claims scope/sub/aud/iat/exp (2 h by default)
refresh: header ``typ: refresh+jwt``, scope ``com.atproto.refresh``, plus ``jti`` (90 days)
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

ACCESS_TYP = "at+jwt"
REFRESH_TYP = "refresh+jwt"
SCOPE_ACCESS = "com.atproto.access"
SCOPE_APP_PASS = "com.atproto.appPass"  # noqa: S105 (a scope name)
SCOPE_REFRESH = "com.atproto.refresh"


class TokenProblem(Exception):
    """A bearer token was refused; ``error``/``message`` are the XRPC body, status 400."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class Claims:
    did: str
    scope: str
    iat: int
    exp: int
    jti: str = ""


class TokenIssuer:
    """Signs and verifies the tokens of one sandbox with its own random key."""

    def __init__(self, service_did: str, *, access_lifetime_s: float,
                 refresh_lifetime_s: float) -> None:
        self.service_did = service_did
        self.access_lifetime_s = access_lifetime_s
        self.refresh_lifetime_s = refresh_lifetime_s
        self._key = secrets.token_bytes(32)

    def access(self, did: str, scope: str, now: float | None = None) -> str:
        iat = int(now if now is not None else time.time())
        # The jti is the sandbox's own addition: two tokens made in one second differ,
        # so the expire_access fault can tell them apart.
        claims = {"scope": scope, "sub": did, "aud": self.service_did, "iat": iat,
                  "exp": iat + max(1, int(self.access_lifetime_s)), "jti": new_token_id()}
        return jwt.encode(claims, self._key, algorithm="HS256", headers={"typ": ACCESS_TYP})

    def refresh(self, did: str, jti: str, now: float | None = None) -> tuple[str, int]:
        iat = int(now if now is not None else time.time())
        exp = iat + max(1, int(self.refresh_lifetime_s))
        claims = {"scope": SCOPE_REFRESH, "sub": did, "aud": self.service_did, "jti": jti,
                  "iat": iat, "exp": exp}
        return jwt.encode(claims, self._key, algorithm="HS256",
                          headers={"typ": REFRESH_TYP}), exp

    def verify(self, token: str, *, refresh: bool) -> Claims:
        """Check signature, expiry and scope; raise TokenProblem as auth-verifier.ts words it."""
        try:
            header = jwt.get_unverified_header(token)
            payload: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=["HS256"], audience=self.service_did,
                options={"require": ["exp", "iat", "sub", "scope"]})
        except jwt.ExpiredSignatureError:
            raise TokenProblem("ExpiredToken", "Token has expired") from None
        except jwt.InvalidTokenError:
            raise TokenProblem("InvalidToken", "Token could not be verified") from None
        scope = str(payload.get("scope", ""))
        wanted_typ = REFRESH_TYP if refresh else ACCESS_TYP
        scope_ok = scope == SCOPE_REFRESH if refresh else scope in (SCOPE_ACCESS,
                                                                     SCOPE_APP_PASS)
        if header.get("typ") != wanted_typ or not scope_ok:
            raise TokenProblem("InvalidToken", "Bad token scope")
        return Claims(did=str(payload["sub"]), scope=scope, iat=int(payload["iat"]),
                      exp=int(payload["exp"]), jti=str(payload.get("jti", "")))


def new_token_id() -> str:
    return secrets.token_urlsafe(24)
