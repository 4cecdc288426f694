"""Mastodon's error responses mapped onto the service-neutral categories.

The body is ``{"error": "..."}`` (plus ``error_description`` from the OAuth endpoints and
``details`` on newer 422s); the server's own words go into the message. Mastodon-only
refinements use the reserved exit codes 45-49 (README, "Exit codes").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from avatar_studio.core.services import errors as _base
from avatar_studio.core.services.mastodon.spec import HELP_URL, KEY

#: Longest piece of the server's own words we repeat.
MAX_SERVER_TEXT = 300


class MastodonError(_base.ServiceError):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("service", KEY)
        kwargs.setdefault("help_url", HELP_URL)
        super().__init__(*args, **kwargs)


class CredentialsRejected(MastodonError, _base.CredentialsRejected):
    """invalid_client: the instance no longer knows our app registration."""


class TokenRevoked(MastodonError, _base.TokenRevoked):
    """401: the token is invalid or was revoked (in the instance's settings)."""


class PermissionMissing(MastodonError, _base.PermissionMissing):
    """403: a scope is missing, or the login is disabled / unconfirmed / pending."""


class ImageRejected(MastodonError, _base.ImageRejected):
    """422 on the avatar (Paperclip's words)."""


class RateLimited(MastodonError, _base.RateLimited):
    pass


class ServerError(MastodonError, _base.ServerError):
    pass


class NetworkError(MastodonError, _base.NetworkError):
    pass


class UnexpectedResponse(MastodonError, _base.UnexpectedResponse):
    pass


class Cancelled(MastodonError, _base.Cancelled):
    pass


class UploadCancelled(MastodonError, _base.UploadCancelled):
    pass


class CodeRejected(MastodonError, _base.CodeRejected):
    """invalid_grant: the pasted or redirected code is wrong, used or expired."""


class InvalidApiBase(MastodonError, _base.InvalidApiBase):
    pass


class InstanceNotFound(MastodonError, _base.InvalidApiBase):
    """Exit 45: no Mastodon server answers there (nor through WebFinger for a handle)."""

    exit_code = 45


class AppRegistrationFailed(MastodonError, _base.UnexpectedResponse):
    """Exit 46: the instance refused to register Avatar Studio (POST /api/v1/apps)."""

    exit_code = 46


class SignInDenied(MastodonError, _base.CodeRejected):
    """Exit 47: Deny was pressed, or the redirect's state was not ours (refused)."""

    exit_code = 47


class BrowserSignInTimedOut(MastodonError, _base.Cancelled):
    """Exit 48: no answer from the browser in time."""

    exit_code = 48


class AltTextTooLong(MastodonError, _base.ImageRejected):
    """Exit 49: the alt text is longer than the instance stores."""

    exit_code = 49


class Context(Enum):
    API = "api"
    UPLOAD = "upload"
    OAUTH = "oauth"
    REGISTER = "register"
    IMAGE = "image"


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text[:MAX_SERVER_TEXT]


def server_words(body: bytes) -> tuple[str, str]:
    """(error, description) from a Mastodon/Doorkeeper JSON body; ("", "") otherwise."""
    try:
        data = json.loads(body.decode("utf-8", errors="replace"))
    except ValueError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    error = data.get("error")
    description = data.get("error_description")
    return (_clean(error) if isinstance(error, str) else "",
            _clean(description) if isinstance(description, str) else "")


def parse_reset(value: str | None) -> datetime | None:
    """X-RateLimit-Reset: ISO 8601 (``2026-07-02T10:15:00.000000Z``)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def error_from_response(status: int, headers: Mapping[str, str], body: bytes, *,
                        host: str, context: Context = Context.API,
                        redact: Any = None) -> MastodonError:
    error, description = server_words(body)
    if redact is not None:
        error, description = redact(error), redact(description)
    said = error or description
    words = f" ({host} says: “{said}”)" if said else ""
    kwargs: dict[str, Any] = {"status": status, "server_message": said or None}
    if context is Context.OAUTH:
        if error == "invalid_grant":
            return CodeRejected(f"{host} did not accept the authorization code: it is wrong, "
                                "was used already or has expired.",
                                hint="Sign in again to get a fresh code.", **kwargs)
        if error == "invalid_client":
            return CredentialsRejected(f"{host} no longer knows Avatar Studio's app "
                                       "registration.", hint="Sign in again: the app is "
                                       "registered anew.", **kwargs)
    if context is Context.REGISTER and status < 500 and status != 429:
        return AppRegistrationFailed(f"{host} refused to register Avatar Studio "
                                     f"(HTTP {status}){words}.",
                                     hint="The instance may not allow new apps; ask its "
                                          "admins.", **kwargs)
    if status == 401:
        return TokenRevoked(f"Mastodon refused the sign-in{words}: the access token is "
                            "invalid or was revoked.",
                            hint="Sign in to the account again.", **kwargs)
    if status == 403:
        if "scope" in said.lower():
            return PermissionMissing(
                f"The sign-in is missing a permission{words}.",
                hint="Sign in again and allow changing the profile (write:accounts).",
                **kwargs)
        return PermissionMissing(f"Mastodon refused this account{words}.",
                                 hint="Check the account in the instance's web interface.",
                                 **kwargs)
    if status == 422 and context is Context.UPLOAD:
        return ImageRejected(f"Mastodon did not accept the picture{words}.",
                             hint="Try another picture, or a smaller or simpler one.",
                             **kwargs)
    if status == 429:
        reset = parse_reset(headers.get("X-RateLimit-Reset")
                            or headers.get("x-ratelimit-reset"))
        when = f" until {reset.astimezone().strftime('%H:%M:%S')}" if reset else ""
        return RateLimited(f"{host} is rate-limiting this account{when}{words}.",
                           hint="Wait until then and try again.", reset_at=reset, **kwargs)
    if status >= 500:
        return ServerError(f"{host} had a server error (HTTP {status}){words}.",
                           hint="Try again in a few minutes.", **kwargs)
    if status == 404:
        return InstanceNotFound(f"{host} has no such Mastodon API endpoint (HTTP 404).",
                                hint="Check the instance address.", **kwargs)
    return UnexpectedResponse(f"{host} answered HTTP {status}{words}.",
                              hint="Try again; if it persists, check the instance address.",
                              **kwargs)
